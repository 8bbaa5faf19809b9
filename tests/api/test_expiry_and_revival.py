"""Quote expiry and reopen-and-revive through the API (SPEC §11), on both engines."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from dealdesk.db import tables as t
from tests.api.builders import Desk, Json, assert_invalid, assert_problem, snapshot


def _valid_until(engine: Engine, quote: Json, day: date) -> None:
    """Time passing: a quote that was valid when it was sent is past its validity today."""
    with engine.begin() as conn:
        conn.execute(update(t.quotes).where(t.quotes.c.id == UUID(quote["id"])).values(valid_until=day))


def _expired_active(desk: Desk, engine: Engine, opportunity: Json, name: str = "Phase 1") -> Json:
    quote = desk.active_quote(opportunity, name)
    _valid_until(engine, quote, desk.yesterday)
    return quote


# ---------------------------------------------------------------------------------------------- expiry
def test_a_quote_valid_until_yesterday_is_expired_and_until_today_is_not(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    expired = desk.quote(opportunity, "Old", valid_until=desk.yesterday.isoformat())
    current = desk.quote(opportunity, "Current", valid_until=desk.today.isoformat())
    open_ended = desk.quote(opportunity, "Open-ended")

    assert (expired["expired"], current["expired"], open_ended["expired"]) == (True, False, False)
    assert desk.get_quote(expired["id"])["expired"] is True
    assert desk.get_quote(current["id"])["expired"] is False


def test_a_won_quote_past_its_validity_stays_won_and_is_not_expired(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    desk.win(quote)
    _valid_until(engine, quote, desk.yesterday)

    shown = desk.get_quote(quote["id"])

    assert (shown["state"], shown["status_reason"], shown["expired"]) == ("won", "won", False)


def test_the_quote_list_filters_on_expired(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    expired = desk.quote(opportunity, "Old", valid_until=desk.yesterday.isoformat())
    current = desk.quote(opportunity, "Current", valid_until=desk.today.isoformat())
    open_ended = desk.quote(opportunity, "Open-ended")
    lost = desk.close_quote(desk.quote(opportunity, "Lost", valid_until=desk.yesterday.isoformat()), "lost")
    path = f"/api/opportunities/{opportunity['id']}/quotes"

    def ids(params: dict[str, str]) -> set[str]:
        return {q["id"] for q in desk.expect(api.get(path, params=params), 200)["items"]}

    assert ids({"expired": "true"}) == {expired["id"]}
    assert ids({"expired": "false"}) == {current["id"], open_ended["id"], lost["id"]}
    assert ids({}) == {expired["id"], current["id"], open_ended["id"], lost["id"]}
    assert_invalid(api.get(path, params={"expired": "maybe"}), "expired")


def test_activating_an_expired_draft_is_quote_expired_and_changes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    quote = desk.quote(desk.opportunity(), valid_until=desk.yesterday.isoformat())
    before = snapshot(engine)

    body = assert_problem(api.post(f"/api/quotes/{quote['id']}/activate"), 409, "quote_expired")

    assert "valid_until" in body["detail"]
    assert snapshot(engine) == before
    moved = desk.expect(api.patch(f"/api/quotes/{quote['id']}", json={"valid_until": desk.today.isoformat()}), 200)
    assert desk.activate(moved)["state"] == "active"


def test_activating_checks_lines_before_expiry(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity(), lines=[], valid_until=desk.yesterday.isoformat())

    assert_problem(api.post(f"/api/quotes/{quote['id']}/activate"), 409, "quote_has_no_lines")


def test_winning_an_expired_quote_needs_accept_expired(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = _expired_active(desk, engine, opportunity)
    before = snapshot(engine)

    assert_problem(api.post(f"/api/quotes/{quote['id']}/win", json={}), 409, "quote_expired")
    assert_problem(api.post(f"/api/quotes/{quote['id']}/win", json={"accept_expired": False}), 409, "quote_expired")
    assert snapshot(engine) == before

    won = desk.win(quote, accept_expired=True, close_opportunity=True)
    assert (won["quote"]["state"], won["quote"]["expired"]) == ("won", False)
    assert won["opportunity"]["state"] == "won"


def test_winning_checks_won_quote_exists_before_expiry(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    expired = _expired_active(desk, engine, opportunity, "Old")
    desk.win(desk.active_quote(opportunity, "New"))  # closes the expired one as lost

    body = assert_problem(api.post(f"/api/quotes/{expired['id']}/win", json={}), 409, "won_quote_exists")
    assert body["code"] == "won_quote_exists"


def test_accept_expired_must_be_a_boolean(api: TestClient, desk: Desk, engine: Engine) -> None:
    quote = _expired_active(desk, engine, desk.opportunity())

    assert_invalid(api.post(f"/api/quotes/{quote['id']}/win", json={"accept_expired": "yes"}), "accept_expired")


def test_the_close_preview_lists_expired_quotes(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    expired = _expired_active(desk, engine, opportunity)
    desk.quote(opportunity, "Current", valid_until=desk.today.isoformat())

    preview = desk.expect(api.get(f"/api/opportunities/{opportunity['id']}/close-preview"), 200)

    assert preview["expired_quotes"] == [
        {
            "id": expired["id"],
            "number": expired["number"],
            "revision": 0,
            "name": "Phase 1",
            "valid_until": desk.yesterday.isoformat(),
        }
    ]


# ---------------------------------------------------------------------------------------------- revive
def _lost_deal(desk: Desk) -> tuple[Json, Json]:
    """A deal lost with its revised quote: rev 0 revised, rev 1 closed as lost by the close."""
    opportunity = desk.opportunity()
    first = desk.active_quote(opportunity)
    revision = desk.expect(desk.client.post(f"/api/quotes/{first['id']}/revise"), 201)
    desk.activate(revision)
    desk.close(opportunity["id"], "lost", close_quotes="lost")
    return opportunity, desk.get_quote(revision["id"])


def test_reopen_with_revive_quote_id_answers_the_new_draft_revision(api: TestClient, desk: Desk) -> None:
    opportunity, lost = _lost_deal(desk)

    answer = desk.reopen(opportunity["id"], revive_quote_id=lost["id"], reason="Customer is back")

    assert (answer["state"], answer["id"]) == ("open", opportunity["id"])
    revived = answer["revived_quote"]
    assert (revived["number"], revived["revision"]) == (lost["number"], 2)
    assert (revived["state"], revived["status_reason"]) == ("draft", "in_progress")
    assert [ln["description"] for ln in revived["lines"]] == [ln["description"] for ln in lost["lines"]]
    assert revived["total_amount"] == lost["total_amount"]
    assert desk.get_quote(lost["id"])["state"] == "closed"
    listed = api.get(f"/api/opportunities/{opportunity['id']}/quotes").json()["items"]
    assert revived["id"] in {q["id"] for q in listed}
    assert [e["action"] for e in desk.audit(revived["id"])] == ["revive"]
    assert desk.closes(opportunity["id"])[0]["reopen_reason"] == "Customer is back"


def test_reopen_without_revive_answers_the_opportunity_only(api: TestClient, desk: Desk) -> None:
    opportunity, _lost = _lost_deal(desk)

    assert "revived_quote" not in desk.reopen(opportunity["id"])


def test_a_canceled_quote_can_be_revived(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    canceled = desk.close_quote(desk.active_quote(opportunity), "canceled")
    desk.close(opportunity["id"], "lost")

    revived = desk.reopen(opportunity["id"], revive_quote_id=canceled["id"])["revived_quote"]

    assert (revived["number"], revived["revision"], revived["state"]) == (canceled["number"], 1, "draft")


@pytest.mark.parametrize("which", ["revised", "other_deal", "unknown", "won"])
def test_revive_of_anything_but_a_lost_or_canceled_quote_of_the_deal_is_422_and_the_deal_stays_closed(
    api: TestClient, desk: Desk, engine: Engine, which: str
) -> None:
    opportunity = desk.opportunity()
    first = desk.active_quote(opportunity)
    revision = desk.expect(api.post(f"/api/quotes/{first['id']}/revise"), 201)
    desk.activate(revision)
    if which == "won":
        desk.win(revision, close_opportunity=True)
        target = revision["id"]
    else:
        desk.close(opportunity["id"], "lost", close_quotes="lost")
        other = desk.quote(desk.opportunity("Other deal"))
        target = {"revised": first["id"], "other_deal": other["id"], "unknown": "00000000-0000-4000-8000-000000000000"}[
            which
        ]
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/reopen", json={"revive_quote_id": target})

    assert_invalid(response, "revive_quote_id")
    assert snapshot(engine) == before


def test_revive_on_a_deal_with_a_won_quote_is_won_quote_exists_and_changes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    sibling = desk.active_quote(opportunity, "Plan B")
    desk.win(desk.active_quote(opportunity), close_opportunity=True)  # Plan B closes as lost
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/reopen", json={"revive_quote_id": sibling["id"]})

    assert_problem(response, 409, "won_quote_exists")
    assert snapshot(engine) == before
    assert desk.get_opportunity(opportunity["id"])["state"] == "won"


def test_revive_on_an_open_deal_is_invalid_transition(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    lost = desk.close_quote(desk.quote(opportunity), "lost")

    response = api.post(f"/api/opportunities/{opportunity['id']}/reopen", json={"revive_quote_id": lost["id"]})

    assert_problem(response, 409, "invalid_transition")


def test_a_failed_revive_write_leaves_the_deal_closed(
    api: TestClient, desk: Desk, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: when writing the new revision fails, the reopen is rolled back with it."""
    from dealdesk.domain.opportunity import Opportunity

    opportunity, lost = _lost_deal(desk)
    before = snapshot(engine)

    def broken(self: Opportunity, quote: object, **_: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Opportunity, "_revive", broken)
    with TestClient(api.app, raise_server_exceptions=False, headers=dict(api.headers)) as client:
        response = client.post(f"/api/opportunities/{opportunity['id']}/reopen", json={"revive_quote_id": lost["id"]})

    assert response.status_code == 500
    assert snapshot(engine) == before
    assert desk.get_opportunity(opportunity["id"])["state"] == "lost"


def test_revive_quote_id_must_be_a_uuid(api: TestClient, desk: Desk) -> None:
    opportunity, _lost = _lost_deal(desk)

    assert_invalid(
        api.post(f"/api/opportunities/{opportunity['id']}/reopen", json={"revive_quote_id": "Q-1"}), "revive_quote_id"
    )
