"""Security headers (SPEC §7) on every kind of answer: pages, the sign-in form, API JSON, downloads and error
answers (404, 422, 401, 413, 403), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.web_sign_in import sign_in

PASSWORD = "correct horse battery"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def clients(engine: Engine, settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """A browser signed in with a password, and an API client with a bearer token (both managers)."""
    token = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "mia", Role.MANAGER, password=PASSWORD)
    app = create_app(settings)
    with (
        TestClient(app, follow_redirects=False, raise_server_exceptions=False) as browser,
        TestClient(app, headers={"Authorization": f"Bearer {token.token}"}, raise_server_exceptions=False) as api,
    ):
        assert sign_in(browser, "mia", PASSWORD).status_code == 303
        yield browser, api


def _check(answer: httpx2.Response, *, page: bool, cacheable: bool = False) -> list[str]:
    faults = []
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    if answer.headers.get("x-content-type-options") != "nosniff":
        faults.append(f"{where}: no X-Content-Type-Options: nosniff")
    if answer.headers.get("referrer-policy") != "same-origin":
        faults.append(f"{where}: no Referrer-Policy: same-origin")
    policy = answer.headers.get("content-security-policy", "")
    if page and "frame-ancestors 'none'" not in policy:
        faults.append(f"{where}: page without a CSP with frame-ancestors 'none'")
    if not cacheable and answer.headers.get("cache-control") != "no-store":
        faults.append(f"{where}: Cache-Control is {answer.headers.get('cache-control')!r}, not no-store")
    return faults


def test_every_kind_of_answer_carries_the_security_headers(clients: tuple[TestClient, TestClient]) -> None:
    browser, api = clients
    account = api.post("/api/accounts", json={"name": "Headers Ltd"}).json()
    deal = api.post(
        "/api/opportunities", json={"name": "Headers", "account_id": account["id"], "estimated_revenue": "1.00"}
    ).json()
    answers = {
        "list page": (browser.get("/"), True),
        "opportunity page": (browser.get(f"/opportunities/{deal['id']}"), True),
        "report page": (browser.get("/reports/win-loss"), True),
        "import/export page": (browser.get("/moving"), True),
        "sign-in form": (browser.get("/login"), True),
        "page 404": (browser.get(f"/opportunities/{UNKNOWN}"), True),
        "form 403 (no CSRF token)": (browser.post("/logout"), False),
        "download": (browser.get("/moving/export/accounts.csv"), False),
        "API JSON": (api.get(f"/api/opportunities/{deal['id']}"), False),
        "API 404": (api.get(f"/api/opportunities/{UNKNOWN}"), False),
        "API 422": (api.post("/api/accounts", json={"name": 5}), False),
        "API 401": (api.get("/api/opportunities", headers={"Authorization": "Bearer nope"}), False),
        "API 413": (api.post("/api/accounts", content=b"x" * 2_000_000), False),
        "unknown path 404": (api.get("/no/such/place"), False),
        "OpenAPI": (api.get("/openapi.json"), False),
    }
    expected_status = {"page 404": 404, "form 403 (no CSRF token)": 403, "API 404": 404, "API 422": 422}
    expected_status |= {"API 401": 401, "API 413": 413, "unknown path 404": 404}
    faults = []
    for name, (answer, page) in answers.items():
        assert answer.status_code == expected_status.get(name, 200), (name, answer.status_code)
        faults += [f"{name}: {fault}" for fault in _check(answer, page=page)]
    static = browser.get("/static/dealdesk.css")
    faults += _check(static, page=False, cacheable=True)
    assert static.headers.get("cache-control") != "no-store", "static assets may be cached"
    assert faults == []


def test_pages_may_not_be_framed_and_run_only_their_own_scripts(clients: tuple[TestClient, TestClient]) -> None:
    browser, _api = clients
    policy = browser.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
