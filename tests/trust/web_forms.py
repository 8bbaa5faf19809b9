"""Signed-in browsers for the web form tests: a manager and a viewer, each with a session made through the sign-in
use case (not the sign-in page, which is not what these tests are about), and the records the form routes name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from dealdesk.web.session import CSRF_FIELD, SESSION_COOKIE

PASSWORD = "form fuzzing at last"
Json = dict[str, Any]


@dataclass
class Desk:
    """A manager's and a viewer's signed-in browsers, and the records the routes' paths name."""

    manager: TestClient
    viewer: TestClient
    csrf: dict[int, str]
    ids: dict[str, str]

    def post(self, client: TestClient, url: str, form: dict[str, str]) -> Any:
        return client.post(url, data={**form, CSRF_FIELD: self.csrf[id(client)]})


def _made(response: Any, status: int = 201) -> Json:
    assert response.status_code == status, response.text
    made: Json = response.json()
    return made


def _browser(app: Any, uow: SqlUnitOfWork, name: str, role: Role) -> tuple[TestClient, str]:
    auth.add_user(uow, name, role, password=PASSWORD)
    signed_in = auth.sign_in(uow, name, PASSWORD, client="form-fuzz")
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, signed_in.session_id)
    return client, signed_in.csrf_token


@contextmanager
def signed_in_desk(engine: Engine, settings: Settings) -> Iterator[Desk]:
    """An account, an open deal with an active quote, a closed deal, and a manager's and a viewer's browsers."""
    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    token = auth.add_user(uow, "admin", Role.ADMIN, password=None).token
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as api:
        account = _made(api.post("/api/accounts", json={"name": "Acme"}))
        deal = _made(
            api.post(
                "/api/opportunities", json={"name": "Deal", "account_id": account["id"], "estimated_revenue": "100.00"}
            )
        )
        lines = [{"description": "Work", "quantity": "1", "unit_price": "10.00"}]
        quote = _made(api.post(f"/api/opportunities/{deal['id']}/quotes", json={"name": "Q", "lines": lines}))
        _made(api.post(f"/api/quotes/{quote['id']}/activate"), 200)
        closed = _made(
            api.post(
                "/api/opportunities", json={"name": "Done", "account_id": account["id"], "estimated_revenue": "5.00"}
            )
        )
        close = _made(
            api.post(
                f"/api/opportunities/{closed['id']}/close",
                json={"outcome": "lost", "status_reason": "canceled", "close_date": "2026-01-02"},
            ),
            200,
        )["close"]
        manager, manager_csrf = _browser(app, uow, "maria", Role.MANAGER)
        viewer, viewer_csrf = _browser(app, uow, "victor", Role.VIEWER)
        with manager, viewer:
            yield Desk(
                manager=manager,
                viewer=viewer,
                csrf={id(manager): manager_csrf, id(viewer): viewer_csrf},
                ids={
                    "opportunity_id": deal["id"],
                    "quote_id": quote["id"],
                    "close_id": close["id"],
                    "account_id": account["id"],
                },
            )
