"""Accounts, competitors and the close reason catalogue (SPEC §2, §7)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.builders import Desk, assert_invalid, assert_problem, is_timestamp_with_offset, is_uuid

RECORD_FIELDS = {"id", "name", "created_at", "updated_at"}
CLOSE_REASON_FIELDS = {"id", "outcome", "name", "active", "created_at", "updated_at"}
COMPETITOR_FIELDS = RECORD_FIELDS | {"active"}


def test_creating_an_account_answers_201_with_its_id_name_and_timestamps(api: TestClient) -> None:
    response = api.post("/api/accounts", json={"name": "Acme Engineering"})

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == RECORD_FIELDS
    assert is_uuid(body["id"])
    assert body["name"] == "Acme Engineering"
    assert is_timestamp_with_offset(body["created_at"]) and is_timestamp_with_offset(body["updated_at"])
    read = api.get(f"/api/accounts/{body['id']}")
    assert read.status_code == 200 and read.json() == body


def test_an_account_name_of_160_characters_is_accepted_and_161_is_refused(api: TestClient) -> None:
    assert api.post("/api/accounts", json={"name": "a" * 160}).status_code == 201
    assert_invalid(api.post("/api/accounts", json={"name": "a" * 161}), "name")


def test_accounts_are_listed_in_pages_that_together_hold_every_account_once(api: TestClient, desk: Desk) -> None:
    created = {desk.account(f"Account {n:02d}")["id"] for n in range(5)}

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/accounts", params=params).json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == created


def test_the_default_page_size_is_50(api: TestClient, desk: Desk) -> None:
    for n in range(51):
        desk.account(f"Account {n:02d}")

    first = api.get("/api/accounts").json()

    assert len(first["items"]) == 50
    assert first["next_cursor"] is not None
    rest = api.get("/api/accounts", params={"cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_creating_a_competitor_answers_201_and_it_is_listed(api: TestClient) -> None:
    response = api.post("/api/competitors", json={"name": "Initech"})

    assert response.status_code == 201
    competitor = response.json()
    assert set(competitor) == COMPETITOR_FIELDS
    assert is_uuid(competitor["id"]) and competitor["name"] == "Initech" and competitor["active"] is True
    listed = api.get("/api/competitors").json()
    assert listed == {"items": [competitor], "next_cursor": None}


def test_a_competitor_name_differing_only_in_case_is_a_duplicate(api: TestClient, desk: Desk) -> None:
    desk.competitor("Initech")

    response = api.post("/api/competitors", json={"name": "INITECH"})

    assert_problem(response, 409, "duplicate")
    assert len(api.get("/api/competitors").json()["items"]) == 1


def test_a_close_reason_is_active_by_default(api: TestClient) -> None:
    response = api.post("/api/close-reasons", json={"outcome": "lost", "name": "Price too high"})

    assert response.status_code == 201
    reason = response.json()
    assert set(reason) == CLOSE_REASON_FIELDS
    assert is_uuid(reason["id"])
    assert (reason["outcome"], reason["name"], reason["active"]) == ("lost", "Price too high", True)
    assert is_timestamp_with_offset(reason["created_at"])


def test_a_close_reason_can_be_renamed_and_retired(api: TestClient, desk: Desk) -> None:
    reason = desk.close_reason("lost", "Price")

    response = api.patch(f"/api/close-reasons/{reason['id']}", json={"name": "Price too high", "active": False})

    assert response.status_code == 200
    patched = response.json()
    assert set(patched) == CLOSE_REASON_FIELDS
    assert (patched["id"], patched["name"], patched["active"], patched["outcome"]) == (
        reason["id"],
        "Price too high",
        False,
        "lost",
    )
    listed = api.get("/api/close-reasons").json()["items"]
    assert listed == [patched]
