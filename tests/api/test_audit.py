"""The audit trail: every state change and edit leaves an entry, listed newest first (SPEC §2, §7)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.api.builders import Desk, Json, is_timestamp_with_offset, is_uuid

AUDIT_FIELDS = {"id", "at", "user_id", "record_type", "record_id", "action", "before", "after"}


def newest_first(entries: list[Json]) -> bool:
    times = [datetime.fromisoformat(entry["at"]) for entry in entries]
    return times == sorted(times, reverse=True)


def test_the_changes_of_an_opportunity_are_listed_newest_first(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.expect(api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": "Renamed"}), 200)
    desk.close(opportunity["id"], "lost")
    desk.reopen(opportunity["id"], reason="Budget back")

    response = api.get("/api/audit", params={"record": opportunity["id"]})

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    entries = page["items"]
    assert [entry["action"] for entry in entries] == ["reopen", "close", "edit", "create"]
    assert newest_first(entries)
    for entry in entries:
        assert set(entry) == AUDIT_FIELDS
        assert is_uuid(entry["id"]) and is_uuid(entry["user_id"])
        assert is_timestamp_with_offset(entry["at"])
        assert (entry["record_type"], entry["record_id"]) == ("opportunity", opportunity["id"])
        assert entry["before"] is None or isinstance(entry["before"], dict)
    assert entries[-1]["before"] is None and entries[-1]["after"]["name"] == "ERP rollout"
    assert entries[2]["before"]["name"] == "ERP rollout" and entries[2]["after"]["name"] == "Renamed"


def test_the_changes_of_a_quote_are_listed_newest_first(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())
    desk.expect(api.patch(f"/api/quotes/{quote['id']}", json={"name": "Phase 1b"}), 200)
    desk.activate(quote)
    desk.close_quote(quote, "lost")

    entries = desk.audit(quote["id"])

    assert [entry["action"] for entry in entries] == ["close", "activate", "edit", "create"]
    assert all(entry["record_type"] == "quote" and entry["record_id"] == quote["id"] for entry in entries)
    assert newest_first(entries)


def test_the_audit_list_pages_with_a_cursor(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    for n in range(3):
        api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": f"Name {n}"})
    everything = desk.audit(opportunity["id"])

    first = api.get("/api/audit", params={"record": opportunity["id"], "limit": 3}).json()
    rest = api.get(
        "/api/audit", params={"record": opportunity["id"], "limit": 3, "cursor": first["next_cursor"]}
    ).json()

    assert len(everything) == 4
    assert first["items"] + rest["items"] == everything
    assert rest["next_cursor"] is None
