"""Who may call what (SPEC §8), as one table: every endpoint of the JSON API, called as each role — viewer, a
salesperson who owns the opportunity, a salesperson who does not, manager, admin — and as nobody (no token, a token
nobody issued, a revoked token, an expired token). A role that may is answered with the endpoint's success status;
one that may not with 403 `forbidden`; nobody with 401 `unauthenticated`.

Every call that may succeed gets fresh records of its own, in the state the action needs, so that a 403 or a 2xx is
about who is calling and nothing else. The table is checked against the app's own routes and OpenAPI document: an
endpoint added to the app but not to this table fails the suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from dealdesk.db import tables as t
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.trust.conftest import Database, Figures, migrated_database

Json = dict[str, Any]
LINES = [{"description": "Workshop", "quantity": "2", "unit_price": "500.00"}]
ROLES = ("viewer", "sales-owner", "sales-not-owner", "manager", "admin")
NOBODY = ("no token", "unknown token", "revoked token", "expired token")
MAY: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "create": frozenset({"sales-owner", "sales-not-owner", "manager", "admin"}),
    "owner": frozenset({"sales-owner", "manager", "admin"}),
    "manager": frozenset({"manager", "admin"}),
}
"""SPEC §8: everyone reads; sales create (as owner) and act on their own deals; managers and admins act on anyone's,
bulk close, correct close records and keep the competitor and close reason catalogues."""


class Desk:
    """Makes the records a call needs, owned by the sales-owner, through the API."""

    def __init__(self, owner: TestClient, admin: TestClient) -> None:
        self.owner = owner
        self.admin = admin
        self.today = datetime.now(UTC).date().isoformat()
        self.account = self._made(admin.post("/api/accounts", json={"name": "Access Ltd"}), 201)["id"]
        won = self.opportunity()
        quote = self.active_quote(won)
        self.contract = self._made(owner.post(f"/api/quotes/{quote}/win", json={}), 200)["contract"]["id"]

    @staticmethod
    def _made(response: Any, status: int) -> Json:
        assert response.status_code == status, response.text
        answer: Json = response.json()
        return answer

    def opportunity(self) -> str:
        body = {"name": "Access deal", "account_id": self.account, "estimated_revenue": "1000.00"}
        return str(self._made(self.owner.post("/api/opportunities", json=body), 201)["id"])

    def draft_quote(self, opportunity: str | None = None) -> str:
        opportunity = opportunity or self.opportunity()
        body = {"name": "Offer", "lines": LINES}
        return str(self._made(self.owner.post(f"/api/opportunities/{opportunity}/quotes", json=body), 201)["id"])

    def active_quote(self, opportunity: str | None = None) -> str:
        quote = self.draft_quote(opportunity)
        self._made(self.owner.post(f"/api/quotes/{quote}/activate"), 200)
        return quote

    def closed_opportunity(self) -> tuple[str, str]:
        """A lost opportunity and its standing close record."""
        opportunity = self.opportunity()
        body = {"outcome": "lost", "status_reason": "canceled", "close_date": self.today}
        closed = self._made(self.owner.post(f"/api/opportunities/{opportunity}/close", json=body), 200)
        return opportunity, str(closed["close"]["id"])

    def competitor(self) -> str:
        return str(self._made(self.admin.post("/api/competitors", json={"name": _unique("Rival")}), 201)["id"])

    def close_reason(self) -> str:
        body = {"outcome": "lost", "name": f"Reason {datetime.now(UTC).timestamp()}"}
        return str(self._made(self.admin.post("/api/close-reasons", json=body), 201)["id"])

    def close_body(self) -> Json:
        return {"outcome": "lost", "status_reason": "canceled", "close_date": self.today}


Call = tuple[str, Json | None, Json | None]
"""concrete path, JSON body, query parameters"""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    may: str
    success: int
    call: Callable[[Desk], Call]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _unique(prefix: str) -> str:
    return f"{prefix} {datetime.now(UTC).timestamp()}"


def _dataverse_close(desk: Desk, status: int) -> Call:
    bind = f"/opportunities({desk.opportunity()})"
    return "", {"OpportunityClose": {"opportunityid@odata.bind": bind, "actualend": desk.today}, "Status": status}, None


def _dataverse_quote(quote: str, status: int) -> Json:
    return {"QuoteClose": {"quoteid@odata.bind": f"/quotes({quote})"}, "Status": status}


NO_CLOSE_POLICY: Json = {
    "require_close_reason": {"won": False, "lost": False},
    "require_competitor_when_out_sold": False,
    "require_description_when_lost": False,
}


ENDPOINTS: list[Endpoint] = [
    # catalogue
    Endpoint("POST", "/api/accounts", "create", 201, lambda d: ("", {"name": "Initech"}, None)),
    Endpoint("GET", "/api/accounts", "read", 200, lambda d: ("", None, None)),
    Endpoint("GET", "/api/accounts/{account_id}", "read", 200, lambda d: (d.account, None, None)),
    Endpoint("PATCH", "/api/accounts/{account_id}", "create", 200, lambda d: (d.account, {"name": "Access Ltd"}, None)),
    Endpoint("POST", "/api/competitors", "manager", 201, lambda d: ("", {"name": _unique("Rival")}, None)),
    Endpoint(
        "PATCH",
        "/api/competitors/{competitor_id}",
        "manager",
        200,
        lambda d: (d.competitor(), {"name": _unique("Renamed")}, None),
    ),
    Endpoint("GET", "/api/competitors", "read", 200, lambda d: ("", None, None)),
    Endpoint("GET", "/api/users", "read", 200, lambda d: ("", None, None)),
    Endpoint(
        "POST", "/api/close-reasons", "manager", 201, lambda d: ("", {"outcome": "won", "name": "Best fit"}, None)
    ),
    Endpoint("GET", "/api/close-reasons", "read", 200, lambda d: ("", None, None)),
    Endpoint(
        "PATCH", "/api/close-reasons/{reason_id}", "manager", 200, lambda d: (d.close_reason(), {"active": False}, None)
    ),
    # settings
    Endpoint("GET", "/api/settings/close-policy", "read", 200, lambda d: ("", None, None)),
    Endpoint("PUT", "/api/settings/close-policy", "manager", 200, lambda d: ("", NO_CLOSE_POLICY, None)),
    # opportunities
    Endpoint(
        "POST",
        "/api/opportunities",
        "create",
        201,
        lambda d: ("", {"name": "New deal", "account_id": d.account, "estimated_revenue": "10.00"}, None),
    ),
    Endpoint("GET", "/api/opportunities", "read", 200, lambda d: ("", None, None)),
    Endpoint("GET", "/api/opportunities/{opportunity_id}", "read", 200, lambda d: (d.opportunity(), None, None)),
    Endpoint(
        "PATCH", "/api/opportunities/{opportunity_id}", "owner", 200, lambda d: (d.opportunity(), {"name": "R"}, None)
    ),
    Endpoint(
        "POST",
        "/api/opportunities/{opportunity_id}/quotes",
        "owner",
        201,
        lambda d: (d.opportunity(), {"name": "Offer", "lines": LINES}, None),
    ),
    Endpoint("GET", "/api/opportunities/{opportunity_id}/quotes", "read", 200, lambda d: (d.opportunity(), None, None)),
    # quotes
    Endpoint("GET", "/api/quotes/{quote_id}", "read", 200, lambda d: (d.draft_quote(), None, None)),
    Endpoint("PATCH", "/api/quotes/{quote_id}", "owner", 200, lambda d: (d.draft_quote(), {"name": "Renamed"}, None)),
    Endpoint("DELETE", "/api/quotes/{quote_id}", "owner", 204, lambda d: (d.draft_quote(), None, None)),
    Endpoint("POST", "/api/quotes/{quote_id}/activate", "owner", 200, lambda d: (d.draft_quote(), None, None)),
    Endpoint(
        "POST",
        "/api/quotes/{quote_id}/close",
        "owner",
        200,
        lambda d: (d.active_quote(), {"status_reason": "lost"}, None),
    ),
    Endpoint("POST", "/api/quotes/{quote_id}/revise", "owner", 201, lambda d: (d.active_quote(), None, None)),
    Endpoint("POST", "/api/quotes/{quote_id}/copy", "owner", 201, lambda d: (d.draft_quote(), None, None)),
    Endpoint("POST", "/api/quotes/{quote_id}/win", "owner", 200, lambda d: (d.active_quote(), {}, None)),
    # closing
    Endpoint(
        "GET",
        "/api/opportunities/{opportunity_id}/close-preview",
        "read",
        200,
        lambda d: (d.opportunity(), None, None),
    ),
    Endpoint(
        "POST",
        "/api/opportunities/{opportunity_id}/close-quotes",
        "owner",
        200,
        lambda d: (d.opportunity(), {"status_reason": "canceled"}, None),
    ),
    Endpoint(
        "POST",
        "/api/opportunities/{opportunity_id}/close",
        "owner",
        200,
        lambda d: (d.opportunity(), d.close_body(), None),
    ),
    Endpoint(
        "POST",
        "/api/opportunities/{opportunity_id}/reopen",
        "owner",
        200,
        lambda d: (d.closed_opportunity()[0], {}, None),
    ),
    Endpoint("GET", "/api/opportunities/{opportunity_id}/closes", "read", 200, lambda d: (d.opportunity(), None, None)),
    Endpoint(
        "PATCH",
        "/api/closes/{close_id}",
        "manager",
        200,
        lambda d: (d.closed_opportunity()[1], {"description": "Corrected"}, None),
    ),
    Endpoint(
        "POST",
        "/api/opportunities/bulk-close",
        "manager",
        200,
        lambda d: ("", {"ids": [d.opportunity(), d.opportunity()], **d.close_body()}, None),
    ),
    # records and reports
    Endpoint("GET", "/api/contracts/{contract_id}", "read", 200, lambda d: (d.contract, None, None)),
    Endpoint("GET", "/api/audit", "read", 200, lambda d: ("", None, {"record": d.opportunity()})),
    Endpoint("GET", "/api/reports/win-loss", "read", 200, lambda d: ("", None, None)),
    # the Dataverse-compatible slice (web/api/dataverse.py): same use cases, same rules
    Endpoint("POST", "/api/data/v9.2/WinOpportunity", "owner", 204, lambda d: _dataverse_close(d, 3)),
    Endpoint("POST", "/api/data/v9.2/LoseOpportunity", "owner", 204, lambda d: _dataverse_close(d, 4)),
    Endpoint(
        "POST", "/api/data/v9.2/CloseQuote", "owner", 204, lambda d: ("", _dataverse_quote(d.active_quote(), 5), None)
    ),
    Endpoint(
        "POST", "/api/data/v9.2/WinQuote", "owner", 204, lambda d: ("", _dataverse_quote(d.active_quote(), 4), None)
    ),
    Endpoint(
        "GET",
        "/api/data/v9.2/opportunities({opportunity_id})",
        "read",
        200,
        lambda d: (d.opportunity(), None, None),
    ),
    Endpoint(
        "PATCH",
        "/api/data/v9.2/opportunities({opportunity_id})",
        "owner",
        204,
        lambda d: (d.opportunity(), {"description": "edited through Dataverse"}, None),
    ),
    Endpoint("GET", "/api/data/v9.2/opportunities", "read", 200, lambda d: ("", None, {"$top": "1"})),
    Endpoint("GET", "/api/data/v9.2/EntityDefinitions", "read", 200, lambda d: ("", None, None)),
]
DATAVERSE_SERVICE = "/api/data/v9.2"
"""The Dataverse-compatible service is one route that resolves its own resources (web/api/dataverse/service.py):
the table checks its operations by their concrete paths instead of by route."""


def _concrete(endpoint: Endpoint, filled: str) -> str:
    """The path with its one path parameter filled in (or as it is, if it has none)."""
    if "{" not in endpoint.path:
        return endpoint.path
    head, _, rest = endpoint.path.partition("{")
    return head + filled + rest.partition("}")[2]


# ---------------------------------------------------------------------------------------------- the app
@dataclass
class Office:
    """An app with one user of every role, plus tokens that must not work."""

    app: FastAPI
    database: Database
    headers: dict[str, dict[str, str]]
    desk: Desk
    checked: int = 0


def _expire_tokens_of(database: Database, name: str) -> None:
    users, tokens = t.users.c, t.api_tokens.c
    with database.engine.begin() as conn:
        user_id = conn.execute(t.users.select().where(users.name == name)).one().id
        past = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(update(t.api_tokens).where(tokens.user_id == user_id).values(expires_at=past))


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'dealdesk.db'}"
    with migrated_database(url) as database:
        tokens = {
            "viewer": database.token("vera", Role.VIEWER),
            "sales-owner": database.token("sam", Role.SALES),
            "sales-not-owner": database.token("sasha", Role.SALES),
            "manager": database.token("maria", Role.MANAGER),
            "admin": database.token("ada", Role.ADMIN),
            "revoked token": database.token("rex", Role.ADMIN),
            "expired token": database.token("eve", Role.ADMIN),
            "unknown token": "ddk_" + "x" * 43,
        }
        auth.revoke(database.uow(), "rex")
        _expire_tokens_of(database, "eve")
        headers = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
        headers["no token"] = {}
        app = create_app(database.settings)
        with (
            TestClient(app, headers=headers["sales-owner"]) as owner,
            TestClient(app, headers=headers["admin"]) as admin,
        ):
            yield Office(app=app, database=database, headers=headers, desk=Desk(owner, admin))


def _refusal_code(response: Any) -> str | None:
    """dealdesk's code of a refusal: a problem document's `code`, or Dataverse's envelope's `@dealdesk.code`."""
    body = response.json()
    if response.headers["content-type"].startswith("application/problem+json"):
        return str(body.get("code"))
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("@dealdesk.code")) if isinstance(error, dict) else None


def _call(client: TestClient, endpoint: Endpoint, desk: Desk, who: str) -> tuple[int, str | None]:
    filled, body, params = endpoint.call(desk)
    response = client.request(endpoint.method, _concrete(endpoint, filled), json=body, params=params)
    code = _refusal_code(response) if response.status_code >= 400 else None
    return response.status_code, code


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_role_may_call_exactly_what_spec_8_allows(endpoint: Endpoint, office: Office) -> None:
    expected, got = {}, {}
    with TestClient(office.app) as client:
        for who in ROLES:
            client.headers.clear()
            client.headers.update(office.headers[who])
            status, code = _call(client, endpoint, office.desk, who)
            allowed = who in MAY[endpoint.may]
            expected[who] = (endpoint.success, None) if allowed else (403, "forbidden")
            got[who] = (status, code)
            office.checked += 1
    assert got == expected


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_nobody_without_a_working_token_gets_past_401_on_any_endpoint(endpoint: Endpoint, office: Office) -> None:
    filled, body, params = endpoint.call(office.desk) if endpoint.may == "read" else ("", None, None)
    filled = filled or "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"
    got = {}
    with TestClient(office.app) as client:
        for who in NOBODY:
            response = client.request(
                endpoint.method, _concrete(endpoint, filled), json=body, params=params, headers=office.headers[who]
            )
            got[who] = (response.status_code, _refusal_code(response), response.headers.get("www-authenticate"))
            office.checked += 1
    assert got == dict.fromkeys(NOBODY, (401, "unauthenticated", 'Bearer realm="dealdesk"'))


# ---------------------------------------------------------------------------------------------- coverage
def _route_keys(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every route, looking inside included routers however this FastAPI keeps them."""
    keys: set[tuple[str, str]] = set()
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            keys |= _route_keys(list(contexts()))
        path = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if isinstance(path, str) and path.startswith("/api/") and method != "HEAD":
                keys.add((method, path))
    return keys


def test_the_table_names_every_endpoint_of_the_api_and_nothing_else(office: Office, figures: Figures) -> None:
    table = {endpoint.key for endpoint in ENDPOINTS}
    documented = {
        (method.upper(), path)
        for path, operations in office.app.openapi()["paths"].items()
        for method in operations
        if path.startswith("/api/")
    }
    routed = {key for key in _route_keys(list(office.app.routes)) if not key[1].startswith(DATAVERSE_SERVICE)}
    dataverse = {key for key in table if key[1].startswith(DATAVERSE_SERVICE)}
    figures.record(
        "access (SPEC §8)",
        f"{len(ENDPOINTS)} endpoints x {len(ROLES)} roles + {len(NOBODY)} ways of being nobody = "
        f"{len(ENDPOINTS) * (len(ROLES) + len(NOBODY))} checks ({office.checked} made in this run)",
    )
    assert len(table) == len(ENDPOINTS), "an endpoint is in the table twice"
    assert routed, "could not read the app's routes"
    assert documented - table == set(), "endpoints in /openapi.json that the access table does not check"
    assert routed - table == set(), "routes under /api that the access table does not check"
    assert table - documented - routed - dataverse == set(), "the table names endpoints the app does not have"
