"""If-Match against ETags, and Idempotency-Key on close, win and bulk close (SPEC §7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.db import tables
from tests.api.builders import Desk, Json, assert_invalid, assert_problem, count_rows, snapshot

BULK = "/api/opportunities/bulk-close"


def close_body(desk: Desk, outcome: str = "won", **more: object) -> Json:
    body: Json = {"outcome": outcome, "close_date": desk.today.isoformat(), **more}
    if outcome == "lost":
        body.setdefault("status_reason", "out_sold")
    return body


def etag_of(api: TestClient, path: str) -> str:
    response = api.get(path)
    assert response.status_code == 200
    return response.headers["etag"]


# ---------------------------------------------------------------------------------------------- If-Match
def test_patching_an_opportunity_with_its_current_etag_or_a_star_succeeds(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    tag = etag_of(api, f"/api/opportunities/{opportunity['id']}")

    response = api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": "Renamed"}, headers={"If-Match": tag})
    star = api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": "Any"}, headers={"If-Match": "*"})

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert star.status_code == 200


def test_an_etag_read_before_a_change_no_longer_matches_after_it(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    stale = etag_of(api, f"/api/opportunities/{opportunity['id']}")
    api.patch(f"/api/opportunities/{opportunity['id']}", json={"description": "Someone else was here"})

    response = api.patch(f"/api/opportunities/{opportunity['id']}", json={"name": "Mine"}, headers={"If-Match": stale})

    assert_problem(response, 412, "precondition_failed")
    assert desk.get_opportunity(opportunity["id"])["name"] == "ERP rollout"


def test_a_quote_is_edited_only_while_its_etag_matches(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())
    tag = etag_of(api, f"/api/quotes/{quote['id']}")

    first = api.patch(f"/api/quotes/{quote['id']}", json={"name": "First edit"}, headers={"If-Match": tag})
    second = api.patch(f"/api/quotes/{quote['id']}", json={"name": "Second edit"}, headers={"If-Match": tag})

    assert first.status_code == 200
    assert_problem(second, 412, "precondition_failed")
    assert desk.get_quote(quote["id"])["name"] == "First edit"


@pytest.mark.parametrize("action", ["activate", "delete", "win"])
def test_quote_actions_refuse_a_stale_etag_and_change_nothing(
    api: TestClient, desk: Desk, engine: Engine, action: str
) -> None:
    quote = desk.quote(desk.opportunity())
    stale = {"If-Match": etag_of(api, f"/api/quotes/{quote['id']}")}
    if action == "win":
        desk.activate(quote)
    else:
        api.patch(f"/api/quotes/{quote['id']}", json={"name": "Changed meanwhile"})
    before = snapshot(engine)

    if action == "delete":
        response = api.delete(f"/api/quotes/{quote['id']}", headers=stale)
    elif action == "close":
        response = api.post(f"/api/quotes/{quote['id']}/close", json={"status_reason": "lost"}, headers=stale)
    else:
        response = api.post(f"/api/quotes/{quote['id']}/{action}", headers=stale)

    assert_problem(response, 412, "precondition_failed")
    assert snapshot(engine) == before


def test_the_close_preview_etag_confirms_the_close(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.quote(opportunity)
    preview = api.get(f"/api/opportunities/{opportunity['id']}/close-preview").json()

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers={"If-Match": preview["etag"]}
    )

    assert response.status_code == 200
    assert response.json()["opportunity"]["state"] == "won"


@pytest.mark.parametrize("change", ["activate another quote", "edit a draft"])
def test_a_quote_change_after_the_preview_makes_the_close_fail_its_precondition(
    api: TestClient, desk: Desk, engine: Engine, change: str
) -> None:
    opportunity = desk.opportunity()
    draft = desk.quote(opportunity, "Option A")
    other = desk.quote(opportunity, "Option B")
    preview = api.get(f"/api/opportunities/{opportunity['id']}/close-preview").json()
    if change == "activate another quote":
        desk.activate(other)
    else:
        desk.expect(api.patch(f"/api/quotes/{draft['id']}", json={"name": "Bigger scope"}), 200)
    before = snapshot(engine)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close",
        json=close_body(desk, close_quotes="canceled"),
        headers={"If-Match": preview["etag"]},
    )

    assert_problem(response, 412, "precondition_failed")
    assert snapshot(engine) == before


def test_close_quotes_refuses_a_stale_etag(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.active_quote(opportunity)
    before = snapshot(engine)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close-quotes",
        json={"status_reason": "canceled"},
        headers={"If-Match": '"999"'},
    )

    assert_problem(response, 412, "precondition_failed")
    assert snapshot(engine) == before


def test_a_stale_etag_is_reported_before_a_rule_refusal(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.active_quote(opportunity)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers={"If-Match": '"999"'}
    )

    assert_problem(response, 412, "precondition_failed")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/api/opportunities/{opportunity}/close",
            {"outcome": "won", "close_date": "2999-12-31"},
            "close_date",
        ),
        ("POST", "/api/quotes/{quote}/close", {"status_reason": "lost", "close_date": "2999-12-31"}, "close_date"),
        ("PATCH", "/api/opportunities/{opportunity}", {"name": "   "}, "name"),
        ("PATCH", "/api/quotes/{quote}", {"name": "   "}, "name"),
    ],
    ids=[
        "close future date",
        "quote close future date",
        "blank opportunity name",
        "blank quote name",
    ],
)
def test_an_input_fault_is_reported_before_a_stale_etag(
    api: TestClient, desk: Desk, engine: Engine, method: str, path: str, body: Json, field: str
) -> None:
    opportunity = desk.opportunity()
    quote = desk.quote(opportunity)
    before = snapshot(engine)

    response = api.request(
        method,
        path.format(opportunity=opportunity["id"], quote=quote["id"]),
        json=body,
        headers={"If-Match": '"999"'},
    )

    assert_invalid(response, field)
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- Idempotency-Key
def test_a_repeated_close_with_the_same_key_answers_the_same_bytes_and_writes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    body = close_body(desk, "lost", description="Lost on price")
    headers = {"Idempotency-Key": "close-1"}
    first = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body, headers=headers)
    assert first.status_code == 200
    after_first = snapshot(engine)

    again = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body, headers=headers)

    assert again.status_code == first.status_code
    assert again.content == first.content
    assert snapshot(engine) == after_first
    assert len(desk.closes(opportunity["id"])) == 1
    assert count_rows(engine, tables.opportunity_closes) == 1


def test_a_replay_is_answered_even_though_its_if_match_is_now_stale(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    headers = {"Idempotency-Key": "close-1", "If-Match": etag_of(api, f"/api/opportunities/{opportunity['id']}")}
    first = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers=headers)
    assert first.status_code == 200

    again = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers=headers)

    assert again.status_code == 200
    assert again.content == first.content


def test_a_reused_key_is_reported_before_a_stale_if_match(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    headers = {"Idempotency-Key": "close-1", "If-Match": etag_of(api, f"/api/opportunities/{opportunity['id']}")}
    api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers=headers)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, description="Other"), headers=headers
    )

    assert_problem(response, 422, "idempotency_key_reused")


def test_the_same_key_with_another_close_body_is_refused_as_reused(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    headers = {"Idempotency-Key": "close-1"}
    api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "won"), headers=headers)
    before = snapshot(engine)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, "lost"), headers=headers)

    assert_problem(response, 422, "idempotency_key_reused")
    assert snapshot(engine) == before


def test_a_refused_close_is_not_remembered_and_may_be_retried_with_its_key(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    headers = {"Idempotency-Key": "close-after-fix"}
    body = close_body(desk, "lost")

    refused = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body, headers=headers)
    assert_problem(refused, 409, "active_quotes_block_close")
    desk.close_quote(quote, "lost")
    retried = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body, headers=headers)

    assert retried.status_code == 200
    assert retried.json()["opportunity"]["state"] == "lost"


def test_a_key_is_scoped_to_the_path(api: TestClient, desk: Desk) -> None:
    account = desk.account()
    first = desk.opportunity("First", account=account)
    second = desk.opportunity("Second", account=account)
    headers = {"Idempotency-Key": "same-key"}

    one = api.post(f"/api/opportunities/{first['id']}/close", json=close_body(desk), headers=headers)
    two = api.post(f"/api/opportunities/{second['id']}/close", json=close_body(desk), headers=headers)

    assert one.status_code == two.status_code == 200
    assert desk.get_opportunity(second["id"])["state"] == "won"
    assert one.json()["close"]["id"] != two.json()["close"]["id"]


def test_a_repeated_win_with_the_same_key_answers_the_same_bytes_and_writes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    quote = desk.active_quote(desk.opportunity())
    headers = {"Idempotency-Key": "win-1"}
    body = {"close_opportunity": True}
    first = api.post(f"/api/quotes/{quote['id']}/win", json=body, headers=headers)
    assert first.status_code == 200
    after_first = snapshot(engine)

    again = api.post(f"/api/quotes/{quote['id']}/win", json=body, headers=headers)

    assert again.status_code == 200
    assert again.content == first.content
    assert snapshot(engine) == after_first
    assert count_rows(engine, tables.contracts) == 1


def test_the_same_key_with_another_win_body_is_refused_as_reused(api: TestClient, desk: Desk, engine: Engine) -> None:
    quote = desk.active_quote(desk.opportunity())
    headers = {"Idempotency-Key": "win-1"}
    api.post(f"/api/quotes/{quote['id']}/win", json={"close_opportunity": False}, headers=headers)
    before = snapshot(engine)

    response = api.post(f"/api/quotes/{quote['id']}/win", json={"close_opportunity": True}, headers=headers)

    assert_problem(response, 422, "idempotency_key_reused")
    assert snapshot(engine) == before


def test_a_refused_win_is_not_remembered_and_may_be_retried_with_its_key(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())
    headers = {"Idempotency-Key": "win-after-fix"}

    refused = api.post(f"/api/quotes/{quote['id']}/win", json={}, headers=headers)
    assert_problem(refused, 409, "invalid_transition")
    desk.activate(quote)
    retried = api.post(f"/api/quotes/{quote['id']}/win", json={}, headers=headers)

    assert retried.status_code == 200
    assert retried.json()["quote"]["state"] == "won"


def test_a_repeated_bulk_close_with_the_same_key_answers_the_same_bytes_and_writes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    account = desk.account()
    ids = [desk.opportunity(f"Deal {n}", account=account)["id"] for n in range(3)]
    blocked = desk.opportunity("Blocked", account=account)
    desk.active_quote(blocked)
    body = {"ids": [*ids, blocked["id"]], "outcome": "won", "close_date": desk.today.isoformat()}
    headers = {"Idempotency-Key": "bulk-1"}
    first = api.post(BULK, json=body, headers=headers)
    assert first.status_code == 200
    assert (first.json()["closed"], first.json()["failed"]) == (3, 1)
    after_first = snapshot(engine)

    again = api.post(BULK, json=body, headers=headers)

    assert again.status_code == 200
    assert again.content == first.content
    assert snapshot(engine) == after_first
    assert count_rows(engine, tables.opportunity_closes) == 3


def test_the_same_key_with_another_bulk_body_is_refused_as_reused(api: TestClient, desk: Desk, engine: Engine) -> None:
    account = desk.account()
    first = desk.opportunity("First", account=account)
    second = desk.opportunity("Second", account=account)
    headers = {"Idempotency-Key": "bulk-1"}
    day = desk.today.isoformat()
    api.post(BULK, json={"ids": [first["id"]], "outcome": "won", "close_date": day}, headers=headers)
    before = snapshot(engine)

    response = api.post(BULK, json={"ids": [second["id"]], "outcome": "won", "close_date": day}, headers=headers)

    assert_problem(response, 422, "idempotency_key_reused")
    assert snapshot(engine) == before


def test_an_input_fault_with_a_used_key_is_a_validation_error(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    headers = {"Idempotency-Key": "close-1"}
    api.post(f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk), headers=headers)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close", json=close_body(desk, close_date="2999-01-01"), headers=headers
    )

    assert_invalid(response, "close_date")
