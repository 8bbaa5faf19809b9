"""Quote expiry and reopen-and-revive (SPEC §11): expired is derived from `valid_until` and today, never a state;
a reopen can start a new draft revision of a lost or canceled quote in the same step."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.states import OpportunityState, QuoteState, QuoteStatus

if TYPE_CHECKING:
    from tests.unit.conftest import Deals


def _valid_until(deals: Deals, opportunity: Opportunity, quote: Quote, day: date) -> None:
    opportunity.edit_quote(quote.id, valid_until=day, set_valid_until=True, at=deals.now())


def _expired_draft(deals: Deals, opportunity: Opportunity) -> Quote:
    quote = deals.draft(opportunity)
    _valid_until(deals, opportunity, quote, deals.today - timedelta(days=1))
    return quote


def _expired_active(deals: Deals, opportunity: Opportunity) -> Quote:
    quote = deals.draft(opportunity)
    _valid_until(deals, opportunity, quote, deals.today)
    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())
    return quote


# ---------------------------------------- expired is derived
def test_a_quote_valid_until_yesterday_is_expired_and_one_valid_until_today_is_not(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)

    _valid_until(deals, opportunity, quote, deals.today)
    assert not quote.is_expired(deals.today)
    assert quote.is_expired(deals.today + timedelta(days=1))
    _valid_until(deals, opportunity, quote, deals.today - timedelta(days=1))
    assert quote.is_expired(deals.today)


def test_a_quote_without_valid_until_never_expires(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    _valid_until(deals, opportunity, quote, None)  # type: ignore[arg-type]

    assert not quote.is_expired(date.max)


def test_an_active_quote_expires_without_changing_state(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = _expired_active(deals, opportunity)

    assert quote.is_expired(deals.today + timedelta(days=1))
    assert (quote.state, quote.status_reason) == (QuoteState.ACTIVE, QuoteStatus.OPEN)


@pytest.mark.parametrize("end", ["won", "lost", "canceled"])
def test_a_won_or_closed_quote_stays_what_it_is_and_is_never_expired(deals: Deals, end: str) -> None:
    opportunity = deals.opportunity()
    quote = deals.won(opportunity) if end == "won" else deals.closed(opportunity, reason=QuoteStatus(end))
    later = date(2030, 1, 1)
    assert quote.valid_until is not None and quote.valid_until < later

    assert not quote.is_expired(later)
    assert quote.status_reason is QuoteStatus(end)
    assert opportunity.expired_quotes(later) == []


def test_the_close_preview_lists_the_expired_quotes_only(deals: Deals) -> None:
    opportunity = deals.opportunity()
    expired_draft = _expired_draft(deals, opportunity)
    deals.draft(opportunity)  # valid until July

    preview = opportunity.preview_close(today=deals.today)

    assert [q.id for q in preview.expired_quotes] == [expired_draft.id]


# ---------------------------------------- activating and winning
def test_activating_an_expired_draft_is_quote_expired_and_changes_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = _expired_draft(deals, opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert refused.value.code == "quote_expired"
    assert "valid_until" in refused.value.detail
    assert deals.snapshot(opportunity) == before


def test_a_draft_valid_until_today_can_be_activated(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    _valid_until(deals, opportunity, quote, deals.today)

    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert quote.state is QuoteState.ACTIVE


def test_activating_checks_lines_and_total_before_expiry(deals: Deals) -> None:
    opportunity = deals.opportunity()
    empty = deals.draft(opportunity, lines=[])
    _valid_until(deals, opportunity, empty, deals.today - timedelta(days=1))

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(empty.id, today=deals.today, at=deals.now())

    assert refused.value.code == "quote_has_no_lines"


def test_winning_an_expired_quote_needs_accept_expired(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = _expired_active(deals, opportunity)
    deals.today = deals.today + timedelta(days=1)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.win(opportunity, quote)
    assert refused.value.code == "quote_expired"
    assert deals.snapshot(opportunity) == before

    deals.win(opportunity, quote, accept_expired=True)
    assert quote.state is QuoteState.WON
    assert not quote.is_expired(deals.today)


def test_winning_checks_won_quote_exists_before_expiry(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = _expired_active(deals, opportunity)
    other = deals.active(opportunity)
    deals.today = deals.today + timedelta(days=1)
    deals.win(opportunity, other)

    with pytest.raises(DomainError) as refused:
        deals.win(opportunity, quote)

    assert refused.value.code == "won_quote_exists"


# ---------------------------------------- reopen and revive
def test_reopen_and_revive_starts_the_next_revision_of_a_lost_quote(deals: Deals) -> None:
    opportunity = deals.opportunity()
    first = deals.active(opportunity)
    revision = deals.revise(opportunity, first)  # rev 1
    opportunity.close_quote(revision.id, QuoteStatus.LOST, on=deals.today, description=None, at=deals.now())
    deals.close_lost(opportunity)

    revived = deals.reopen_and_revive(opportunity, revision)

    assert opportunity.state is OpportunityState.OPEN
    assert (revived.number, revived.revision) == (first.number, 2)
    assert (revived.state, revived.status_reason) == (QuoteState.DRAFT, QuoteStatus.IN_PROGRESS)
    assert revived.lines == revision.lines and revived.name == revision.name
    assert (revision.state, revision.status_reason) == (QuoteState.CLOSED, QuoteStatus.LOST)
    actions = [(c.record_type, c.action) for c in opportunity.changes]
    assert ("quote", "revive") in actions and ("opportunity", "reopen") in actions


def test_revive_takes_the_highest_revision_of_the_number_plus_one(deals: Deals) -> None:
    opportunity = deals.opportunity()
    first = deals.active(opportunity)
    second = deals.revise(opportunity, first)
    opportunity.close_quote(second.id, QuoteStatus.CANCELED, on=deals.today, description=None, at=deals.now())
    deals.close_lost(opportunity)

    again = deals.reopen_and_revive(opportunity, second)  # rev 2
    opportunity.close_quote(again.id, QuoteStatus.LOST, on=deals.today, description=None, at=deals.now())
    deals.close_lost(opportunity)

    revived = deals.reopen_and_revive(opportunity, second)  # rev 1 again, while rev 2 exists

    assert (revived.number, revived.revision) == (first.number, 3)


@pytest.mark.parametrize("which", ["revised", "draft", "unknown"])
def test_revive_of_anything_but_a_lost_or_canceled_quote_of_the_deal_is_a_422_on_revive_quote_id(
    deals: Deals, which: str
) -> None:
    opportunity = deals.opportunity()
    first = deals.active(opportunity)
    draft = deals.revise(opportunity, first)
    deals.close_lost(opportunity)
    target = {"revised": first, "draft": draft, "unknown": deals.draft(deals.opportunity())}[which]
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.reopen_and_revive(opportunity, target)

    assert [e.field for e in refused.value.errors] == ["revive_quote_id"]
    assert deals.snapshot(opportunity) == before
    assert opportunity.state is OpportunityState.LOST


def test_revive_on_a_deal_with_a_won_quote_is_won_quote_exists_and_leaves_it_closed(deals: Deals) -> None:
    opportunity = deals.opportunity()
    lost = deals.active(opportunity)
    deals.won(opportunity)  # closes `lost` as lost
    deals.close_won(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.reopen_and_revive(opportunity, lost)

    assert refused.value.code == "won_quote_exists"
    assert deals.snapshot(opportunity) == before
    assert opportunity.state is OpportunityState.WON


def test_revive_on_an_open_deal_is_invalid_transition(deals: Deals) -> None:
    opportunity = deals.opportunity()
    lost = deals.closed(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.reopen_and_revive(opportunity, lost)

    assert refused.value.code == "invalid_transition"
