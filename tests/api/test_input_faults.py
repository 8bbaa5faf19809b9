"""Every input fault is 422 validation_error naming the field, never a 500 and never a partial write (SPEC §2, §7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.builders import UNKNOWN_ID, Desk, Json, assert_invalid, line, snapshot

JSON = {"content-type": "application/json"}
Body = Json | bytes


def send(api: TestClient, method: str, path: str, body: Body) -> Any:
    if isinstance(body, bytes):
        return api.request(method, path, content=body, headers=JSON)
    return api.request(method, path, json=body)


def refused_without_a_write(api: TestClient, engine: Engine, method: str, path: str, body: Body, *fields: str) -> Json:
    """The request is 422 validation_error naming one of `fields`, and the database is as it was."""
    before = snapshot(engine)
    problem = assert_invalid(send(api, method, path, body))
    named = {error["field"] for error in problem["errors"]}
    assert named & set(fields), problem["errors"]
    assert snapshot(engine) == before
    return problem


# ---------------------------------------------------------------------------------- bodies that are not objects
@pytest.mark.parametrize(
    "raw",
    [b'{"name": "Acme"', b"[]"],
    ids=["truncated", "array"],
)
def test_a_body_that_is_not_a_json_object_is_a_validation_error(api: TestClient, engine: Engine, raw: bytes) -> None:
    refused_without_a_write(api, engine, "POST", "/api/accounts", raw, "body")


def test_a_close_body_that_is_malformed_json_is_a_validation_error(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    raw = b'{"outcome": "won",'

    refused_without_a_write(api, engine, "POST", f"/api/opportunities/{opportunity['id']}/close", raw, "body")


# ---------------------------------------------------------------------------------------------- catalogue
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/accounts", {"name": 42}, "name"),
        ("/api/accounts", {"name": "Acme", "vip": True}, "vip"),
        ("/api/close-reasons", {"outcome": "won", "name": "Fit", "active": "true"}, "active"),
    ],
)
def test_catalogue_input_faults(api: TestClient, engine: Engine, path: str, body: Json, field: str) -> None:
    refused_without_a_write(api, engine, "POST", path, body, field)


# ---------------------------------------------------------------------------------------------- money
MONEY_FAULTS: list[tuple[bytes, tuple[str, ...], str]] = [
    (b"1250.005", ("estimated_revenue",), "three decimals as number"),
    (b"-1", ("estimated_revenue",), "negative"),
    (b"1000000000000", ("estimated_revenue",), "above the maximum as number"),
    (b"1e3", ("estimated_revenue",), "exponent"),
    (b"NaN", ("estimated_revenue", "body"), "NaN"),
]


@pytest.mark.parametrize(("money", "fields", "case"), MONEY_FAULTS, ids=[case for *_, case in MONEY_FAULTS])
def test_bad_money_is_a_validation_error(
    api: TestClient, desk: Desk, engine: Engine, money: bytes, fields: tuple[str, ...], case: str
) -> None:
    account = desk.account()
    raw = b'{"name": "Deal", "account_id": "%s", "estimated_revenue": %s}' % (account["id"].encode(), money)

    refused_without_a_write(api, engine, "POST", "/api/opportunities", raw, *fields)


@pytest.mark.parametrize(
    ("money", "expected"),
    [(b"1250.5", "1250.50"), (b"999999999999.99", "999999999999.99")],
)
def test_money_is_read_exactly_from_its_decimal_text(api: TestClient, desk: Desk, money: bytes, expected: str) -> None:
    account = desk.account()
    raw = b'{"name": "Deal", "account_id": "%s", "estimated_revenue": %s}' % (account["id"].encode(), money)

    response = api.post("/api/opportunities", content=raw, headers=JSON)

    assert response.status_code == 201, response.text
    assert response.json()["estimated_revenue"] == expected


# ---------------------------------------------------------------------------------------------- opportunities
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": 42}, "name"),
        ({"account_id": UNKNOWN_ID}, "account_id"),
        ({"state": "won"}, "state"),
    ],
)
def test_opportunity_input_faults(api: TestClient, desk: Desk, engine: Engine, change: Json, field: str) -> None:
    account = desk.account()
    body = {"name": "Deal", "account_id": account["id"], "estimated_revenue": "10.00", **change}

    refused_without_a_write(api, engine, "POST", "/api/opportunities", body, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"estimated_revenue": "12.345"}, "estimated_revenue"),
    ],
)
def test_opportunity_patch_input_faults(api: TestClient, desk: Desk, engine: Engine, body: Json, field: str) -> None:
    opportunity = desk.opportunity()

    refused_without_a_write(api, engine, "PATCH", f"/api/opportunities/{opportunity['id']}", body, field)


# ---------------------------------------------------------------------------------------------- quotes
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": 42}, "name"),
        ({"lines": [line(quantity="0")]}, "lines[0].quantity"),
        ({"lines": [line(), line(quantity="-1")]}, "lines[1].quantity"),
        ({"lines": [line(unit_price="10.001")]}, "lines[0].unit_price"),
    ],
)
def test_quote_input_faults(api: TestClient, desk: Desk, engine: Engine, change: Json, field: str) -> None:
    opportunity = desk.opportunity()
    body = {"name": "Phase 1", "lines": [line()], **change}

    refused_without_a_write(api, engine, "POST", f"/api/opportunities/{opportunity['id']}/quotes", body, field)


def test_a_quote_patch_with_a_bad_line_is_a_validation_error(api: TestClient, desk: Desk, engine: Engine) -> None:
    quote = desk.quote(desk.opportunity())
    body = {"lines": [line(), line(quantity="0")]}

    refused_without_a_write(api, engine, "PATCH", f"/api/quotes/{quote['id']}", body, "lines[1].quantity")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status_reason": "lost", "close_date": "2999-01-01"}, "close_date"),
        ({"status_reason": "revised"}, "status_reason"),
    ],
)
def test_quote_close_input_faults(api: TestClient, desk: Desk, engine: Engine, body: Json, field: str) -> None:
    quote = desk.active_quote(desk.opportunity())

    refused_without_a_write(api, engine, "POST", f"/api/quotes/{quote['id']}/close", body, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"close_opportunity": "true"}, "close_opportunity"),
        ({"close_date": "2999-01-01"}, "close_date"),
    ],
)
def test_win_input_faults(api: TestClient, desk: Desk, engine: Engine, body: Json, field: str) -> None:
    quote = desk.active_quote(desk.opportunity())

    refused_without_a_write(api, engine, "POST", f"/api/quotes/{quote['id']}/win", body, field)


# ---------------------------------------------------------------------------------------------- closing
def inactive_lost_reason(desk: Desk) -> str:
    reason = desk.close_reason("lost", "Retired")
    desk.expect(desk.client.patch(f"/api/close-reasons/{reason['id']}", json={"active": False}), 200)
    return str(reason["id"])


def won_reason(desk: Desk) -> str:
    return str(desk.close_reason("won", "Best fit")["id"])


LOST = {"outcome": "lost", "status_reason": "canceled"}
WON = {"outcome": "won"}
CLOSE_FAULTS: list[tuple[str, Json | Callable[[Desk], Json], str]] = [
    ("future close_date", {**LOST, "close_date": "2999-12-31"}, "close_date"),
    ("lost without status_reason", {"outcome": "lost"}, "status_reason"),
    ("lost as won", {"outcome": "lost", "status_reason": "won"}, "status_reason"),
    ("February 30th", {**WON, "close_date": "2026-02-30"}, "close_date"),
    ("two-digit year", {**WON, "close_date": "26-01-01"}, "close_date"),
    ("revenue with three decimals", {**WON, "actual_revenue": "12.345"}, "actual_revenue"),
    ("unknown competitor", {**WON, "competitor_id": UNKNOWN_ID}, "competitor_id"),
    ("unknown close reason", {**WON, "close_reason_id": UNKNOWN_ID}, "close_reason_id"),
    (
        "close reason of the other outcome",
        lambda desk: {**LOST, "close_reason_id": won_reason(desk)},
        "close_reason_id",
    ),
    ("inactive close reason", lambda desk: {**LOST, "close_reason_id": inactive_lost_reason(desk)}, "close_reason_id"),
    ("unknown field", {**WON, "won_quote_id": UNKNOWN_ID}, "won_quote_id"),
]


@pytest.mark.parametrize(("case", "make_body", "field"), CLOSE_FAULTS, ids=[case for case, *_ in CLOSE_FAULTS])
def test_close_input_faults(
    api: TestClient, desk: Desk, engine: Engine, case: str, make_body: Json | Callable[[Desk], Json], field: str
) -> None:
    """The opportunity has a draft and the body asks to close it too: nothing at all may change."""
    opportunity = desk.opportunity()
    desk.quote(opportunity)
    body = make_body(desk) if callable(make_body) else dict(make_body)
    body = {"close_date": desk.today.isoformat(), "close_quotes": "lost", **body}

    refused_without_a_write(api, engine, "POST", f"/api/opportunities/{opportunity['id']}/close", body, field)


def test_actual_revenue_as_a_json_number_is_accepted_exactly(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    raw = b'{"outcome": "won", "close_date": "%s", "actual_revenue": 1250.5}' % desk.today.isoformat().encode()

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", content=raw, headers=JSON)

    assert response.status_code == 200, response.text
    assert response.json()["close"]["actual_revenue"] == "1250.50"
    assert response.json()["opportunity"]["actual_revenue"] == "1250.50"


def test_reopening_as_won_is_a_validation_error(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity["id"])

    refused_without_a_write(
        api, engine, "POST", f"/api/opportunities/{opportunity['id']}/reopen", {"status_reason": "won"}, "status_reason"
    )


def test_closing_all_quotes_as_revised_is_a_validation_error(api: TestClient, desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.active_quote(opportunity)

    refused_without_a_write(
        api,
        engine,
        "POST",
        f"/api/opportunities/{opportunity['id']}/close-quotes",
        {"status_reason": "revised"},
        "status_reason",
    )
