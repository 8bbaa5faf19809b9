"""A manager deactivates a competitor (SPEC §7 PATCH /api/competitors/{id} with `active`): it stays on past closes,
is no longer accepted on a close, and the change is audited, as with a retired close reason."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.domain.states import Role
from tests.api.builders import Desk, assert_invalid, assert_problem, bearer_for_new_user, snapshot


def _deactivate(api: TestClient, competitor_id: str) -> dict[str, object]:
    response = api.patch(f"/api/competitors/{competitor_id}", json={"active": False})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_manager_deactivates_a_competitor_and_the_list_says_so_and_filters_by_it(api: TestClient, desk: Desk) -> None:
    rival = desk.competitor("Rival")
    other = desk.competitor("Other")

    patched = _deactivate(api, rival["id"])

    assert patched["active"] is False and patched["name"] == "Rival"
    listed = api.get("/api/competitors").json()["items"]
    assert [(c["name"], c["active"]) for c in listed] == [("Other", True), ("Rival", False)]
    assert [c["id"] for c in api.get("/api/competitors", params={"active": "true"}).json()["items"]] == [other["id"]]
    assert [c["id"] for c in api.get("/api/competitors", params={"active": "false"}).json()["items"]] == [rival["id"]]
    assert_invalid(api.get("/api/competitors", params={"active": "maybe"}), "active")


def test_deactivating_and_activating_a_competitor_is_audited_with_before_and_after(api: TestClient, desk: Desk) -> None:
    rival = desk.competitor("Rival")

    _deactivate(api, rival["id"])
    again = api.patch(f"/api/competitors/{rival['id']}", json={"active": True})

    assert again.status_code == 200 and again.json()["active"] is True
    entries = desk.audit(rival["id"])
    assert [e["action"] for e in entries] == ["edit", "edit", "create"]
    assert (entries[1]["before"], entries[1]["after"]) == (
        {"name": "Rival", "active": True},
        {"name": "Rival", "active": False},
    )
    assert entries[0]["after"] == {"name": "Rival", "active": True}


def test_a_close_naming_a_deactivated_competitor_is_refused_on_competitor_id_and_writes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    rival = desk.competitor("Rival")
    _deactivate(api, rival["id"])
    before = snapshot(engine)

    body = {
        "outcome": "lost",
        "status_reason": "out_sold",
        "close_date": desk.today.isoformat(),
        "competitor_id": rival["id"],
    }
    refused = assert_invalid(api.post(f"/api/opportunities/{opportunity['id']}/close", json=body), "competitor_id")

    assert [e["field"] for e in refused["errors"]] == ["competitor_id"]
    assert snapshot(engine) == before
    api.patch(f"/api/competitors/{rival['id']}", json={"active": True})
    assert desk.close(opportunity["id"], "lost", competitor_id=rival["id"])["close"]["competitor_id"] == rival["id"]


def test_winning_a_quote_or_bulk_closing_with_a_deactivated_competitor_is_refused(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    other = desk.opportunity("Second")
    rival = desk.competitor("Rival")
    _deactivate(api, rival["id"])
    before = snapshot(engine)

    win = {"close_opportunity": True, "close_date": desk.today.isoformat(), "competitor_id": rival["id"]}
    assert_invalid(api.post(f"/api/quotes/{quote['id']}/win", json=win), "competitor_id")
    bulk = {
        "ids": [other["id"]],
        "outcome": "lost",
        "status_reason": "out_sold",
        "close_date": desk.today.isoformat(),
        "competitor_id": rival["id"],
    }
    assert_invalid(api.post("/api/opportunities/bulk-close", json=bulk), "competitor_id")
    assert snapshot(engine) == before


def test_a_deactivated_competitor_stays_on_old_closes_and_a_correction_cannot_choose_it(
    api: TestClient, desk: Desk
) -> None:
    rival = desk.competitor("Rival")
    first = desk.opportunity("First")
    kept = desk.close(first["id"], "lost", competitor_id=rival["id"])["close"]
    second = desk.opportunity("Second")
    other = desk.close(second["id"], "lost")["close"]

    _deactivate(api, rival["id"])

    assert desk.closes(first["id"])[0]["competitor_id"] == rival["id"] == kept["competitor_id"]
    assert_invalid(api.patch(f"/api/closes/{other['id']}", json={"competitor_id": rival["id"]}), "competitor_id")
    assert desk.closes(second["id"])[0]["competitor_id"] is None


def test_only_managers_and_admins_deactivate_competitors(
    api: TestClient, desk: Desk, engine: Engine, settings: Settings
) -> None:
    rival = desk.competitor("Rival")
    sales = bearer_for_new_user(engine, settings.zone, Role.SALES)

    response = api.patch(f"/api/competitors/{rival['id']}", json={"active": False}, headers=sales)

    assert_problem(response, 403, "forbidden")
    assert api.get("/api/competitors").json()["items"][0]["active"] is True
    manager = bearer_for_new_user(engine, settings.zone, Role.MANAGER)
    assert api.patch(f"/api/competitors/{rival['id']}", json={"active": False}, headers=manager).status_code == 200


def test_a_competitor_patch_refuses_a_non_boolean_active_and_unknown_fields(api: TestClient, desk: Desk) -> None:
    rival = desk.competitor("Rival")

    assert_invalid(api.patch(f"/api/competitors/{rival['id']}", json={"active": "no"}), "active")
    assert_invalid(api.patch(f"/api/competitors/{rival['id']}", json={"retired": True}), "retired")
