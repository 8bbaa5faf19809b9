"""The quote life cycle and winning a quote (SPEC §5): drafts, activation, revisions, copies, wins and contracts."""

from __future__ import annotations

import re
from decimal import Decimal
from uuid import uuid4

import pytest

from dealdesk.domain.errors import (
    InvalidTransition,
    NotFound,
    OpportunityNotOpen,
    QuoteHasNoLines,
    ValidationFailed,
    WonQuoteExists,
)
from dealdesk.domain.records import ContractLine
from dealdesk.domain.states import ContractState, OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.services import quotes, reads
from tests.integration.builders import STANDARD_TOTAL, Desk, line
from tests.use_cases.support import Boom, fail_after_saving, history, seen


def test_a_new_quote_is_a_draft_with_a_number_its_lines_and_their_sum(desk: Desk) -> None:
    opportunity = desk.opportunity()

    quote = desk.read_quote(desk.draft(opportunity.id, name="Phase 1").id)

    assert re.fullmatch(r"Q-\d{5}", quote.number)
    assert (quote.revision, quote.name, quote.state, quote.status_reason) == (
        0,
        "Phase 1",
        QuoteState.DRAFT,
        QuoteStatus.IN_PROGRESS,
    )
    assert (quote.total_amount, quote.line_count, len(quote.lines or ())) == (STANDARD_TOTAL, 2, 2)
    assert desk.draft(opportunity.id).number != quote.number


def test_quotes_are_listed_by_number_and_revision_with_their_lines_a_page_at_a_time(desk: Desk) -> None:
    opportunity = desk.opportunity()
    first = desk.active(opportunity.id, name="First")
    second = desk.draft(opportunity.id, name="Second")
    revised = quotes.revise_quote(desk.uow, first.id, actor=desk.actor)

    page = quotes.list_quotes(desk.uow, opportunity.id, limit=2, cursor=None)
    rest = quotes.list_quotes(desk.uow, opportunity.id, limit=2, cursor=page.next_cursor)

    assert [q.id for q in (*page.items, *rest.items)] == [first.id, revised.id, second.id]
    assert rest.next_cursor is None
    assert all(q.lines is not None and len(q.lines) == 2 for q in page.items)


def test_a_draft_is_edited_and_its_total_follows_its_new_lines(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)

    quotes.edit_quote(
        desk.uow, draft.id, quotes.QuoteChanges(name="Renamed", lines=[line("Only", "2", "50.00")]), actor=desk.actor
    )

    quote = desk.read_quote(draft.id)
    assert (quote.name, quote.total_amount, quote.line_count, quote.version) == ("Renamed", Decimal("100.00"), 1, 2)
    assert history(desk, draft.id)[0] == ("quote", "edit")


def test_only_a_draft_can_be_edited_or_deleted(desk: Desk) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id)
    before = seen(desk, opportunity.id)

    with pytest.raises(InvalidTransition):
        quotes.edit_quote(desk.uow, active.id, quotes.QuoteChanges(name="No"), actor=desk.actor)
    with pytest.raises(InvalidTransition):
        quotes.delete_quote(desk.uow, active.id, actor=desk.actor)

    assert seen(desk, opportunity.id) == before


def test_deleting_a_draft_removes_it_and_is_audited(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)

    quotes.delete_quote(desk.uow, draft.id, actor=desk.actor)

    assert desk.quotes_of(opportunity.id) == []
    with pytest.raises(NotFound):
        desk.read_quote(draft.id)
    assert history(desk, draft.id)[0] == ("quote", "delete")


def test_a_quote_without_lines_cannot_be_activated(desk: Desk) -> None:
    opportunity = desk.opportunity()
    empty = desk.draft(opportunity.id, lines=[])

    with pytest.raises(QuoteHasNoLines):
        desk.activate(empty.id)

    assert desk.read_quote(empty.id).state is QuoteState.DRAFT


def test_revising_an_active_quote_closes_it_as_revised_and_drafts_the_next_revision_with_its_lines(
    desk: Desk,
) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id)

    draft = quotes.revise_quote(desk.uow, active.id, actor=desk.actor)

    old, new = desk.read_quote(active.id), desk.read_quote(draft.id)
    assert (old.state, old.status_reason) == (QuoteState.CLOSED, QuoteStatus.REVISED)
    assert (new.number, new.revision, new.state) == (active.number, 1, QuoteState.DRAFT)
    assert new.lines == old.lines and new.total_amount == STANDARD_TOTAL


def test_copying_a_quote_makes_a_draft_with_a_new_number_and_the_same_lines(desk: Desk) -> None:
    opportunity = desk.opportunity()
    original = desk.active(opportunity.id)

    copied = desk.read_quote(quotes.copy_quote(desk.uow, original.id, actor=desk.actor).id)

    assert copied.number != original.number
    assert (copied.revision, copied.state, copied.lines) == (0, QuoteState.DRAFT, desk.read_quote(original.id).lines)


