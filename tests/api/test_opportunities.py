"""Creating, reading, listing and editing opportunities (SPEC §2, §3, §7)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.domain.states import Role
from tests.api.builders import (
    Desk,
    Json,
    assert_invalid,
    assert_problem,
    bearer_for_new_user,
    is_timestamp_with_offset,
    is_uuid,
)

OPPORTUNITY_FIELDS = {
    "id",
    "name",
    "account_id",
    "currency",
    "estimated_revenue",
    "estimated_close_date",
    "description",
    "owner_id",
    "state",
    "status_reason",
    "actual_revenue",
    "actual_close_date",
    "won_quote_id",
    "contract_id",
    "version",
    "created_at",
    "updated_at",
}


def walk(api: TestClient, path: str, limit: int, **params: str) -> list[Json]:
    """Every item of a list, page by page, following next_cursor to the end."""
    items: list[Json] = []
    cursor = None
    for _ in range(100):
        query: dict[str, str | int] = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the list never ended")


def test_a_new_opportunity_is_open_in_progress_with_every_field_of_the_contract(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    body = {
        "name": "ERP rollout",
        "account_id": account["id"],
        "estimated_revenue": "1250.00",
        "estimated_close_date": "2027-03-31",
        "description": "Phase 1 and 2",
    }

    response = api.post("/api/opportunities", json=body)

    assert response.status_code == 201
    created = response.json()
    assert set(created) == OPPORTUNITY_FIELDS
    assert is_uuid(created["id"]) and is_uuid(created["owner_id"])
    assert created["account_id"] == account["id"]
    assert (created["state"], created["status_reason"]) == ("open", "in_progress")
    assert created["currency"] == "USD"
    assert created["estimated_revenue"] == "1250.00"
    assert created["estimated_close_date"] == "2027-03-31"
    assert created["description"] == "Phase 1 and 2"
    assert created["actual_revenue"] is None and created["actual_close_date"] is None
    assert created["won_quote_id"] is None and created["contract_id"] is None
    assert isinstance(created["version"], int)
    assert is_timestamp_with_offset(created["created_at"]) and is_timestamp_with_offset(created["updated_at"])


def test_reading_an_opportunity_answers_it_with_an_etag_that_a_quote_change_changes(
    api: TestClient, desk: Desk
) -> None:
    created = desk.opportunity()
    quote = desk.quote(created)

    response = api.get(f"/api/opportunities/{created['id']}")
    desk.activate(quote)
    after = api.get(f"/api/opportunities/{created['id']}")

    assert response.status_code == 200
    assert response.json()["id"] == created["id"] and set(response.json()) == OPPORTUNITY_FIELDS
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert after.headers["etag"] != response.headers["etag"]


def test_walking_every_page_of_opportunities_yields_each_once_newest_first(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    ids = [desk.opportunity(f"Deal {n}", account=account)["id"] for n in range(7)]

    first_page = api.get("/api/opportunities").json()
    seen = [item["id"] for item in walk(api, "/api/opportunities", limit=3)]

    assert seen == list(reversed(ids))
    assert [item["id"] for item in first_page["items"]] == seen and first_page["next_cursor"] is None
    assert all(set(item) == OPPORTUNITY_FIELDS for item in first_page["items"])


def test_every_list_takes_a_page_size_from_1_to_200_and_refuses_others(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    lists = [
        "/api/opportunities",
        "/api/accounts",
        "/api/competitors",
        "/api/close-reasons",
        f"/api/opportunities/{opportunity['id']}/quotes",
        f"/api/opportunities/{opportunity['id']}/closes",
        f"/api/audit?record={opportunity['id']}",
    ]
    for path in lists:
        joiner = "&" if "?" in path else "?"
        for limit in ("1", "200"):
            assert api.get(f"{path}{joiner}limit={limit}").status_code == 200, path
        for limit in ("0", "201", "-1", "ten"):
            assert_invalid(api.get(f"{path}{joiner}limit={limit}"), "limit")


def test_a_cursor_the_list_never_gave_out_is_a_validation_error(api: TestClient) -> None:
    assert_invalid(api.get("/api/opportunities", params={"cursor": "not-a-cursor"}), "cursor")


def test_q_matches_part_of_the_name_in_any_case(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    erp = desk.opportunity("ERP Rollout", account=account)
    crm = desk.opportunity("crm erp bridge", account=account)
    desk.opportunity("Data warehouse", account=account)

    found = api.get("/api/opportunities", params={"q": "eRp"}).json()["items"]

    assert {item["id"] for item in found} == {erp["id"], crm["id"]}


def test_q_ignores_case_beyond_ascii_letters(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity("Équipe Zürich rollout")

    for q in ("équipe", "ZÜRICH"):
        found = api.get("/api/opportunities", params={"q": q}).json()["items"]
        assert [item["id"] for item in found] == [opportunity["id"]], q


def test_opportunities_can_be_filtered_by_state(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    open_one = desk.opportunity("Open", account=account)
    won = desk.opportunity("Won", account=account)
    lost = desk.opportunity("Lost", account=account)
    desk.close(won["id"], "won")
    desk.close(lost["id"], "lost")

    def ids(state: str) -> list[str]:
        return [item["id"] for item in api.get("/api/opportunities", params={"state": state}).json()["items"]]

    assert ids("open") == [open_one["id"]]
    assert ids("won") == [won["id"]]
    assert ids("lost") == [lost["id"]]


def test_opportunities_can_be_filtered_by_account_and_by_owner(
    api: TestClient, desk: Desk, engine: Engine, settings: Settings
) -> None:
    acme, globex = desk.account("Acme"), desk.account("Globex")
    ours = desk.opportunity("Acme deal", account=acme)
    body = {"name": "Globex deal", "account_id": globex["id"], "estimated_revenue": "10.00"}
    theirs = desk.expect(
        api.post("/api/opportunities", json=body, headers=bearer_for_new_user(engine, settings.zone, Role.SALES)), 201
    )

    def ids(**params: str) -> list[str]:
        return [item["id"] for item in api.get("/api/opportunities", params=params).json()["items"]]

    assert ids(account_id=acme["id"]) == [ours["id"]]
    assert ids(account_id=globex["id"]) == [theirs["id"]]
    assert ids(owner_id=ours["owner_id"]) == [ours["id"]]
    assert ids(owner_id=theirs["owner_id"]) == [theirs["id"]]
    assert ids(owner_id=str(uuid.uuid4())) == []


def test_filters_combine_with_paging(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    wanted = [desk.opportunity(f"Match {n}", account=account)["id"] for n in range(5)]
    for n in range(3):
        desk.opportunity(f"Other {n}", account=account)

    seen = [item["id"] for item in walk(api, "/api/opportunities", limit=2, q="match", state="open")]

    assert seen == list(reversed(wanted))


def test_patching_an_open_opportunity_changes_only_the_fields_sent(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity(description="Keep me")

    response = api.patch(
        f"/api/opportunities/{opportunity['id']}",
        json={"name": "ERP rollout (phase 2)", "estimated_revenue": 2000.5, "estimated_close_date": "2027-06-30"},
    )

    assert response.status_code == 200
    edited = response.json()
    assert set(edited) == OPPORTUNITY_FIELDS
    assert edited["name"] == "ERP rollout (phase 2)"
    assert edited["estimated_revenue"] == "2000.50"
    assert edited["estimated_close_date"] == "2027-06-30"
    assert edited["description"] == "Keep me"
    assert edited["version"] > opportunity["version"]
    assert desk.get_opportunity(opportunity["id"]) == edited


def test_an_open_opportunity_can_be_put_on_hold_and_resumed(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()

    on_hold = api.patch(f"/api/opportunities/{opportunity['id']}", json={"status_reason": "on_hold"})
    resumed = api.patch(f"/api/opportunities/{opportunity['id']}", json={"status_reason": "in_progress"})

    assert on_hold.status_code == resumed.status_code == 200
    assert (on_hold.json()["state"], on_hold.json()["status_reason"]) == ("open", "on_hold")
    assert (resumed.json()["state"], resumed.json()["status_reason"]) == ("open", "in_progress")


def test_a_closed_opportunity_cannot_be_patched(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity["id"], "lost")

    response = api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": "Renamed"})

    assert_problem(response, 409, "opportunity_not_open")
    assert desk.get_opportunity(opportunity["id"])["name"] == "ERP rollout"
