"""Quotes past their `valid_until` (SPEC §11): listed, previewed and refused as the day they are judged on says."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from dealdesk.domain.errors import QuoteExpired
from dealdesk.domain.quote import Quote
from dealdesk.domain.states import QuoteState
from dealdesk.services import closing, quotes
from tests.integration.builders import Desk, standard_lines
from tests.use_cases.support import UnitOfWorkFactory, desk_at, seen


def _quote(desk: Desk, opportunity_id: UUID, *, days_valid: int, name: str) -> Quote:
    new = quotes.NewQuote(name=name, lines=standard_lines(), valid_until=desk.today + timedelta(days=days_valid))
    return quotes.create_quote(desk.uow, opportunity_id, new, actor=desk.actor)


def test_an_expired_draft_cannot_be_activated_and_stays_a_draft(desk: Desk) -> None:
    opportunity = desk.opportunity()
    expired = _quote(desk, opportunity.id, days_valid=-1, name="Expired")
    today = _quote(desk, opportunity.id, days_valid=0, name="Valid today")

    with pytest.raises(QuoteExpired):
        desk.activate(expired.id)
    desk.activate(today.id)

    assert desk.read_quote(expired.id).state is QuoteState.DRAFT
    assert desk.read_quote(today.id).state is QuoteState.ACTIVE


def test_an_active_quote_that_expired_since_is_won_only_when_the_user_accepts_it(
    desk: Desk, make_uow: UnitOfWorkFactory
) -> None:
    opportunity = desk.opportunity()
    quote = _quote(desk, opportunity.id, days_valid=0, name="Offer")
    desk.activate(quote.id)
    two_days_later = desk_at(desk, make_uow, desk.uow.clock.now() + timedelta(days=2))
    before = seen(desk, opportunity.id)

    with pytest.raises(QuoteExpired):
        two_days_later.win(quote.id, close_opportunity=True)
    assert seen(desk, opportunity.id) == before

    quotes.win_quote(two_days_later.uow, quote.id, quotes.WinDetails(accept_expired=True), actor=desk.actor)
    assert desk.read_quote(quote.id).state is QuoteState.WON


def test_quotes_are_listed_as_expired_or_not_on_the_day_they_are_read(desk: Desk) -> None:
    opportunity = desk.opportunity()
    expired = _quote(desk, opportunity.id, days_valid=-1, name="Expired")
    valid = _quote(desk, opportunity.id, days_valid=3, name="Valid")
    open_ended = desk.draft(opportunity.id, name="No end")

    def listed(expired_only: bool | None) -> set[UUID]:
        page = quotes.list_quotes(desk.uow, opportunity.id, limit=10, cursor=None, expired=expired_only)
        return {q.id for q in page.items}

    assert listed(True) == {expired.id}
    assert listed(False) == {valid.id, open_ended.id}
    assert listed(None) == {expired.id, valid.id, open_ended.id}


def test_the_close_preview_lists_the_expired_quotes_only(desk: Desk) -> None:
    opportunity = desk.opportunity()
    expired = _quote(desk, opportunity.id, days_valid=-1, name="Expired")
    _quote(desk, opportunity.id, days_valid=1, name="Valid")

    preview = closing.preview_close(desk.uow, opportunity.id)

    assert [q.id for q in preview.expired_quotes] == [expired.id]
