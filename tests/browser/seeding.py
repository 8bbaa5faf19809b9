"""Seeding through the running server's JSON API. Every name carries a fresh tag, so each test finds its own records
in a database the whole session shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import httpx2

Json = dict[str, Any]


def line(description: str = "Design workshop", quantity: str = "2", unit_price: str = "625.00") -> Json:
    return {"description": description, "quantity": quantity, "unit_price": unit_price}


def business_today() -> date:
    """The server runs with DEALDESK_TIMEZONE=UTC: its "today" is the UTC date."""
    return datetime.now(UTC).date()


class Desk:
    def __init__(self, client: httpx2.Client) -> None:
        self.client = client
        self.tag = uuid4().hex[:6]
        """Part of every name this desk creates: a search for it finds only this test's opportunities."""

    def _expect(self, response: httpx2.Response, status: int) -> Json:
        assert response.status_code == status, response.text
        body: Json = response.json() if response.content else {}
        return body

    def post(self, path: str, body: Json | None = None, status: int = 200) -> Json:
        return self._expect(self.client.post(path, json=body), status)

    def get(self, path: str) -> Json:
        return self._expect(self.client.get(path), 200)

    def named(self, name: str) -> str:
        return f"{name} {self.tag}"

    # ------------------------------------------------------------------------------------------ catalogue
    def account(self, name: str = "Acme Engineering") -> Json:
        return self.post("/api/accounts", {"name": self.named(name)}, 201)

    def competitor(self, name: str = "Rival Consulting") -> Json:
        return self.post("/api/competitors", {"name": self.named(name)}, 201)

    def close_reason(self, outcome: str = "lost", name: str = "Price too high") -> Json:
        return self.post("/api/close-reasons", {"outcome": outcome, "name": self.named(name), "active": True}, 201)

    # ------------------------------------------------------------------------------------------ deals and quotes
    def opportunity(
        self,
        name: str = "ERP rollout",
        *,
        account: Json | None = None,
        estimated_revenue: str = "50000.00",
        **more: Any,
    ) -> Json:
        account = account or self.account()
        body = {"name": self.named(name), "account_id": account["id"], "estimated_revenue": estimated_revenue, **more}
        return self.post("/api/opportunities", body, 201)

    def quote(self, opportunity: Json, name: str = "Phase 1", lines: list[Json] | None = None) -> Json:
        body = {"name": name, "lines": [line()] if lines is None else lines}
        return self.post(f"/api/opportunities/{opportunity['id']}/quotes", body, 201)

    def active_quote(self, opportunity: Json, name: str = "Phase 1", lines: list[Json] | None = None) -> Json:
        return self.post(f"/api/quotes/{self.quote(opportunity, name, lines)['id']}/activate")

    def close(self, opportunity: Json, outcome: str = "lost", **more: Any) -> Json:
        body: Json = {"outcome": outcome, "close_date": business_today().isoformat(), **more}
        if outcome == "lost":
            body.setdefault("status_reason", "out_sold")
        return self.post(f"/api/opportunities/{opportunity['id']}/close", body)

    def reread(self, opportunity: Json) -> Json:
        return self.get(f"/api/opportunities/{opportunity['id']}")

    def quotes_of(self, opportunity: Json) -> list[Json]:
        items: list[Json] = self.get(f"/api/opportunities/{opportunity['id']}/quotes")["items"]
        return items

    def closes_of(self, opportunity: Json) -> list[Json]:
        items: list[Json] = self.get(f"/api/opportunities/{opportunity['id']}/closes")["items"]
        return items
