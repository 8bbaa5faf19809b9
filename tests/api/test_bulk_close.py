"""Bulk close: each opportunity succeeds or fails on its own, every id is reported in order (SPEC §4)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.builders import UNKNOWN_ID, Desk, Json, assert_invalid, snapshot

BULK = "/api/opportunities/bulk-close"


def bulk_body(desk: Desk, ids: list[str], outcome: str = "lost", **more: object) -> Json:
    body: Json = {"ids": ids, "outcome": outcome, "close_date": desk.today.isoformat(), **more}
    if outcome == "lost":
        body.setdefault("status_reason", "canceled")
    return body


def test_bulk_close_reports_every_id_in_the_order_given_with_counts(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    first = desk.opportunity("First", account=account)
    blocked = desk.opportunity("Blocked", account=account)
    active = desk.active_quote(blocked)
    last = desk.opportunity("Last", account=account)
    already = desk.opportunity("Already won", account=account)
    desk.close(already["id"], "won")
    ids = [last["id"], blocked["id"], UNKNOWN_ID, first["id"], already["id"]]

    response = api.post(BULK, json=bulk_body(desk, ids))

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"results", "closed", "failed"}
    assert [row["id"] for row in answer["results"]] == ids
    assert [row["ok"] for row in answer["results"]] == [True, False, False, True, False]
    assert answer["closed"] == 2 and answer["failed"] == 3
    assert isinstance(answer["closed"], int) and isinstance(answer["failed"], int)
    refused = answer["results"][1]
    assert set(refused) <= {"id", "ok", "error"}
    assert set(refused["error"]) == {"code", "detail"}
    assert refused["error"]["code"] == "active_quotes_block_close"
    assert isinstance(refused["error"]["detail"], str) and refused["error"]["detail"]
    assert answer["results"][2]["error"]["code"] == "not_found"
    assert answer["results"][4]["error"]["code"] == "invalid_transition"
    assert all(row.get("error") is None for row in answer["results"] if row["ok"])
    assert desk.get_opportunity(first["id"])["state"] == "lost"
    assert desk.get_opportunity(last["id"])["state"] == "lost"
    assert desk.get_opportunity(blocked["id"])["state"] == "open"
    assert desk.get_quote(active["id"])["state"] == "active"
    assert len(desk.closes(already["id"])) == 1


def test_each_opportunity_takes_its_own_default_revenue(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    plain = desk.opportunity("Plain", account=account, estimated_revenue="700.00")
    with_win = desk.opportunity("With win", account=account, estimated_revenue="9000.00")
    desk.win(desk.active_quote(with_win))

    answer = api.post(BULK, json=bulk_body(desk, [plain["id"], with_win["id"]], "won")).json()

    assert answer["closed"] == 2
    assert desk.get_opportunity(plain["id"])["actual_revenue"] == "700.00"
    assert desk.get_opportunity(with_win["id"])["actual_revenue"] == "1250.00"


def test_bulk_close_with_close_quotes_closes_the_quotes_of_each_opportunity(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    active = desk.active_quote(opportunity)
    draft = desk.quote(opportunity, "Draft")

    answer = api.post(BULK, json=bulk_body(desk, [opportunity["id"]], close_quotes="lost")).json()

    assert (answer["closed"], answer["failed"], answer["results"][0]["ok"]) == (1, 0, True)
    assert desk.get_quote(active["id"])["status_reason"] == "lost"
    assert desk.get_quote(draft["id"])["status_reason"] == "lost"


def test_a_row_refused_by_a_rule_changes_nothing_of_that_opportunity(api: TestClient, desk: Desk) -> None:
    with_win = desk.opportunity()
    desk.win(desk.active_quote(with_win))

    answer = api.post(BULK, json=bulk_body(desk, [with_win["id"]], "lost")).json()

    assert answer["failed"] == 1 and answer["closed"] == 0
    assert answer["results"][0]["error"]["code"] == "won_quote_requires_won_close"
    assert desk.get_opportunity(with_win["id"])["state"] == "open"
    assert desk.closes(with_win["id"]) == []


def test_duplicate_ids_are_a_validation_error_and_nothing_closes(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    other = desk.opportunity("Other")
    before = snapshot(engine)

    response = api.post(BULK, json=bulk_body(desk, [other["id"], opportunity["id"], opportunity["id"]]))

    assert_invalid(response, "ids")
    assert snapshot(engine) == before


@pytest.mark.parametrize("count", [0, 1001])
def test_zero_or_more_than_1000_ids_are_a_validation_error(api: TestClient, desk: Desk, count: int) -> None:
    ids = [str(uuid.uuid4()) for _ in range(count)]

    assert_invalid(api.post(BULK, json=bulk_body(desk, ids)), "ids")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"close_date": "2999-01-01"}, "close_date"),
        ({"competitor_id": UNKNOWN_ID}, "competitor_id"),
        ({"ids": ["not-a-uuid"]}, "ids[0]"),
    ],
)
def test_a_fault_shared_by_every_row_refuses_the_whole_request(
    api: TestClient, desk: Desk, engine: Engine, change: Json, field: str
) -> None:
    opportunity = desk.opportunity()
    body = bulk_body(desk, [opportunity["id"]], "lost")
    body.update(change)
    before = snapshot(engine)

    assert_invalid(api.post(BULK, json=body), field)
    assert snapshot(engine) == before
