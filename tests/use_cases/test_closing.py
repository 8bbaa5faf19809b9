"""Closing a deal won or lost, the active-quote rule, closing its quotes with it, and the close preview (SPEC §4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from dealdesk.domain.errors import (
    ActiveQuotesBlockClose,
    InvalidTransition,
    NotFound,
    OpportunityNotOpen,
    WonQuoteRequiresWonClose,
)
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.services import closing
from tests.integration.builders import STANDARD_TOTAL, Desk
from tests.use_cases.support import Boom, fail_after_saving, history, seen


def test_closing_as_won_sets_the_deal_writes_one_standing_close_record_and_bumps_the_version(desk: Desk) -> None:
    opportunity = desk.opportunity(estimated_revenue="7000.00")
    competitor = desk.competitor()
    reason = desk.close_reason(Outcome.WON, "Best fit")
    last_week = desk.today - timedelta(days=7)

    result = desk.close(
        opportunity.id, close_date=last_week, close_reason_id=reason.id, competitor_id=competitor.id, description="Yes"
    )

    deal = desk.read(opportunity.id)
    assert (deal.state, deal.status_reason, deal.actual_revenue, deal.actual_close_date, deal.version) == (
        OpportunityState.WON,
        OpportunityStatus.WON,
        Decimal("7000.00"),
        last_week,
        2,
    )
    (record,) = desk.closes_of(opportunity.id)
    assert deal.standing_close is not None and deal.standing_close.id == record.id == result.close.id
    assert (record.outcome, record.close_reason_id, record.competitor_id, record.description) == (
        Outcome.WON,
        reason.id,
        competitor.id,
        "Yes",
    )
    assert (record.closed_by, record.owner_id, record.reopened_at) == (desk.actor.id, opportunity.owner_id, None)
    assert history(desk, opportunity.id)[0] == ("opportunity", "close")
    assert history(desk, record.id) == [("opportunity_close", "create")]


@pytest.mark.parametrize("status", [OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD])
def test_closing_as_lost_records_the_status_reason_and_no_revenue_by_default(
    desk: Desk, status: OpportunityStatus
) -> None:
    opportunity = desk.opportunity(estimated_revenue="7000.00")

    desk.close(opportunity.id, Outcome.LOST, status_reason=status)

    deal = desk.read(opportunity.id)
    assert (deal.state, deal.status_reason, deal.actual_revenue) == (OpportunityState.LOST, status, Decimal("0.00"))
    assert [(c.outcome, c.status_reason) for c in desk.closes_of(opportunity.id)] == [(Outcome.LOST, status)]


def test_a_won_close_defaults_to_the_won_quote_total_and_names_the_won_quote(desk: Desk) -> None:
    opportunity = desk.opportunity(estimated_revenue="9999.00")
    won = desk.active(opportunity.id)
    desk.win(won.id)

    desk.close(opportunity.id)

    assert desk.read(opportunity.id).actual_revenue == STANDARD_TOTAL
    (record,) = desk.closes_of(opportunity.id)
    assert (record.actual_revenue, record.won_quote_id) == (STANDARD_TOTAL, won.id)


def test_an_active_quote_blocks_the_close_every_blocking_quote_is_named_and_nothing_changes(desk: Desk) -> None:
    opportunity = desk.opportunity()
    first = desk.active(opportunity.id, name="First")
    second = desk.active(opportunity.id, name="Second")
    desk.draft(opportunity.id, name="Draft does not block")
    before = seen(desk, opportunity.id)

    with pytest.raises(ActiveQuotesBlockClose) as refused:
        desk.close(opportunity.id)

    assert {(q.id, q.name) for q in refused.value.blocking_quotes} == {
        (str(first.id), "First"),
        (str(second.id), "Second"),
    }
    assert seen(desk, opportunity.id) == before


def test_closing_with_close_quotes_closes_the_active_and_draft_quotes_and_the_deal_together(desk: Desk) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id, name="Active")
    draft = desk.draft(opportunity.id, name="Draft")
    already = desk.draft(opportunity.id, name="Already closed")
    desk.close_quote(already.id, QuoteStatus.CANCELED)

    result = desk.close(
        opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.LOST, status_reason=OpportunityStatus.OUT_SOLD
    )

    by_id = {q.id: q for q in desk.quotes_of(opportunity.id)}
    for quote in (active, draft):
        assert (by_id[quote.id].state, by_id[quote.id].status_reason) == (QuoteState.CLOSED, QuoteStatus.LOST)
        assert history(desk, quote.id)[0] == ("quote", "close")
    assert by_id[already.id].status_reason is QuoteStatus.CANCELED
    assert {c.id for c in result.closed_quotes} == {active.id, draft.id}
    assert desk.read(opportunity.id).status_reason is OpportunityStatus.OUT_SOLD


def test_draft_quotes_do_not_block_the_close_and_stay_drafts(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)

    result = desk.close(opportunity.id, Outcome.LOST)

    assert result.closed_quotes == ()
    assert desk.read_quote(draft.id).state is QuoteState.DRAFT


@pytest.mark.parametrize("close_quotes", [None, QuoteStatus.LOST])
def test_a_deal_with_a_won_quote_cannot_be_closed_as_lost_and_nothing_changes(
    desk: Desk, close_quotes: QuoteStatus | None
) -> None:
    opportunity = desk.opportunity()
    desk.win(desk.active(opportunity.id).id)
    desk.draft(opportunity.id)
    before = seen(desk, opportunity.id)

    with pytest.raises(WonQuoteRequiresWonClose):
        desk.close(opportunity.id, Outcome.LOST, close_quotes=close_quotes)

    assert seen(desk, opportunity.id) == before


@pytest.mark.parametrize("outcome", [Outcome.WON, Outcome.LOST])
def test_a_closed_deal_cannot_be_closed_again(desk: Desk, outcome: Outcome) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, outcome)
    before = seen(desk, opportunity.id)

    with pytest.raises(InvalidTransition):
        desk.close(opportunity.id)

    assert seen(desk, opportunity.id) == before


def test_closing_or_previewing_an_unknown_deal_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.close(uuid4())
    with pytest.raises(NotFound):
        closing.preview_close(desk.uow, uuid4())


def test_the_close_preview_names_blocking_quotes_drafts_and_the_version(desk: Desk) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id, name="Active")
    draft = desk.draft(opportunity.id, name="Draft")
    desk.close_quote(desk.draft(opportunity.id, name="Closed").id)

    preview = closing.preview_close(desk.uow, opportunity.id)

    assert preview.can_close is False
    assert [q.id for q in preview.blocking_quotes] == [active.id]
    assert [q.id for q in preview.draft_quotes] == [draft.id]
    assert preview.version == desk.read(opportunity.id).version == 6


def test_close_all_quotes_closes_every_active_and_draft_quote_and_leaves_the_deal_open(desk: Desk) -> None:
    opportunity = desk.opportunity()
    active, draft = desk.active(opportunity.id), desk.draft(opportunity.id)

    closed = closing.close_all_quotes(
        desk.uow, opportunity.id, reason=QuoteStatus.CANCELED, description="Scrapped", actor=desk.actor
    )

    assert {c.id for c in closed} == {active.id, draft.id}
    assert {q.status_reason for q in desk.quotes_of(opportunity.id)} == {QuoteStatus.CANCELED}
    assert desk.read(opportunity.id).state is OpportunityState.OPEN
    desk.close(opportunity.id)  # nothing blocks it any more


def test_close_all_quotes_on_a_closed_deal_is_refused(desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.draft(opportunity.id)
    desk.close(opportunity.id, Outcome.LOST)

    with pytest.raises(OpportunityNotOpen):
        closing.close_all_quotes(desk.uow, opportunity.id, reason=QuoteStatus.LOST, description=None, actor=desk.actor)


def test_a_close_with_quotes_that_fails_partway_writes_nothing(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    opportunity = desk.opportunity()
    desk.active(opportunity.id)
    desk.draft(opportunity.id)
    before = seen(desk, opportunity.id)
    fail_after_saving(desk, monkeypatch)

    with pytest.raises(Boom):
        desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.CANCELED)

    monkeypatch.undo()
    assert seen(desk, opportunity.id) == before
