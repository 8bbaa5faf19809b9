"""Reopening a closed deal, reviving a lost quote with it, and correcting the standing close record (SPEC §4, §11)."""

from __future__ import annotations

import pytest

from dealdesk.domain.errors import InvalidTransition, ValidationFailed, WonQuoteExists, WonQuoteRequiresWonClose
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.services import closing, reads
from tests.integration.builders import STANDARD_TOTAL, Desk, line
from tests.use_cases.support import Boom, fail_after_saving, history, seen


def test_reopening_stamps_the_close_record_clears_the_actuals_and_keeps_the_won_quote_and_contract(
    desk: Desk,
) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    result = desk.win(won.id, close_opportunity=True)

    desk.reopen(opportunity.id, status_reason=OpportunityStatus.ON_HOLD, reason="Customer asked for changes")

    deal = desk.read(opportunity.id)
    assert (deal.state, deal.status_reason, deal.actual_revenue, deal.actual_close_date) == (
        OpportunityState.OPEN,
        OpportunityStatus.ON_HOLD,
        None,
        None,
    )
    assert (deal.won_quote_id, deal.contract_id, deal.standing_close) == (won.id, result.contract.id, None)
    (record,) = desk.closes_of(opportunity.id)
    assert record.reopened_at is not None
    assert (record.reopened_by, record.reopen_reason) == (desk.actor.id, "Customer asked for changes")
    assert desk.read_quote(won.id).state is QuoteState.WON
    assert reads.get_contract(desk.uow, result.contract.id).quote_id == won.id
    assert history(desk, record.id)[0] == ("opportunity_close", "reopen")


def test_reopening_defaults_to_in_progress(desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)

    assert desk.reopen(opportunity.id).status_reason is OpportunityStatus.IN_PROGRESS


def test_an_open_deal_cannot_be_reopened_nor_reopened_to_a_closing_status(desk: Desk) -> None:
    opportunity = desk.opportunity()
    with pytest.raises(InvalidTransition):
        desk.reopen(opportunity.id)
    desk.close(opportunity.id, Outcome.LOST)
    before = seen(desk, opportunity.id)

    with pytest.raises(ValidationFailed):
        desk.reopen(opportunity.id, status_reason=OpportunityStatus.WON)

    assert seen(desk, opportunity.id) == before


def test_a_close_after_a_reopen_writes_a_new_record_and_closes_are_listed_newest_first_a_page_at_a_time(
    desk: Desk,
) -> None:
    opportunity = desk.opportunity()
    first = desk.close(opportunity.id, Outcome.LOST, description="First try").close
    desk.reopen(opportunity.id, reason="Back in play")
    second = desk.close(opportunity.id, Outcome.WON, description="Second try").close

    page = closing.list_closes(desk.uow, opportunity.id, limit=1, cursor=None)
    rest = closing.list_closes(desk.uow, opportunity.id, limit=1, cursor=page.next_cursor)

    assert [r.id for r in (*page.items, *rest.items)] == [second.id, first.id]
    assert (page.items[0].reopened_at, rest.next_cursor) == (None, None)
    assert rest.items[0].reopened_at is not None
    assert desk.read(opportunity.id).state is OpportunityState.WON


def test_a_reopened_deal_with_a_won_quote_can_only_be_won_again(desk: Desk) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id, close_opportunity=True)
    desk.reopen(opportunity.id)

    with pytest.raises(WonQuoteRequiresWonClose):
        desk.close(opportunity.id, Outcome.LOST)
    desk.close(opportunity.id, Outcome.WON)

    assert desk.read(opportunity.id).actual_revenue == STANDARD_TOTAL
    assert [r.won_quote_id for r in desk.closes_of(opportunity.id)] == [won.id, won.id]


def test_reopen_and_revive_starts_the_next_revision_of_a_lost_quote_with_its_lines(desk: Desk) -> None:
    opportunity = desk.opportunity()
    lost = desk.active(opportunity.id, lines=[line("Audit", "3", "200.00")])
    desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.LOST)

    reopened = closing.reopen_and_revive(
        desk.uow, opportunity.id, status_reason=None, reason="Second chance", actor=desk.actor, revive_quote_id=lost.id
    )

    draft = reopened.revived_quote
    assert draft is not None
    assert reopened.opportunity.state is OpportunityState.OPEN
    stored = desk.read_quote(draft.id)
    assert (stored.number, stored.revision, stored.state) == (lost.number, lost.revision + 1, QuoteState.DRAFT)
    assert [(ln.description, ln.amount) for ln in stored.lines or ()] == [
        ("Audit", line("Audit", "3", "200.00").amount)
    ]
    assert desk.read_quote(lost.id).state is QuoteState.CLOSED
    assert history(desk, draft.id) == [("quote", "revive")]


def test_a_deal_with_a_won_quote_reopens_but_revives_nothing(desk: Desk) -> None:
    opportunity = desk.opportunity()
    sibling = desk.active(opportunity.id, name="Sibling")
    desk.win(desk.active(opportunity.id, name="Chosen").id, close_opportunity=True)
    before = seen(desk, opportunity.id)

    with pytest.raises(WonQuoteExists):
        closing.reopen_and_revive(
            desk.uow, opportunity.id, status_reason=None, reason=None, actor=desk.actor, revive_quote_id=sibling.id
        )

    assert seen(desk, opportunity.id) == before


def test_a_reopen_that_fails_partway_keeps_the_deal_closed(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)
    before = seen(desk, opportunity.id)
    fail_after_saving(desk, monkeypatch)

    with pytest.raises(Boom):
        desk.reopen(opportunity.id)

    monkeypatch.undo()
    assert seen(desk, opportunity.id) == before


def test_the_standing_close_record_is_corrected_and_the_correction_is_audited(desk: Desk) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST, description="Typo").close
    competitor = desk.competitor()

    closing.correct_close(
        desk.uow, record.id, {"description": "Lost on price", "competitor_id": competitor.id}, actor=desk.actor
    )

    (stored,) = desk.closes_of(opportunity.id)
    assert (stored.description, stored.competitor_id) == ("Lost on price", competitor.id)
    entry = reads.audit_for(desk.uow, record.id, limit=10, cursor=None).items[0]
    assert entry.action == "correct"
    assert entry.before == {"description": "Typo", "competitor_id": None}
    assert entry.after == {"description": "Lost on price", "competitor_id": str(competitor.id)}


def test_a_close_record_ended_by_a_reopen_cannot_be_corrected(desk: Desk) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST, description="Original").close
    desk.reopen(opportunity.id)
    before = seen(desk, opportunity.id)

    with pytest.raises(InvalidTransition):
        closing.correct_close(desk.uow, record.id, {"description": "Rewritten"}, actor=desk.actor)

    assert seen(desk, opportunity.id) == before
