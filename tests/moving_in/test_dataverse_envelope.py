"""Whatever a shared layer answers under /api/data/ as an RFC 9457 problem — 422, 429 and 503 included, which no
Dataverse route itself produces, and the 500 of an unexpected exception — is rewritten into Dataverse's envelope,
keeping its status (422 → 400) and its headers; other paths and successes pass through untouched."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dealdesk.services import closing
from dealdesk.web.api.dataverse import ProblemsAsDataverseErrors
from dealdesk.web.problems import problem
from tests.moving_in.test_dataverse import BASE


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


def test_an_unexpected_exception_under_api_data_is_a_500_in_dataverses_envelope_and_is_logged_with_the_request_id(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A stand-in: no input makes a use case fail unexpectedly (that is what makes it unexpected), so the close use
    case is replaced by one raising RuntimeError, as a bug or a lost database connection would, in the real app."""

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(closing, "close_opportunity", broken)
    account = api.post("/api/accounts", json={"name": "Contoso"}).json()
    opportunity = api.post(
        "/api/opportunities", json={"name": "Lab", "account_id": account["id"], "estimated_revenue": "10.00"}
    ).json()
    body = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"}, "Status": 3}

    with caplog.at_level(logging.ERROR, logger="dealdesk.error"):
        response = api.post(f"{BASE}/WinOpportunity", json=body, headers={"X-Request-ID": "fault-42"})
        elsewhere = api.post(
            f"/api/opportunities/{opportunity['id']}/close", json={"outcome": "won", "close_date": "2026-01-02"}
        )

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["X-Request-ID"] == "fault-42" and response.headers["OData-Version"] == "4.0"
    assert response.json() == {
        "error": {
            "code": "0x80040216",
            "message": "Something went wrong on our side; nothing was changed",
            "@dealdesk.code": "internal_error",
        }
    }
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "fault-42"]
    assert any(r.exc_info is not None and "a bug" in str(r.exc_info[1]) for r in logged), caplog.records
    assert elsewhere.status_code == 500 and elsewhere.headers["content-type"] == "application/problem+json"
