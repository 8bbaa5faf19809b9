"""Money typed into a web form is read by the page language's own rules, strictly, or refused naming the field;
never guessed at (an outside probe saw "1,50" saved as 150.00 and "1,2,3.4,5" as 123.45). English and zh-Hant-HK
both group digits with "," and mark decimals with ".". Through the real form handlers, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

import pytest
from sqlalchemy import Engine, select

from dealdesk.config import Settings
from dealdesk.db import tables as t
from dealdesk.web.i18n import LANGUAGE_COOKIE
from tests.trust.web_forms import Desk, signed_in_desk

GUESSED_BEFORE = ["1,50", "1,2,3.4,5", "12,34", "1,250.5,0", "1 250", "1e3", "\uff11\uff12", "1_000", ".5"]
"""Misplaced groups, a space as a group, an exponent, full-width digits, an underscore, no digit before the mark."""
SAVED_AS_MEANT = [("1,250.50", "1250.50"), ("1250", "1250.00"), ("1,234,567", "1234567.00")]


@pytest.fixture
def desk(engine: Engine, settings: Settings) -> Iterator[Desk]:
    with signed_in_desk(engine, settings) as made:
        yield made


def _estimated_revenue(engine: Engine, desk: Desk) -> Decimal:
    with engine.connect() as conn:
        opportunities = t.opportunities
        where = opportunities.c.id == UUID(desk.ids["opportunity_id"])
        value: Decimal = conn.execute(select(opportunities.c.estimated_revenue).where(where)).scalar_one()
        return value


def _edit(desk: Desk, revenue: str, language: str) -> tuple[int, str]:
    desk.manager.cookies.set(LANGUAGE_COOKIE, language)
    form = {
        "name": "Deal",
        "account_id": desk.ids["account_id"],
        "currency": "USD",
        "estimated_revenue": revenue,
        "status_reason": "in_progress",
    }
    response = desk.post(desk.manager, f"/opportunities/{desk.ids['opportunity_id']}/edit", form)
    return response.status_code, response.text


@pytest.mark.parametrize("language", ["en", "zh-Hant-HK"])
def test_amounts_the_language_cannot_read_strictly_are_refused_naming_the_field(
    engine: Engine, desk: Desk, language: str
) -> None:
    before = _estimated_revenue(engine, desk)
    answers = {typed: _edit(desk, typed, language) for typed in GUESSED_BEFORE}

    assert {typed: status for typed, (status, _html) in answers.items()} == dict.fromkeys(GUESSED_BEFORE, 422)
    for _status, html in answers.values():
        assert 'id="edit-revenue-error"' in html or "estimated_revenue" in html
    assert _estimated_revenue(engine, desk) == before


@pytest.mark.parametrize("language", ["en", "zh-Hant-HK"])
@pytest.mark.parametrize(
    ("typed", "saved"), [("1,250.50", "1250.50"), ("1250", "1250.00"), ("1,234,567", "1234567.00")]
)
def test_amounts_written_with_the_languages_digit_groups_are_saved_as_meant(
    engine: Engine, desk: Desk, language: str, typed: str, saved: str
) -> None:
    status, _html = _edit(desk, typed, language)
    assert status == 200
    assert _estimated_revenue(engine, desk) == Decimal(saved)


def test_a_quote_line_price_with_misplaced_commas_is_refused_and_no_quote_is_made(engine: Engine, desk: Desk) -> None:
    with engine.connect() as conn:
        quotes_before = conn.execute(select(t.quotes.c.id)).all()
    form = {"name": "Offer", "line_description": "Work", "line_quantity": "1", "line_unit_price": "1,2,3.4,5"}

    response = desk.post(desk.manager, f"/opportunities/{desk.ids['opportunity_id']}/quotes/new", form)

    assert response.status_code == 422, response.text
    with engine.connect() as conn:
        assert conn.execute(select(t.quotes.c.id)).all() == quotes_before


def test_a_close_dialog_revenue_of_1_comma_50_is_refused_and_the_deal_stays_open(engine: Engine, desk: Desk) -> None:
    form = {
        "outcome": "lost",
        "status_reason": "canceled",
        "close_date": "2026-01-02",
        "actual_revenue": "1,50",
        "confirm": "close_quotes:lost",
    }

    response = desk.post(desk.manager, f"/opportunities/{desk.ids['opportunity_id']}/close", form)

    assert response.status_code == 422, response.text
    with engine.connect() as conn:
        state = conn.execute(
            select(t.opportunities.c.state).where(t.opportunities.c.id == UUID(desk.ids["opportunity_id"]))
        ).scalar_one()
    assert state == "open"
