"""Building records through the API itself, and reading the answers: the helpers every API test shares.

Builders assert the status they expect, so a broken set-up step fails loudly where it happens."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from dealdesk.db import tables
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth

Json = dict[str, Any]
MONEY = re.compile(r"^-?\d+\.\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUOTE_NUMBER = re.compile(r"^Q-\d+$")
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
UNKNOWN_ID = "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"


def line(description: str = "Design workshop", quantity: str = "2", unit_price: str = "625.00") -> Json:
    return {"description": description, "quantity": quantity, "unit_price": unit_price}


class Desk:
    """A salesperson at the API: creates the records a test needs and hands back their JSON."""

    def __init__(self, client: TestClient, today: date) -> None:
        self.client = client
        self.today = today

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    def expect(self, response: httpx2.Response, status: int) -> Json:
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    # ------------------------------------------------------------------------------------------ catalogue
    def account(self, name: str = "Acme Engineering") -> Json:
        return self.expect(self.client.post("/api/accounts", json={"name": name}), 201)

    def competitor(self, name: str = "Rival Consulting") -> Json:
        return self.expect(self.client.post("/api/competitors", json={"name": name}), 201)

    def close_reason(self, outcome: str = "lost", name: str = "Price too high", *, active: bool = True) -> Json:
        body = {"outcome": outcome, "name": name, "active": active}
        return self.expect(self.client.post("/api/close-reasons", json=body), 201)

    # ------------------------------------------------------------------------------------------ opportunities
    def opportunity(
        self, name: str = "ERP rollout", *, account: Json | None = None, estimated_revenue: str = "1250.00", **more: Any
    ) -> Json:
        account = account or self.account()
        body = {"name": name, "account_id": account["id"], "estimated_revenue": estimated_revenue, **more}
        return self.expect(self.client.post("/api/opportunities", json=body), 201)

    def get_opportunity(self, opportunity_id: str) -> Json:
        return self.expect(self.client.get(f"/api/opportunities/{opportunity_id}"), 200)

    def close(self, opportunity_id: str, outcome: str = "won", **more: Any) -> Json:
        body: Json = {"outcome": outcome, "close_date": self.today.isoformat(), **more}
        if outcome == "lost":
            body.setdefault("status_reason", "out_sold")
        return self.expect(self.client.post(f"/api/opportunities/{opportunity_id}/close", json=body), 200)

    def reopen(self, opportunity_id: str, **body: Any) -> Json:
        return self.expect(self.client.post(f"/api/opportunities/{opportunity_id}/reopen", json=body), 200)

    def closes(self, opportunity_id: str) -> list[Json]:
        page = self.expect(self.client.get(f"/api/opportunities/{opportunity_id}/closes"), 200)
        items: list[Json] = page["items"]
        return items

    # ------------------------------------------------------------------------------------------ quotes
    def quote(self, opportunity: Json, name: str = "Phase 1", lines: list[Json] | None = None, **more: Any) -> Json:
        body = {"name": name, "lines": [line()] if lines is None else lines, **more}
        return self.expect(self.client.post(f"/api/opportunities/{opportunity['id']}/quotes", json=body), 201)

    def active_quote(self, opportunity: Json, name: str = "Phase 1", lines: list[Json] | None = None) -> Json:
        return self.activate(self.quote(opportunity, name, lines))

    def activate(self, quote: Json) -> Json:
        return self.expect(self.client.post(f"/api/quotes/{quote['id']}/activate"), 200)

    def get_quote(self, quote_id: str) -> Json:
        return self.expect(self.client.get(f"/api/quotes/{quote_id}"), 200)

    def close_quote(self, quote: Json, status_reason: str = "canceled") -> Json:
        body = {"status_reason": status_reason}
        return self.expect(self.client.post(f"/api/quotes/{quote['id']}/close", json=body), 200)

    def win(self, quote: Json, **body: Any) -> Json:
        return self.expect(self.client.post(f"/api/quotes/{quote['id']}/win", json=body), 200)

    # ------------------------------------------------------------------------------------------ audit
    def audit(self, record_id: str) -> list[Json]:
        items: list[Json] = self.expect(self.client.get("/api/audit", params={"record": record_id}), 200)["items"]
        return items


# ---------------------------------------------------------------------------------------------- reading answers
def is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(UUID(value)) == value
    except ValueError:
        return False


def is_money(value: Any) -> bool:
    return isinstance(value, str) and MONEY.fullmatch(value) is not None


def is_date(value: Any) -> bool:
    if not isinstance(value, str) or DATE.fullmatch(value) is None:
        return False
    date.fromisoformat(value)
    return True


def is_timestamp_with_offset(value: Any) -> bool:
    return isinstance(value, str) and "T" in value and datetime.fromisoformat(value).utcoffset() is not None


def assert_problem(response: httpx2.Response, status: int, code: str) -> Json:
    """An RFC 9457 problem document with dealdesk's stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: Json = response.json()
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert all(isinstance(body[name], str) and body[name] for name in ("type", "title", "detail"))
    return body


def assert_invalid(response: httpx2.Response, *fields: str) -> Json:
    """422 validation_error naming each of `fields` in `errors`."""
    body = assert_problem(response, 422, "validation_error")
    assert isinstance(body["errors"], list) and body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert isinstance(error["message"], str) and error["message"]
    named = {error["field"] for error in body["errors"]}
    assert set(fields) <= named, body["errors"]
    return body


# ---------------------------------------------------------------------------------------------- other users
def bearer_for_new_user(engine: Engine, zone: ZoneInfo, role: Role) -> dict[str, str]:
    """Authorization headers of a new user with `role`, to send on single requests."""
    token = auth.add_user(SqlUnitOfWork(engine, SystemClock(zone)), f"{role.value}-user", role, password=None).token
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------- the database
Snapshot = dict[str, list[tuple[Any, ...]]]
BOOKKEEPING = {"rate_limits", "web_sessions"}
"""Tables any request may touch (counters, sign-in sessions): not records a refusal must leave alone."""


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every record table, so a test can tell that a refused request changed nothing."""
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in tables.metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


def count_rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
