"""Project quotes through their whole life (SPEC §2, §3, §5), checked in the database afterwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Engine, select

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import (
    InvalidTransition,
    NotFound,
    OpportunityNotOpen,
    QuoteHasNoLines,
    QuoteTotalNegative,
    ValidationFailed,
    WonQuoteExists,
)
from dealdesk.domain.states import OpportunityState, Outcome, QuoteState, QuoteStatus
from dealdesk.services import quotes, reads
from tests.integration.builders import STANDARD_TOTAL, Desk, line, standard_lines
from tests.integration.db_facts import count_rows, row_of, snapshot


def _lines_in_db(engine: Engine, quote_id: object) -> list[tuple[Any, ...]]:
    ql = t.quote_lines.c
    query = select(ql.description, ql.quantity, ql.unit_price, ql.amount).where(ql.quote_id == quote_id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(ql.position))]


STANDARD_ROWS = [
    ("Design", Decimal("10.00"), Decimal("150.00"), Decimal("1500.00")),
    ("Build", Decimal("2.50"), Decimal("1000.00"), Decimal("2500.00")),
]


# ---------------------------------------------------------------------------------------------- creating
def test_a_new_quote_is_a_draft_with_its_lines_a_number_and_the_sum_of_its_lines(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()

    quote = desk.draft(opportunity.id, name="Phase 1")

    row = row_of(engine, t.quotes, quote.id)
    assert re.fullmatch(r"Q-\d{5}", row["number"])
    assert (row["revision"], row["name"], row["state"], row["status_reason"]) == (0, "Phase 1", "draft", "in_progress")
    assert (row["total_amount"], row["line_count"]) == (STANDARD_TOTAL, 2)
    assert _lines_in_db(engine, quote.id) == STANDARD_ROWS


def test_line_amounts_round_half_up_to_cents_and_discounts_lower_the_total(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()

    quote = desk.draft(
        opportunity.id,
        lines=[line("Hours", "1.5", "0.33"), line("Licence", "3", "19.99"), line("Discount", "1", "-10")],
    )

    assert [row[3] for row in _lines_in_db(engine, quote.id)] == [Decimal("0.50"), Decimal("59.97"), Decimal("-10.00")]
    assert row_of(engine, t.quotes, quote.id)["total_amount"] == Decimal("50.47")
    assert desk.read_quote(quote.id).total_amount == Decimal("50.47")


def test_every_quote_gets_its_own_number(desk: Desk, engine: Engine) -> None:
    first, second = desk.opportunity("First"), desk.opportunity("Second")

    made = [desk.draft(first.id), desk.draft(second.id), desk.draft(first.id)]

    numbers = [row_of(engine, t.quotes, q.id)["number"] for q in made]
    assert len(set(numbers)) == 3
    assert all(re.fullmatch(r"Q-\d{5}", n) for n in numbers)
    assert [int(n[2:]) for n in numbers] == sorted(int(n[2:]) for n in numbers)


def test_a_quote_for_an_unknown_opportunity_is_not_found(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    with pytest.raises(NotFound):
        quotes.create_quote(uow, uuid4(), quotes.NewQuote(name="Q", lines=standard_lines()), actor=desk.actor)
    assert count_rows(engine, t.quotes) == 0


def test_every_quote_change_bumps_its_opportunity_version(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    versions = [row_of(engine, t.opportunities, opportunity.id)["version"]]

    quote = desk.draft(opportunity.id)
    versions.append(row_of(engine, t.opportunities, opportunity.id)["version"])
    quotes.edit_quote(uow, quote.id, quotes.QuoteChanges(name="Renamed"), actor=desk.actor)
    versions.append(row_of(engine, t.opportunities, opportunity.id)["version"])
    desk.activate(quote.id)
    versions.append(row_of(engine, t.opportunities, opportunity.id)["version"])
    desk.close_quote(quote.id)
    versions.append(row_of(engine, t.opportunities, opportunity.id)["version"])

    assert versions == [1, 2, 3, 4, 5]


def test_quotes_are_listed_by_number_and_revision_with_their_lines(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    first = desk.active(opportunity.id, name="First")
    second = desk.draft(opportunity.id, name="Second")
    revision = quotes.revise_quote(uow, first.id, actor=desk.actor)

    page = quotes.list_quotes(uow, opportunity.id, limit=2, cursor=None)
    rest = quotes.list_quotes(uow, opportunity.id, limit=2, cursor=page.next_cursor)

    assert [q.id for q in page.items] == [first.id, revision.id]
    assert [q.id for q in rest.items] == [second.id]
    assert rest.next_cursor is None
    assert all(q.lines == tuple(standard_lines()) for q in [*page.items, *rest.items])


# ---------------------------------------------------------------------------------------------- editing and deleting
def test_a_draft_is_edited_and_its_total_follows_its_new_lines(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)

    quotes.edit_quote(
        uow, quote.id, quotes.QuoteChanges(name="Smaller", lines=[line("Audit", "4", "250.25")]), actor=desk.actor
    )

    row = row_of(engine, t.quotes, quote.id)
    assert (row["name"], row["total_amount"], row["line_count"], row["version"]) == (
        "Smaller",
        Decimal("1001.00"),
        1,
        2,
    )
    assert _lines_in_db(engine, quote.id) == [("Audit", Decimal("4.00"), Decimal("250.25"), Decimal("1001.00"))]
    entry = reads.audit_for(uow, quote.id, limit=10, cursor=None).items[0]
    assert entry.action == "edit"
    assert entry.before is not None and entry.before["total_amount"] == "4000.00"
    assert entry.after is not None and entry.after["total_amount"] == "1001.00"


@pytest.mark.parametrize("state", ["active", "won", "closed"])
def test_only_a_draft_can_be_edited(desk: Desk, uow: SqlUnitOfWork, engine: Engine, state: str) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    if state == "won":
        desk.win(quote.id)
    elif state == "closed":
        desk.close_quote(quote.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition) as refused:
        quotes.edit_quote(uow, quote.id, quotes.QuoteChanges(name="Changed"), actor=desk.actor)

    assert refused.value.code == "invalid_transition"
    assert snapshot(engine) == before


def test_deleting_a_draft_removes_it_and_its_lines_and_is_audited(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    kept = desk.draft(opportunity.id, name="Kept")
    doomed = desk.draft(opportunity.id, name="Doomed")

    quotes.delete_quote(uow, doomed.id, actor=desk.actor)

    with pytest.raises(NotFound):
        desk.read_quote(doomed.id)
    assert count_rows(engine, t.quotes, t.quotes.c.id == doomed.id) == 0
    assert count_rows(engine, t.quote_lines, t.quote_lines.c.quote_id == doomed.id) == 0
    assert count_rows(engine, t.quote_lines, t.quote_lines.c.quote_id == kept.id) == 2
    (deletion, _) = reads.audit_for(uow, doomed.id, limit=10, cursor=None).items
    assert (deletion.action, deletion.after) == ("delete", None)
    assert deletion.before is not None and deletion.before["name"] == "Doomed"


def test_an_active_quote_cannot_be_deleted(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        quotes.delete_quote(uow, quote.id, actor=desk.actor)

    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- activating
def test_activating_a_draft_makes_it_active_and_open(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)

    desk.activate(quote.id)

    row = row_of(engine, t.quotes, quote.id)
    assert (row["state"], row["status_reason"]) == ("active", "open")
    entry = reads.audit_for(uow, quote.id, limit=10, cursor=None).items[0]
    assert (entry.action, entry.before, entry.after) == (
        "activate",
        {"state": "draft", "status_reason": "in_progress"},
        {"state": "active", "status_reason": "open"},
    )


def test_a_quote_without_lines_cannot_be_activated(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id, lines=[])
    before = snapshot(engine)

    with pytest.raises(QuoteHasNoLines) as refused:
        desk.activate(quote.id)

    assert refused.value.code == "quote_has_no_lines"
    assert snapshot(engine) == before


def test_a_quote_with_a_negative_total_cannot_be_activated_but_a_zero_total_can(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    negative = desk.draft(opportunity.id, lines=[line("Work", "1", "100"), line("Discount", "1", "-100.01")])
    free = desk.draft(opportunity.id, lines=[line("Work", "1", "100"), line("Discount", "1", "-100")])

    with pytest.raises(QuoteTotalNegative) as refused:
        desk.activate(negative.id)
    desk.activate(free.id)

    assert refused.value.code == "quote_total_negative"
    assert row_of(engine, t.quotes, negative.id)["state"] == "draft"
    assert row_of(engine, t.quotes, free.id)["state"] == "active"


def test_no_quote_can_be_activated_once_the_opportunity_has_a_won_quote(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)
    later = quotes.copy_quote(uow, won.id, actor=desk.actor)

    with pytest.raises(WonQuoteExists) as refused:
        desk.activate(later.id)

    assert refused.value.code == "won_quote_exists"
    assert desk.read_quote(later.id).state is QuoteState.DRAFT


@pytest.mark.parametrize("state", ["active", "closed"])
def test_only_a_draft_can_be_activated(desk: Desk, engine: Engine, state: str) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    if state == "closed":
        desk.close_quote(quote.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        desk.activate(quote.id)

    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- closing one quote
@pytest.mark.parametrize("reason", [QuoteStatus.LOST, QuoteStatus.CANCELED])
@pytest.mark.parametrize("activate", [False, True], ids=["draft", "active"])
def test_a_draft_or_active_quote_closes_as_lost_or_canceled_on_the_date_given(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, reason: QuoteStatus, activate: bool
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id) if activate else desk.draft(opportunity.id)
    yesterday = desk.today.fromordinal(desk.today.toordinal() - 1)

    quotes.close_quote(
        uow, quote.id, reason=reason, close_date=yesterday, description="Customer chose another", actor=desk.actor
    )

    row = row_of(engine, t.quotes, quote.id)
    assert (row["state"], row["status_reason"], row["closed_on"], row["close_description"]) == (
        "closed",
        reason.value,
        yesterday,
        "Customer chose another",
    )


def test_a_quote_closed_without_a_date_is_closed_today(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)

    desk.close_quote(quote.id)

    assert row_of(engine, t.quotes, quote.id)["closed_on"] == desk.today


def test_a_quote_cannot_be_closed_in_the_future_or_as_revised(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as future:
        quotes.close_quote(
            uow, quote.id, reason=QuoteStatus.LOST, close_date=desk.tomorrow, description=None, actor=desk.actor
        )
    with pytest.raises(ValidationFailed) as revised:
        quotes.close_quote(
            uow, quote.id, reason=QuoteStatus.REVISED, close_date=None, description=None, actor=desk.actor
        )

    assert [e.field for e in future.value.errors] == ["close_date"]
    assert [e.field for e in revised.value.errors] == ["status_reason"]
    assert snapshot(engine) == before


@pytest.mark.parametrize("state", ["won", "closed"])
def test_won_and_closed_quotes_cannot_be_closed_again(desk: Desk, engine: Engine, state: str) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    if state == "won":
        desk.win(quote.id)
    else:
        desk.close_quote(quote.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        desk.close_quote(quote.id, QuoteStatus.CANCELED)

    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- revising and copying
def test_revising_an_active_quote_closes_it_as_revised_and_drafts_the_next_revision(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    original = desk.active(opportunity.id, name="Offer")

    first = quotes.revise_quote(uow, original.id, actor=desk.actor)
    desk.activate(first.id)
    second = quotes.revise_quote(uow, first.id, actor=desk.actor)

    old, mid, new = (row_of(engine, t.quotes, q.id) for q in (original, first, second))
    assert (old["state"], old["status_reason"], old["closed_on"]) == ("closed", "revised", desk.today)
    assert (mid["state"], mid["status_reason"]) == ("closed", "revised")
    assert (new["state"], new["status_reason"], new["name"]) == ("draft", "in_progress", "Offer")
    assert old["number"] == mid["number"] == new["number"]
    assert [old["revision"], mid["revision"], new["revision"]] == [0, 1, 2]
    assert _lines_in_db(engine, second.id) == STANDARD_ROWS
    assert new["total_amount"] == STANDARD_TOTAL


def test_only_an_active_quote_can_be_revised(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        quotes.revise_quote(uow, draft.id, actor=desk.actor)

    assert snapshot(engine) == before


@pytest.mark.parametrize("state", ["draft", "active", "closed", "won"])
def test_copying_a_quote_in_any_state_makes_a_draft_with_a_new_number_and_the_same_lines(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, state: str
) -> None:
    opportunity = desk.opportunity()
    source = desk.draft(opportunity.id, name="Offer")
    if state != "draft":
        desk.activate(source.id)
    if state == "closed":
        desk.close_quote(source.id)
    if state == "won":
        desk.win(source.id)

    copy = quotes.copy_quote(uow, source.id, actor=desk.actor)

    original, copied = row_of(engine, t.quotes, source.id), row_of(engine, t.quotes, copy.id)
    assert copied["number"] != original["number"]
    assert re.fullmatch(r"Q-\d{5}", copied["number"])
    assert (copied["revision"], copied["state"], copied["name"], copied["total_amount"]) == (
        0,
        "draft",
        "Offer",
        STANDARD_TOTAL,
    )
    assert _lines_in_db(engine, copy.id) == STANDARD_ROWS
    assert original["state"] == state


# ---------------------------------------------------------------------------------------------- winning


def test_winning_with_close_opportunity_closes_the_deal_as_won_for_the_quote_total(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity(estimated_revenue="9999.00")
    competitor = desk.competitor()
    chosen = desk.active(opportunity.id)

    result = desk.win(chosen.id, close_opportunity=True, competitor_id=competitor.id, description="Signed")

    opp = row_of(engine, t.opportunities, opportunity.id)
    assert (opp["state"], opp["status_reason"], opp["actual_revenue"], opp["actual_close_date"]) == (
        "won",
        "won",
        STANDARD_TOTAL,
        desk.today,
    )
    (record,) = desk.closes_of(opportunity.id)
    assert result.close is not None and record.id == result.close.id
    assert (record.outcome, record.actual_revenue, record.won_quote_id, record.competitor_id) == (
        Outcome.WON,
        STANDARD_TOTAL,
        chosen.id,
        competitor.id,
    )
    assert (record.owner_id, record.account_id, record.closed_by, record.reopened_at) == (
        opportunity.owner_id,
        opportunity.account_id,
        desk.actor.id,
        None,
    )
    assert reads.get_contract(uow, result.contract.id).total_amount == STANDARD_TOTAL


def test_a_second_quote_cannot_be_won_whatever_its_state(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    """won_quote_exists is checked before the quote's own state: even a draft copy is refused with it."""
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)
    copy = quotes.copy_quote(uow, won.id, actor=desk.actor)
    before = snapshot(engine)

    with pytest.raises(WonQuoteExists):
        desk.win(copy.id)
    with pytest.raises(WonQuoteExists):
        desk.win(won.id)

    assert snapshot(engine) == before


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_only_an_active_quote_can_be_won(desk: Desk, engine: Engine, state: str) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)
    if state == "closed":
        desk.close_quote(quote.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        desk.win(quote.id)

    assert snapshot(engine) == before


def test_a_win_dated_in_the_future_or_naming_an_unknown_competitor_is_refused(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as future:
        desk.win(quote.id, close_date=desk.tomorrow)
    with pytest.raises(ValidationFailed) as unknown:
        desk.win(quote.id, competitor_id=uuid4(), close_opportunity=True)

    assert [e.field for e in future.value.errors] == ["close_date"]
    assert [e.field for e in unknown.value.errors] == ["competitor_id"]
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- a closed deal
@pytest.mark.parametrize("outcome", [Outcome.WON, Outcome.LOST])
def test_quotes_of_a_closed_opportunity_cannot_change_but_its_drafts_can_be_closed_or_deleted(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, outcome: Outcome
) -> None:
    opportunity = desk.opportunity()
    to_close = desk.draft(opportunity.id, name="To close")
    to_delete = desk.draft(opportunity.id, name="To delete")
    closed = desk.active(opportunity.id, name="Closed before")
    desk.close_quote(closed.id)
    desk.close(opportunity.id, outcome)
    before = snapshot(engine)

    refusals: dict[str, Callable[[], object]] = {
        "create": lambda: desk.draft(opportunity.id),
        "edit": lambda: quotes.edit_quote(uow, to_close.id, quotes.QuoteChanges(name="X"), actor=desk.actor),
        "activate": lambda: desk.activate(to_close.id),
        "revise": lambda: quotes.revise_quote(uow, closed.id, actor=desk.actor),
        "copy": lambda: quotes.copy_quote(uow, closed.id, actor=desk.actor),
        "win": lambda: desk.win(to_close.id),
    }
    for action, attempt in refusals.items():
        with pytest.raises(OpportunityNotOpen) as refused:
            attempt()
        assert refused.value.code == "opportunity_not_open", action
    assert snapshot(engine) == before

    desk.close_quote(to_close.id, QuoteStatus.CANCELED)
    quotes.delete_quote(uow, to_delete.id, actor=desk.actor)

    assert row_of(engine, t.quotes, to_close.id)["status_reason"] == "canceled"
    assert count_rows(engine, t.quotes, t.quotes.c.id == to_delete.id) == 0
    assert desk.read(opportunity.id).state is OpportunityState(outcome.value)


def test_quote_actions_on_an_unknown_quote_are_not_found(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    missing = uuid4()
    before = snapshot(engine)

    attempts: list[Callable[[], object]] = [
        lambda: desk.activate(missing),
        lambda: desk.close_quote(missing),
        lambda: desk.win(missing),
        lambda: quotes.revise_quote(uow, missing, actor=desk.actor),
        lambda: quotes.copy_quote(uow, missing, actor=desk.actor),
        lambda: quotes.delete_quote(uow, missing, actor=desk.actor),
        lambda: quotes.edit_quote(uow, missing, quotes.QuoteChanges(name="X"), actor=desk.actor),
        lambda: desk.read_quote(missing),
        lambda: quotes.list_quotes(uow, missing, limit=10, cursor=None),
        lambda: reads.get_contract(uow, missing),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert snapshot(engine) == before
