"""Who may call the API (SPEC §8) and where sign-in and permission checks fall in the order of checks (§7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.domain.states import Role
from tests.api.builders import UNKNOWN_ID, Desk, Json, assert_problem, bearer_for_new_user, snapshot

Headers = dict[str, str]
ONE_MIB = 1024 * 1024


@pytest.fixture
def signed_in_as(engine: Engine, settings: Settings) -> Callable[[Role], Headers]:
    """Authorization headers of a new user with the given role."""

    def headers(role: Role) -> Headers:
        return bearer_for_new_user(engine, settings.zone, role)

    return headers


def test_a_request_without_a_valid_bearer_token_is_unauthenticated(api: TestClient) -> None:
    signed_in = api.headers.pop("Authorization")

    assert_problem(api.get("/api/opportunities"), 401, "unauthenticated")
    assert_problem(
        api.get("/api/opportunities", headers={"Authorization": "Bearer not-a-token"}), 401, "unauthenticated"
    )
    assert api.get("/api/opportunities", headers={"Authorization": signed_in}).status_code == 200


def test_sign_in_is_checked_before_body_size_and_unknown_ids(api: TestClient) -> None:
    api.headers.pop("Authorization")
    body = b'{"description": "' + b"x" * ONE_MIB + b'"}'

    response = api.post(
        f"/api/opportunities/{UNKNOWN_ID}/close", content=body, headers={"content-type": "application/json"}
    )

    assert_problem(response, 401, "unauthenticated")


def test_a_viewer_reads_everything_but_changes_nothing(
    api: TestClient, desk: Desk, engine: Engine, signed_in_as: Callable[[Role], Headers]
) -> None:
    opportunity = desk.opportunity()
    viewer = signed_in_as(Role.VIEWER)
    before = snapshot(engine)

    assert api.get(f"/api/opportunities/{opportunity['id']}", headers=viewer).status_code == 200
    assert api.get("/api/audit", params={"record": opportunity["id"]}, headers=viewer).status_code == 200
    assert_problem(api.post("/api/accounts", json={"name": "Initech"}, headers=viewer), 403, "forbidden")
    close = {"outcome": "won", "close_date": desk.today.isoformat()}
    assert_problem(
        api.post(f"/api/opportunities/{opportunity['id']}/close", json=close, headers=viewer), 403, "forbidden"
    )
    assert snapshot(engine) == before


def test_a_salesperson_acts_only_on_their_own_opportunities(
    api: TestClient, desk: Desk, engine: Engine, signed_in_as: Callable[[Role], Headers]
) -> None:
    someone_elses = desk.opportunity()
    sales = signed_in_as(Role.SALES)
    account = desk.account("Globex")
    own = desk.expect(
        api.post(
            "/api/opportunities",
            json={"name": "My deal", "account_id": account["id"], "estimated_revenue": "10.00"},
            headers=sales,
        ),
        201,
    )
    close = {"outcome": "won", "close_date": desk.today.isoformat()}

    refused = api.post(f"/api/opportunities/{someone_elses['id']}/close", json=close, headers=sales)
    allowed = api.post(f"/api/opportunities/{own['id']}/close", json=close, headers=sales)

    assert_problem(refused, 403, "forbidden")
    assert allowed.status_code == 200
    assert desk.get_opportunity(someone_elses["id"])["state"] == "open"


def test_bulk_close_and_the_catalogues_are_for_managers(
    api: TestClient, desk: Desk, engine: Engine, signed_in_as: Callable[[Role], Headers]
) -> None:
    opportunity = desk.opportunity()
    sales = signed_in_as(Role.SALES)
    manager = signed_in_as(Role.MANAGER)
    bulk = {"ids": [opportunity["id"]], "outcome": "won", "close_date": desk.today.isoformat()}

    assert_problem(api.post("/api/opportunities/bulk-close", json=bulk, headers=sales), 403, "forbidden")
    assert_problem(api.post("/api/competitors", json={"name": "Initech"}, headers=sales), 403, "forbidden")
    assert api.post("/api/competitors", json={"name": "Initech"}, headers=manager).status_code == 201
    assert api.post("/api/opportunities/bulk-close", json=bulk, headers=manager).json()["closed"] == 1


def test_an_unknown_id_is_not_found_before_permission_is_checked(
    api: TestClient, desk: Desk, signed_in_as: Callable[[Role], Headers]
) -> None:
    viewer = signed_in_as(Role.VIEWER)
    close = {"outcome": "won", "close_date": desk.today.isoformat()}

    assert_problem(api.post(f"/api/opportunities/{UNKNOWN_ID}/close", json=close, headers=viewer), 404, "not_found")


FORBIDDEN_WITH_BAD_INPUT: list[tuple[str, Role, str, Json]] = [
    ("viewer creates an account named by a number", Role.VIEWER, "/api/accounts", {"name": 5}),
    ("viewer closes with an unknown outcome", Role.VIEWER, "/api/opportunities/{id}/close", {"outcome": "maybe"}),
    (
        "salesperson closes someone else's deal with an unknown outcome",
        Role.SALES,
        "/api/opportunities/{id}/close",
        {"outcome": "maybe"},
    ),
    ("viewer edits a deal with an unknown field", Role.VIEWER, "/api/opportunities/{id}", {"colour": "red"}),
    (
        "salesperson bulk-closes no ids",
        Role.SALES,
        "/api/opportunities/bulk-close",
        {"ids": [], "outcome": "won", "close_date": "2020-01-01"},
    ),
]


@pytest.mark.parametrize(
    ("case", "role", "path", "body"), FORBIDDEN_WITH_BAD_INPUT, ids=[case for case, *_ in FORBIDDEN_WITH_BAD_INPUT]
)
def test_forbidden_is_reported_before_an_input_fault(
    api: TestClient,
    desk: Desk,
    engine: Engine,
    signed_in_as: Callable[[Role], Headers],
    case: str,
    role: Role,
    path: str,
    body: Json,
) -> None:
    opportunity = desk.opportunity()
    headers = signed_in_as(role)
    before = snapshot(engine)

    method = "PATCH" if path == "/api/opportunities/{id}" else "POST"
    response = api.request(method, path.format(id=opportunity["id"]), json=body, headers=headers)

    assert_problem(response, 403, "forbidden")
    assert snapshot(engine) == before


UNREADABLE_BODIES: list[tuple[str, bytes]] = [
    ("malformed JSON", b'{"outcome": '),
    ("bytes that are not UTF-8", b'{"outcome": "\xff"}'),
]


@pytest.mark.parametrize(("case", "body"), UNREADABLE_BODIES, ids=[case for case, _ in UNREADABLE_BODIES])
def test_a_body_that_cannot_even_be_read_is_reported_after_not_found_and_forbidden(
    api: TestClient, desk: Desk, engine: Engine, signed_in_as: Callable[[Role], Headers], case: str, body: bytes
) -> None:
    opportunity = desk.opportunity()
    headers = {**signed_in_as(Role.VIEWER), "content-type": "application/json"}
    before = snapshot(engine)

    unknown = api.post(f"/api/opportunities/{UNKNOWN_ID}/close", content=body, headers=headers)
    refused = api.post(f"/api/opportunities/{opportunity['id']}/close", content=body, headers=headers)
    own_input_fault = api.post(
        f"/api/opportunities/{opportunity['id']}/close", content=body, headers={"content-type": "application/json"}
    )

    assert_problem(unknown, 404, "not_found")
    assert_problem(refused, 403, "forbidden")
    assert_problem(own_input_fault, 422, "validation_error")
    assert snapshot(engine) == before
