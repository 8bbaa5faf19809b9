"""Winning a quote (SPEC §5) and the project contract it starts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.builders import Desk, assert_problem, is_timestamp_with_offset, is_uuid, line, snapshot

CONTRACT_FIELDS = {"id", "opportunity_id", "quote_id", "account_id", "state", "lines", "total_amount"}


def test_winning_with_close_opportunity_wins_the_deal_for_the_quote_total(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    opportunity = desk.opportunity(account=account, estimated_revenue="9999.00")
    quote = desk.active_quote(opportunity, lines=[line("Workshop", "2", "625.00"), line("Discount", "1", "-50.00")])
    sibling = desk.active_quote(opportunity, "Plan B")
    draft = desk.quote(opportunity, "Plan C")

    competitor = desk.competitor()
    body = {
        "close_opportunity": True,
        "close_date": desk.yesterday.isoformat(),
        "description": "Signed",
        "competitor_id": competitor["id"],
    }

    response = api.post(f"/api/quotes/{quote['id']}/win", json=body)

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"quote", "opportunity", "contract", "closed_quotes"}
    assert (answer["quote"]["state"], answer["quote"]["status_reason"]) == ("won", "won")
    won = answer["opportunity"]
    assert (won["state"], won["status_reason"]) == ("won", "won")
    assert won["actual_revenue"] == "1200.00"
    assert won["actual_close_date"] == desk.yesterday.isoformat()
    assert won["won_quote_id"] == quote["id"]
    assert won["contract_id"] == answer["contract"]["id"]
    assert {(q["id"], q["previous_state"], q["state"], q["status_reason"]) for q in answer["closed_quotes"]} == {
        (sibling["id"], "active", "closed", "lost"),
        (draft["id"], "draft", "closed", "lost"),
    }
    records = desk.closes(opportunity["id"])
    assert len(records) == 1
    assert (records[0]["outcome"], records[0]["actual_revenue"], records[0]["won_quote_id"]) == (
        "won",
        "1200.00",
        quote["id"],
    )
    assert records[0]["competitor_id"] == competitor["id"]
    assert desk.get_quote(quote["id"]) == answer["quote"]


def test_the_contract_of_a_won_quote_is_a_draft_with_the_quote_lines_copied(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    opportunity = desk.opportunity(account=account)
    quote = desk.active_quote(opportunity, lines=[line("Workshop", "2", "625.00"), line("Discount", "1", "-50.00")])
    contract_id = desk.win(quote, close_opportunity=True)["contract"]["id"]

    response = api.get(f"/api/contracts/{contract_id}")

    assert response.status_code == 200
    contract = response.json()
    assert set(contract) >= CONTRACT_FIELDS
    assert is_uuid(contract["id"]) and contract["id"] == contract_id
    assert contract["state"] == "draft"
    assert (contract["opportunity_id"], contract["quote_id"], contract["account_id"]) == (
        opportunity["id"],
        quote["id"],
        account["id"],
    )
    assert contract["lines"] == quote["lines"]
    assert contract["total_amount"] == quote["total_amount"] == "1200.00"
    assert is_timestamp_with_offset(contract["created_at"])


def test_winning_without_a_body_leaves_the_deal_open_with_the_win_recorded(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)

    response = api.post(f"/api/quotes/{quote['id']}/win")

    assert response.status_code == 200
    answer = response.json()
    assert answer["quote"]["state"] == "won"
    kept_open = answer["opportunity"]
    assert (kept_open["state"], kept_open["status_reason"]) == ("open", "in_progress")
    assert kept_open["actual_revenue"] is None
    assert kept_open["won_quote_id"] == quote["id"] and is_uuid(kept_open["contract_id"])
    assert desk.closes(opportunity["id"]) == []
    assert api.get(f"/api/contracts/{kept_open['contract_id']}").status_code == 200
    assert desk.get_opportunity(opportunity["id"]) == kept_open


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_only_an_active_quote_can_be_won(api: TestClient, desk: Desk, engine: Engine, state: str) -> None:
    opportunity = desk.opportunity()
    quote = desk.quote(opportunity)
    if state == "closed":
        desk.close_quote(quote)
    before = snapshot(engine)

    assert_problem(api.post(f"/api/quotes/{quote['id']}/win", json={}), 409, "invalid_transition")
    assert snapshot(engine) == before


def test_after_a_win_no_other_quote_can_be_activated(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.win(desk.active_quote(opportunity))
    later = desk.quote(opportunity, "Extension")

    assert_problem(api.post(f"/api/quotes/{later['id']}/activate"), 409, "won_quote_exists")
    assert desk.get_quote(later["id"])["state"] == "draft"


def test_after_a_win_no_other_quote_can_be_won_whatever_its_state(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.win(desk.active_quote(opportunity))
    later = desk.quote(opportunity, "Extension")

    assert_problem(api.post(f"/api/quotes/{later['id']}/win", json={}), 409, "won_quote_exists")


def test_the_won_quote_is_read_only(api: TestClient, desk: Desk) -> None:
    quote = desk.active_quote(desk.opportunity())
    desk.win(quote)

    assert_problem(api.patch(f"/api/quotes/{quote['id']}", json={"name": "Changed"}), 409, "invalid_transition")
    assert_problem(api.delete(f"/api/quotes/{quote['id']}"), 409, "invalid_transition")
    assert_problem(api.post(f"/api/quotes/{quote['id']}/revise"), 409, "invalid_transition")
