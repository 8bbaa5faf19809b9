"""Closing an opportunity: the close rule, close-quotes, the preview, reopening and close history (SPEC §4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.builders import (
    Desk,
    Json,
    assert_invalid,
    assert_problem,
    is_timestamp_with_offset,
    is_uuid,
    snapshot,
)

CLOSE_FIELDS = {
    "id",
    "opportunity_id",
    "outcome",
    "status_reason",
    "close_reason_id",
    "close_date",
    "actual_revenue",
    "currency",
    "competitor_id",
    "description",
    "subject",
    "won_quote_id",
    "owner_id",
    "account_id",
    "closed_by",
    "closed_at",
    "reopened_at",
    "reopened_by",
    "reopen_reason",
    "created_at",
    "updated_at",
}
CLOSED_QUOTE_FIELDS = {"id", "number", "revision", "name", "previous_state", "state", "status_reason"}


def close_body(desk: Desk, outcome: str = "won", **more: object) -> Json:
    body: Json = {"outcome": outcome, "close_date": desk.today.isoformat(), **more}
    if outcome == "lost":
        body.setdefault("status_reason", "out_sold")
    return body


# ---------------------------------------------------------------------------------------------- a plain close
def test_closing_as_won_answers_the_opportunity_the_close_record_and_no_closed_quotes(
    api: TestClient, desk: Desk
) -> None:
    account = desk.account()
    opportunity = desk.opportunity(account=account, estimated_revenue="1250.00")
    competitor = desk.competitor()
    reason = desk.close_reason("won", "Best references")
    body = close_body(
        desk,
        "won",
        close_date=desk.yesterday.isoformat(),
        close_reason_id=reason["id"],
        competitor_id=competitor["id"],
        description="Signed after the demo",
    )

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body)

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"opportunity", "close", "closed_quotes"}
    assert answer["closed_quotes"] == []
    closed = answer["opportunity"]
    assert (closed["state"], closed["status_reason"]) == ("won", "won")
    assert closed["actual_revenue"] == "1250.00"
    assert closed["actual_close_date"] == desk.yesterday.isoformat()
    assert closed["version"] > opportunity["version"]
    record = answer["close"]
    assert set(record) == CLOSE_FIELDS
    assert is_uuid(record["id"]) and record["opportunity_id"] == opportunity["id"]
    assert (record["outcome"], record["status_reason"]) == ("won", "won")
    assert record["close_reason_id"] == reason["id"] and record["competitor_id"] == competitor["id"]
    assert record["close_date"] == desk.yesterday.isoformat()
    assert record["actual_revenue"] == "1250.00" and record["currency"] == "USD"
    assert record["description"] == "Signed after the demo"
    assert record["subject"] is None
    assert record["won_quote_id"] is None
    assert record["owner_id"] == opportunity["owner_id"] and record["account_id"] == account["id"]
    assert is_uuid(record["closed_by"]) and is_timestamp_with_offset(record["closed_at"])
    assert record["reopened_at"] is None and record["reopened_by"] is None and record["reopen_reason"] is None
    assert desk.get_opportunity(opportunity["id"]) == closed


def test_closing_as_lost_takes_the_status_reason_zero_revenue_and_the_currency(api: TestClient, desk: Desk) -> None:
    status_reason = "out_sold"
    opportunity = desk.opportunity(currency="EUR")

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "lost", status_reason=status_reason)
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["opportunity"]["state"], answer["opportunity"]["status_reason"]) == ("lost", status_reason)
    assert answer["opportunity"]["actual_revenue"] == "0.00"
    assert answer["close"]["actual_revenue"] == "0.00" and answer["close"]["status_reason"] == status_reason
    assert answer["close"]["currency"] == answer["opportunity"]["currency"] == "EUR"


def test_a_close_keeps_its_subject_trimmed_and_lists_it_in_the_close_history(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "won", subject="  Won after the pilot ")
    )

    assert response.status_code == 200, response.text
    assert response.json()["close"]["subject"] == "Won after the pilot"
    [listed] = api.get(f"/api/opportunities/{opportunity['id']}/closes").json()["items"]
    assert listed["subject"] == "Won after the pilot"


def test_a_blank_close_subject_is_none_and_one_longer_than_200_characters_is_refused(
    api: TestClient, desk: Desk
) -> None:
    refused = desk.opportunity()
    blank = desk.opportunity()

    too_long = api.post(f"/api/opportunities/{refused['id']}/close", json=close_body(desk, subject="x" * 201))
    closed = api.post(f"/api/opportunities/{blank['id']}/close", json=close_body(desk, subject="   "))

    assert_invalid(too_long, "subject")
    assert desk.get_opportunity(refused["id"])["state"] == "open"
    assert closed.status_code == 200, closed.text
    assert closed.json()["close"]["subject"] is None


def test_a_won_opportunity_cannot_be_closed_again(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity["id"], "won")
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "lost"))

    assert_problem(response, 409, "invalid_transition")
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- the close rule
def test_every_active_quote_blocks_the_close_and_is_named(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    first = desk.active_quote(opportunity, "Option A")
    second = desk.active_quote(opportunity, "Option B")
    desk.quote(opportunity, "Draft C")
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk))

    problem = assert_problem(response, 409, "active_quotes_block_close")
    assert sorted(problem["blocking_quotes"], key=lambda q: q["number"]) == [
        {"id": q["id"], "number": q["number"], "revision": q["revision"], "name": q["name"]} for q in (first, second)
    ]
    assert snapshot(engine) == before


def test_draft_quotes_do_not_block_the_close_and_stay_draft(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.quote(opportunity)

    answer = desk.close(opportunity["id"], "lost")

    assert answer["opportunity"]["state"] == "lost"
    assert answer["closed_quotes"] == []
    assert desk.get_quote(draft["id"])["state"] == "draft"


def test_close_quotes_closes_active_and_draft_quotes_with_the_opportunity(api: TestClient, desk: Desk) -> None:
    close_quotes = "lost"
    opportunity = desk.opportunity()
    active = desk.active_quote(opportunity, "Option A")
    draft = desk.quote(opportunity, "Option B")
    finished = desk.close_quote(desk.quote(opportunity, "Old"), "canceled")
    body = close_body(desk, "lost", close_quotes=close_quotes)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["opportunity"]["state"] == "lost"
    assert all(set(q) == CLOSED_QUOTE_FIELDS for q in answer["closed_quotes"])
    assert sorted(answer["closed_quotes"], key=lambda q: q["number"]) == [
        {
            "id": q["id"],
            "number": q["number"],
            "revision": 0,
            "name": q["name"],
            "previous_state": previous,
            "state": "closed",
            "status_reason": close_quotes,
        }
        for q, previous in ((active, "active"), (draft, "draft"))
    ]
    for quote in (active, draft):
        stored = desk.get_quote(quote["id"])
        assert (stored["state"], stored["status_reason"]) == ("closed", close_quotes)
    assert desk.get_quote(finished["id"])["status_reason"] == "canceled"


def test_a_won_close_with_close_quotes_defaults_to_the_estimated_revenue(desk: Desk) -> None:
    opportunity = desk.opportunity(estimated_revenue="800.00")
    desk.active_quote(opportunity)

    answer = desk.close(opportunity["id"], "won", close_quotes="canceled")

    assert answer["opportunity"]["actual_revenue"] == "800.00"
    assert [q["previous_state"] for q in answer["closed_quotes"]] == ["active"]


def test_a_refused_close_with_close_quotes_closes_no_quote(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    desk.win(quote)
    draft = desk.quote(opportunity, "Late draft")
    before = snapshot(engine)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "lost", close_quotes="lost")
    )

    assert_problem(response, 409, "won_quote_requires_won_close")
    assert snapshot(engine) == before
    assert desk.get_quote(draft["id"])["state"] == "draft"


# ---------------------------------------------------------------------------------------------- close preview
def test_the_close_preview_shows_blocking_quotes_drafts_and_the_etag(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    active = desk.active_quote(opportunity, "Option A")
    draft = desk.quote(opportunity, "Option B")

    response = api.get(f"/api/opportunities/{opportunity['id']}/close-preview")

    assert response.status_code == 200
    preview = response.json()
    assert set(preview) == {"can_close", "blocking_quotes", "draft_quotes", "won_quote", "expired_quotes", "etag"}
    assert preview["can_close"] is False
    assert [q["id"] for q in preview["blocking_quotes"]] == [active["id"]]
    assert {"id", "number", "revision", "name"} <= set(preview["blocking_quotes"][0])
    assert [q["id"] for q in preview["draft_quotes"]] == [draft["id"]]
    assert preview["won_quote"] is None
    assert preview["etag"] == api.get(f"/api/opportunities/{opportunity['id']}").headers["etag"]


def test_the_close_preview_names_the_won_quote(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    desk.win(quote)

    preview = api.get(f"/api/opportunities/{opportunity['id']}/close-preview").json()

    assert preview["won_quote"]["id"] == quote["id"]
    assert preview["can_close"] is True


# ---------------------------------------------------------------------------------------------- close all quotes
def test_close_quotes_closes_every_active_and_draft_quote_and_leaves_the_opportunity_open(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    active = desk.active_quote(opportunity, "Option A")
    draft = desk.quote(opportunity, "Option B")

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close-quotes", json={"status_reason": "lost", "description": "Lost"}
    )

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"closed_quotes"}
    assert {(q["id"], q["previous_state"], q["state"], q["status_reason"]) for q in answer["closed_quotes"]} == {
        (active["id"], "active", "closed", "lost"),
        (draft["id"], "draft", "closed", "lost"),
    }
    assert all(set(q) == CLOSED_QUOTE_FIELDS for q in answer["closed_quotes"])
    assert desk.get_quote(active["id"])["close_description"] == "Lost"
    assert desk.get_opportunity(opportunity["id"])["state"] == "open"
    assert desk.close(opportunity["id"])["opportunity"]["state"] == "won"


def test_close_quotes_with_no_quote_to_close_answers_an_empty_list(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()

    response = api.post(f"/api/opportunities/{opportunity['id']}/close-quotes", json={"status_reason": "canceled"})

    assert response.status_code == 200
    assert response.json() == {"closed_quotes": []}


def test_close_quotes_on_a_closed_opportunity_is_refused_as_not_open(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    draft = desk.quote(opportunity)
    desk.close(opportunity["id"], "lost")
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close-quotes", json={"status_reason": "canceled"})

    assert_problem(response, 409, "opportunity_not_open")
    assert snapshot(engine) == before
    assert desk.get_quote(draft["id"])["state"] == "draft"


# ---------------------------------------------------------------------------------------------- won quotes
def test_a_won_close_after_a_win_defaults_to_the_won_quote_total(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity(estimated_revenue="5000.00")
    quote = desk.active_quote(opportunity)
    desk.win(quote)
    assert desk.get_opportunity(opportunity["id"])["state"] == "open"

    answer = desk.close(opportunity["id"], "won")

    assert answer["opportunity"]["actual_revenue"] == quote["total_amount"] == "1250.00"
    assert answer["close"]["actual_revenue"] == "1250.00"
    assert answer["close"]["won_quote_id"] == quote["id"]
    assert answer["opportunity"]["won_quote_id"] == quote["id"]


# ---------------------------------------------------------------------------------------------- reopen
def test_reopening_makes_the_opportunity_open_and_clears_the_actuals(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    closed = desk.close(opportunity["id"], "lost")["opportunity"]

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/reopen", json={"status_reason": "on_hold", "reason": "Budget back"}
    )

    assert response.status_code == 200
    reopened = response.json()
    assert (reopened["state"], reopened["status_reason"]) == ("open", "on_hold")
    assert reopened["actual_revenue"] is None and reopened["actual_close_date"] is None
    assert reopened["version"] > closed["version"]
    assert desk.get_opportunity(opportunity["id"]) == reopened


def test_reopening_without_a_body_resumes_in_progress(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity["id"])

    response = api.post(f"/api/opportunities/{opportunity['id']}/reopen")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["status_reason"]) == ("open", "in_progress")


def test_reopening_an_open_opportunity_is_an_invalid_transition(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    before = snapshot(engine)

    assert_problem(api.post(f"/api/opportunities/{opportunity['id']}/reopen", json={}), 409, "invalid_transition")
    assert snapshot(engine) == before


def test_close_reopen_close_keeps_both_records_newest_first(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    first = desk.close(opportunity["id"], "lost", status_reason="canceled")["close"]
    desk.reopen(opportunity["id"], status_reason="on_hold", reason="Customer came back")
    second = desk.close(opportunity["id"], "won")["close"]

    response = api.get(f"/api/opportunities/{opportunity['id']}/closes")

    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    newer, older = page["items"]
    assert (newer["id"], older["id"]) == (second["id"], first["id"])
    assert all(set(record) == CLOSE_FIELDS for record in page["items"])
    assert newer["reopened_at"] is None and newer["outcome"] == "won"
    assert older["outcome"] == "lost" and older["status_reason"] == "canceled"
    assert is_timestamp_with_offset(older["reopened_at"])
    assert older["reopened_by"] == first["closed_by"]
    assert older["reopen_reason"] == "Customer came back"


def test_close_records_page_newest_first(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    oldest = desk.close(opportunity["id"], "lost")["close"]
    desk.reopen(opportunity["id"])
    middle = desk.close(opportunity["id"], "won")["close"]
    desk.reopen(opportunity["id"])
    newest = desk.close(opportunity["id"], "lost")["close"]

    first = api.get(f"/api/opportunities/{opportunity['id']}/closes", params={"limit": 2}).json()
    rest = api.get(
        f"/api/opportunities/{opportunity['id']}/closes", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [record["id"] for record in first["items"] + rest["items"]] == [newest["id"], middle["id"], oldest["id"]]
    assert rest["next_cursor"] is None


def test_a_reopened_opportunity_with_a_won_quote_can_only_be_won_again(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    desk.win(quote, close_opportunity=True)
    desk.reopen(opportunity["id"])
    assert desk.get_quote(quote["id"])["state"] == "won"

    lost = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "lost"))

    assert_problem(lost, 409, "won_quote_requires_won_close")
    assert desk.close(opportunity["id"], "won")["opportunity"]["actual_revenue"] == quote["total_amount"]
    assert len(desk.closes(opportunity["id"])) == 2


def test_reopening_leaves_the_contract_as_it_is(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    won = desk.win(desk.active_quote(opportunity), close_opportunity=True)
    contract = api.get(f"/api/contracts/{won['contract']['id']}").json()

    reopened = desk.reopen(opportunity["id"])

    assert reopened["contract_id"] == won["contract"]["id"]
    assert api.get(f"/api/contracts/{won['contract']['id']}").json() == contract


# ---------------------------------------------------------------------------------------------- close corrections
def test_the_standing_close_record_can_be_corrected(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity["id"], "lost", description="Lost on price")["close"]
    competitor = desk.competitor()
    reason = desk.close_reason("lost", "Price too high")

    response = api.patch(
        f"/api/closes/{record['id']}",
        json={
            "description": "Lost to a cheaper offer",
            "competitor_id": competitor["id"],
            "close_reason_id": reason["id"],
        },
    )

    assert response.status_code == 200
    corrected = response.json()
    assert set(corrected) == CLOSE_FIELDS
    assert corrected["description"] == "Lost to a cheaper offer"
    assert corrected["competitor_id"] == competitor["id"] and corrected["close_reason_id"] == reason["id"]
    correctable = {"description", "competitor_id", "close_reason_id", "updated_at"}
    assert {k: v for k, v in corrected.items() if k not in correctable} == {
        k: v for k, v in record.items() if k not in correctable
    }
    assert desk.closes(opportunity["id"]) == [corrected]
    audited = desk.audit(record["id"])[0]
    assert audited["action"] == "correct"
    assert audited["after"]["description"] == "Lost to a cheaper offer"


def test_the_competitor_of_a_close_record_can_be_cleared(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity["id"], "lost", competitor_id=desk.competitor()["id"])["close"]

    response = api.patch(f"/api/closes/{record['id']}", json={"competitor_id": None})

    assert response.status_code == 200
    assert response.json()["competitor_id"] is None


def test_a_close_record_ended_by_a_reopen_cannot_be_corrected(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity["id"], "won")["close"]
    desk.reopen(opportunity["id"])
    before = snapshot(engine)

    response = api.patch(f"/api/closes/{record['id']}", json={"description": "Too late"})

    assert_problem(response, 409, "invalid_transition")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"competitor_id": "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"}, "competitor_id"),
        ({"actual_revenue": "1.00"}, "actual_revenue"),
    ],
)
def test_a_correction_naming_an_unknown_competitor_or_another_field_is_refused(
    api: TestClient, desk: Desk, engine: Engine, body: Json, field: str
) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity["id"], "won")["close"]
    before = snapshot(engine)

    assert_invalid(api.patch(f"/api/closes/{record['id']}", json=body), field)
    assert snapshot(engine) == before


def test_a_correction_cannot_pick_a_close_reason_of_the_other_outcome(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity["id"], "won")["close"]
    lost_reason = desk.close_reason("lost", "Price too high")

    assert_invalid(
        api.patch(f"/api/closes/{record['id']}", json={"close_reason_id": lost_reason["id"]}), "close_reason_id"
    )