def test_winning_a_quote_closes_its_siblings_as_lost_and_starts_a_draft_contract(desk: Desk) -> None:
    opportunity = desk.opportunity()
    chosen = desk.active(opportunity.id, name="Chosen", lines=[line("Build", "3", "333.33"), line("Fee", "1", "-9.99")])
    rival = desk.active(opportunity.id, name="Rival")
    idea = desk.draft(opportunity.id, name="Idea")
    dropped = desk.draft(opportunity.id, name="Dropped")
    desk.close_quote(dropped.id, QuoteStatus.CANCELED)

    result = desk.win(chosen.id, description="Signed")

    states = {q.id: (q.state, q.status_reason) for q in desk.quotes_of(opportunity.id)}
    assert states == {
        chosen.id: (QuoteState.WON, QuoteStatus.WON),
        rival.id: (QuoteState.CLOSED, QuoteStatus.LOST),
        idea.id: (QuoteState.CLOSED, QuoteStatus.LOST),
        dropped.id: (QuoteState.CLOSED, QuoteStatus.CANCELED),
    }
    deal = desk.read(opportunity.id)
    assert (deal.state, deal.won_quote_id, deal.contract_id) == (OpportunityState.OPEN, chosen.id, result.contract.id)
    assert desk.closes_of(opportunity.id) == []
    contract = reads.get_contract(desk.uow, result.contract.id)
    assert (contract.opportunity_id, contract.quote_id, contract.state, contract.total_amount) == (
        opportunity.id,
        chosen.id,
        ContractState.DRAFT,
        Decimal("990.00"),
    )
    assert contract.lines == (
        ContractLine("Build", Decimal("3.00"), Decimal("333.33"), Decimal("999.99")),
        ContractLine("Fee", Decimal("1.00"), Decimal("-9.99"), Decimal("-9.99")),
    )


def test_winning_with_close_opportunity_closes_the_deal_as_won_for_the_quote_total(desk: Desk) -> None:
    opportunity = desk.opportunity(estimated_revenue="9999.00")
    chosen = desk.active(opportunity.id)

    result = desk.win(chosen.id, close_opportunity=True)

    deal = desk.read(opportunity.id)
    assert (deal.state, deal.status_reason, deal.actual_revenue) == (
        OpportunityState.WON,
        OpportunityStatus.WON,
        STANDARD_TOTAL,
    )
    (record,) = desk.closes_of(opportunity.id)
    assert result.close is not None and record.id == result.close.id
    assert (record.outcome, record.won_quote_id) == (Outcome.WON, chosen.id)


def test_once_a_quote_is_won_no_other_is_won_or_activated(desk: Desk) -> None:
    opportunity = desk.opportunity()
    first = desk.active(opportunity.id)
    desk.win(first.id)
    later = quotes.copy_quote(desk.uow, first.id, actor=desk.actor)
    before = seen(desk, opportunity.id)

    with pytest.raises(WonQuoteExists):
        desk.activate(later.id)
    with pytest.raises((WonQuoteExists, InvalidTransition)):
        desk.win(later.id)

    assert seen(desk, opportunity.id) == before


def test_a_win_dated_in_the_future_or_naming_an_unknown_competitor_is_refused(desk: Desk) -> None:
    opportunity = desk.opportunity()
    chosen = desk.active(opportunity.id)
    before = seen(desk, opportunity.id)

    with pytest.raises(ValidationFailed):
        desk.win(chosen.id, close_date=desk.tomorrow)
    with pytest.raises(ValidationFailed):
        desk.win(chosen.id, competitor_id=uuid4())

    assert seen(desk, opportunity.id) == before


def test_a_win_that_fails_partway_writes_no_quote_contract_or_close(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunity = desk.opportunity()
    chosen = desk.active(opportunity.id)
    desk.active(opportunity.id)
    before = seen(desk, opportunity.id)
    fail_after_saving(desk, monkeypatch)

    with pytest.raises(Boom):
        desk.win(chosen.id, close_opportunity=True)

    monkeypatch.undo()
    assert seen(desk, opportunity.id) == before


def test_every_quote_change_bumps_its_deal_version(desk: Desk) -> None:
    opportunity = desk.opportunity()
    versions = [desk.read(opportunity.id).version]
    draft = desk.draft(opportunity.id)
    versions.append(desk.read(opportunity.id).version)
    desk.activate(draft.id)
    versions.append(desk.read(opportunity.id).version)
    desk.close_quote(draft.id)
    versions.append(desk.read(opportunity.id).version)

    assert versions == [1, 2, 3, 4]


def test_quotes_of_a_closed_deal_cannot_be_added_or_activated(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)
    desk.close(opportunity.id, Outcome.LOST)

    with pytest.raises(OpportunityNotOpen):
        desk.draft(opportunity.id)
    with pytest.raises(OpportunityNotOpen):
        desk.activate(draft.id)


def test_quote_actions_on_an_unknown_quote_are_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.activate(uuid4())
    with pytest.raises(NotFound):
        desk.read_quote(uuid4())
