"""Whatever a shared layer answers under /api/data/ as an RFC 9457 problem — 422, 429 and 503 included, which no
Dataverse route itself produces — is rewritten into Dataverse's envelope, keeping its status (422 → 400) and its
headers; other paths and successes pass through untouched."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dealdesk.web.api.dataverse import ProblemsAsDataverseErrors
from dealdesk.web.problems import problem


def _app() -> ProblemsAsDataverseErrors:
    """A stand-in for the shared layers (rate limit, busy SQLite writer, input faults), which this branch's app has
    not all got: the middleware is what is under test, not what produces the problem."""

    async def refused(request: Request) -> Response:
        status = int(request.path_params["status"])
        code = {422: "validation_error", 429: "rate_limited", 503: "busy"}[status]
        answer = problem(status, code, "Refused", f"refused with {status}")
        answer.headers["Retry-After"] = "7"
        return answer

    async def fine(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes = [Route("/api/data/v9.2/refused/{status}", refused), Route("/api/other/{status}", refused)]
    routes.append(Route("/api/data/v9.2/fine", fine))
    return ProblemsAsDataverseErrors(Starlette(routes=routes), prefix="/api/data/")


@pytest.mark.parametrize(
    ("status", "answered", "code"), [(422, 400, "0x80040203"), (429, 429, "0x80072322"), (503, 503, "0x80040216")]
)
def test_a_shared_layers_problem_becomes_dataverses_envelope_with_its_headers(
    status: int, answered: int, code: str
) -> None:
    client = TestClient(_app())

    response = client.get(f"/api/data/v9.2/refused/{status}")

    assert response.status_code == answered
    assert response.headers["Retry-After"] == "7" and response.headers["OData-Version"] == "4.0"
    assert response.json() == {
        "error": {
            "code": code,
            "message": f"refused with {status}",
            "@dealdesk.code": response.json()["error"]["@dealdesk.code"],
        }
    }


def test_other_paths_and_successes_pass_through() -> None:
    client = TestClient(_app())

    assert client.get("/api/other/429").headers["content-type"] == "application/problem+json"
    assert client.get("/api/data/v9.2/fine").json() == {"ok": True}
