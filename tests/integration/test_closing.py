"""Closing a deal (SPEC §4): preview, the active-quote rule, closing with its quotes, reopening and corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import (
    ActiveQuotesBlockClose,
    Forbidden,
    InvalidTransition,
    NotFound,
    OpportunityNotOpen,
    QuoteRef,
    ValidationFailed,
    WonQuoteRequiresWonClose,
)
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.services import closing, quotes, reads
from tests.integration.builders import STANDARD_TOTAL, Desk, FixedClock
from tests.integration.db_facts import count_rows, row_of, snapshot


# ---------------------------------------------------------------------------------------------- preview
def test_the_close_preview_names_blocking_quotes_drafts_and_the_version(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id, name="Active")
    draft = desk.draft(opportunity.id, name="Draft")
    closed = desk.draft(opportunity.id, name="Closed")
    desk.close_quote(closed.id)

    preview = closing.preview_close(uow, opportunity.id)

    assert preview.can_close is False
    assert [q.id for q in preview.blocking_quotes] == [active.id]
    assert [q.id for q in preview.draft_quotes] == [draft.id]
    assert preview.won_quote is None
    assert preview.version == desk.read(opportunity.id).version == 6


def test_the_close_preview_allows_closing_once_nothing_is_active_and_shows_the_won_quote(
    desk: Desk, uow: SqlUnitOfWork
) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)

    preview = closing.preview_close(uow, opportunity.id)

    assert preview.can_close is True
    assert preview.blocking_quotes == ()
    assert preview.won_quote is not None and preview.won_quote.id == won.id


def test_a_closed_opportunity_previews_as_not_closable(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)

    assert closing.preview_close(uow, opportunity.id).can_close is False


def test_previewing_an_unknown_opportunity_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound):
        closing.preview_close(uow, uuid4())


# ---------------------------------------------------------------------------------------------- close won / lost
def test_closing_as_won_sets_the_deal_writes_one_close_record_and_bumps_the_version(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity(estimated_revenue="7000.00")
    competitor = desk.competitor()
    reason = desk.close_reason(Outcome.WON, "Best fit")
    last_week = desk.today - timedelta(days=7)

    result = desk.close(
        opportunity.id,
        Outcome.WON,
        close_date=last_week,
        close_reason_id=reason.id,
        competitor_id=competitor.id,
        description="Signed at last",
    )

    row = row_of(engine, t.opportunities, opportunity.id)
    assert (row["state"], row["status_reason"], row["actual_revenue"], row["actual_close_date"], row["version"]) == (
        "won",
        "won",
        Decimal("7000.00"),
        last_week,
        2,
    )
    (record,) = desk.closes_of(opportunity.id)
    assert record.id == result.close.id
    assert (record.outcome, record.status_reason, record.close_date, record.actual_revenue, record.currency) == (
        Outcome.WON,
        OpportunityStatus.WON,
        last_week,
        Decimal("7000.00"),
        "USD",
    )
    assert (record.close_reason_id, record.competitor_id, record.description, record.won_quote_id) == (
        reason.id,
        competitor.id,
        "Signed at last",
        None,
    )
    assert (record.owner_id, record.account_id, record.closed_by, record.reopened_at) == (
        opportunity.owner_id,
        opportunity.account_id,
        desk.actor.id,
        None,
    )
    actions = {(e.record_type, e.action) for e in reads.audit_for(uow, opportunity.id, limit=50, cursor=None).items}
    assert ("opportunity", "close") in actions
    assert [e.action for e in reads.audit_for(uow, record.id, limit=50, cursor=None).items] == ["create"]


@pytest.mark.parametrize("status", [OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD])
def test_closing_as_lost_records_the_reason_and_no_revenue_by_default(
    desk: Desk, engine: Engine, status: OpportunityStatus
) -> None:
    opportunity = desk.opportunity(estimated_revenue="7000.00")

    desk.close(opportunity.id, Outcome.LOST, status_reason=status)

    row = row_of(engine, t.opportunities, opportunity.id)
    assert (row["state"], row["status_reason"], row["actual_revenue"]) == ("lost", status.value, Decimal("0.00"))
    (record,) = desk.closes_of(opportunity.id)
    assert (record.outcome, record.status_reason, record.actual_revenue) == (Outcome.LOST, status, Decimal("0.00"))


def test_the_actual_revenue_given_overrides_the_default(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity(estimated_revenue="7000.00")

    desk.close(opportunity.id, Outcome.WON, actual_revenue=Decimal("6500.50"))

    assert row_of(engine, t.opportunities, opportunity.id)["actual_revenue"] == Decimal("6500.50")
    assert desk.closes_of(opportunity.id)[0].actual_revenue == Decimal("6500.50")


def test_a_won_close_defaults_to_the_won_quote_total_and_names_the_won_quote(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity(estimated_revenue="9999.00")
    won = desk.active(opportunity.id)
    desk.win(won.id)

    desk.close(opportunity.id, Outcome.WON)

    assert row_of(engine, t.opportunities, opportunity.id)["actual_revenue"] == STANDARD_TOTAL
    (record,) = desk.closes_of(opportunity.id)
    assert (record.actual_revenue, record.won_quote_id) == (STANDARD_TOTAL, won.id)


def test_an_active_quote_blocks_the_close_and_every_blocking_quote_is_named(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    first = desk.active(opportunity.id, name="First")
    second = desk.active(opportunity.id, name="Second")
    desk.draft(opportunity.id, name="Draft does not block")
    before = snapshot(engine)

    with pytest.raises(ActiveQuotesBlockClose) as refused:
        desk.close(opportunity.id, Outcome.WON)

    numbers = {q.id: row_of(engine, t.quotes, q.id)["number"] for q in (first, second)}
    assert refused.value.code == "active_quotes_block_close"
    assert sorted(refused.value.blocking_quotes, key=lambda q: q.number) == [
        QuoteRef(id=str(first.id), number=numbers[first.id], revision=0, name="First"),
        QuoteRef(id=str(second.id), number=numbers[second.id], revision=0, name="Second"),
    ]
    assert snapshot(engine) == before


def test_draft_quotes_do_not_block_the_close_and_stay_draft(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)

    result = desk.close(opportunity.id, Outcome.LOST)

    assert result.closed_quotes == ()
    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "lost"
    assert row_of(engine, t.quotes, draft.id)["state"] == "draft"


@pytest.mark.parametrize("reason", [QuoteStatus.LOST, QuoteStatus.CANCELED])
def test_closing_with_close_quotes_closes_active_and_draft_quotes_and_the_deal_in_one_transaction(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, reason: QuoteStatus
) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id, name="Active")
    draft = desk.draft(opportunity.id, name="Draft")
    already = desk.draft(opportunity.id, name="Already closed")
    desk.close_quote(already.id, QuoteStatus.CANCELED)

    result = desk.close(opportunity.id, Outcome.LOST, close_quotes=reason, status_reason=OpportunityStatus.OUT_SOLD)

    for quote in (active, draft):
        row = row_of(engine, t.quotes, quote.id)
        assert (row["state"], row["status_reason"], row["closed_on"]) == ("closed", reason.value, desk.today)
    assert row_of(engine, t.quotes, already.id)["status_reason"] == "canceled"
    assert {(c.id, c.previous_state, c.state, c.status_reason) for c in result.closed_quotes} == {
        (active.id, QuoteState.ACTIVE, QuoteState.CLOSED, reason),
        (draft.id, QuoteState.DRAFT, QuoteState.CLOSED, reason),
    }
    row = row_of(engine, t.opportunities, opportunity.id)
    assert (row["state"], row["status_reason"]) == ("lost", "out_sold")
    assert count_rows(engine, t.opportunity_closes) == 1
    for quote in (active, draft):
        assert reads.audit_for(uow, quote.id, limit=10, cursor=None).items[0].action == "close"


def test_closing_as_won_with_close_quotes_keeps_the_won_quote_won(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)
    later_draft = quotes.copy_quote(desk.uow, won.id, actor=desk.actor)

    result = desk.close(opportunity.id, Outcome.WON, close_quotes=QuoteStatus.CANCELED)

    assert [c.id for c in result.closed_quotes] == [later_draft.id]
    assert row_of(engine, t.quotes, won.id)["state"] == "won"
    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "won"


@pytest.mark.parametrize("close_quotes", [None, QuoteStatus.LOST])
def test_an_opportunity_with_a_won_quote_cannot_be_closed_as_lost(
    desk: Desk, engine: Engine, close_quotes: QuoteStatus | None
) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)
    desk.draft(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(WonQuoteRequiresWonClose) as refused:
        desk.close(opportunity.id, Outcome.LOST, close_quotes=close_quotes)

    assert refused.value.code == "won_quote_requires_won_close"
    assert snapshot(engine) == before


@pytest.mark.parametrize("outcome", [Outcome.WON, Outcome.LOST])
def test_a_closed_opportunity_cannot_be_closed_again(desk: Desk, engine: Engine, outcome: Outcome) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, outcome)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition) as refused:
        desk.close(opportunity.id, Outcome.WON)

    assert refused.value.code == "invalid_transition"
    assert snapshot(engine) == before


def test_closing_an_unknown_opportunity_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.close(uuid4(), Outcome.WON)


# ---------------------------------------------------------------------------------------------- close input
def test_close_input_faults_are_validation_errors_naming_their_fields(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    won_reason = desk.close_reason(Outcome.WON, "Best fit")
    retired = desk.close_reason(Outcome.LOST, "Retired", active=False)
    before = snapshot(engine)
    cases: list[tuple[dict[str, Any], Outcome, list[str]]] = [
        ({"close_date": desk.tomorrow}, Outcome.WON, ["close_date"]),
        ({"status_reason": OpportunityStatus.CANCELED}, Outcome.WON, ["status_reason"]),
        ({"status_reason": OpportunityStatus.WON}, Outcome.LOST, ["status_reason"]),
        ({"close_reason_id": won_reason.id}, Outcome.LOST, ["close_reason_id"]),
        ({"close_reason_id": retired.id}, Outcome.LOST, ["close_reason_id"]),
        ({"close_reason_id": uuid4()}, Outcome.WON, ["close_reason_id"]),
        ({"competitor_id": uuid4()}, Outcome.LOST, ["competitor_id"]),
        ({"close_quotes": QuoteStatus.REVISED}, Outcome.WON, ["close_quotes"]),
        ({"actual_revenue": Decimal("-1")}, Outcome.WON, ["actual_revenue"]),
        ({"description": "x" * 2001}, Outcome.WON, ["description"]),
    ]
    for options, outcome, fields in cases:
        with pytest.raises(ValidationFailed) as refused:
            desk.close(opportunity.id, outcome, **options)
        assert [e.field for e in refused.value.errors] == fields, options
    assert snapshot(engine) == before


def test_a_lost_close_without_a_status_reason_is_refused(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    details = CloseDetails(outcome=Outcome.LOST, close_date=desk.today)

    with pytest.raises(ValidationFailed) as refused:
        closing.close_opportunity(uow, opportunity.id, details, actor=desk.actor)

    assert [e.field for e in refused.value.errors] == ["status_reason"]
    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "open"


def test_an_active_close_reason_of_the_right_outcome_is_accepted(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    reason = desk.close_reason(Outcome.LOST, "Budget cut")

    desk.close(opportunity.id, Outcome.LOST, close_reason_id=reason.id)

    assert desk.closes_of(opportunity.id)[0].close_reason_id == reason.id


# ---------------------------------------------------------------------------------------------- close all quotes
def test_close_all_quotes_closes_every_active_and_draft_quote_and_leaves_the_deal_open(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id)
    draft = desk.draft(opportunity.id)

    closed = closing.close_all_quotes(
        uow, opportunity.id, reason=QuoteStatus.CANCELED, description="Scope changed", actor=desk.actor
    )

    assert {(c.id, c.previous_state) for c in closed} == {(active.id, QuoteState.ACTIVE), (draft.id, QuoteState.DRAFT)}
    for quote in (active, draft):
        row = row_of(engine, t.quotes, quote.id)
        assert (row["state"], row["status_reason"], row["close_description"]) == (
            "closed",
            "canceled",
            "Scope changed",
        )
    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "open"
    assert closing.preview_close(uow, opportunity.id).can_close is True


def test_close_all_quotes_with_nothing_to_close_answers_an_empty_list(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()

    closed = closing.close_all_quotes(uow, opportunity.id, reason=QuoteStatus.LOST, description=None, actor=desk.actor)

    assert closed == ()


def test_close_all_quotes_on_a_closed_opportunity_is_refused(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.draft(opportunity.id)
    desk.close(opportunity.id, Outcome.LOST)
    before = snapshot(engine)

    with pytest.raises(OpportunityNotOpen) as refused:
        closing.close_all_quotes(uow, opportunity.id, reason=QuoteStatus.LOST, description=None, actor=desk.actor)

    assert refused.value.code == "opportunity_not_open"
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- reopen
def test_reopening_keeps_the_close_record_stamped_and_clears_the_actuals(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    result = desk.win(won.id, close_opportunity=True)

    desk.reopen(opportunity.id, status_reason=OpportunityStatus.ON_HOLD, reason="Customer asked for changes")

    row = row_of(engine, t.opportunities, opportunity.id)
    assert (row["state"], row["status_reason"], row["actual_revenue"], row["actual_close_date"]) == (
        "open",
        "on_hold",
        None,
        None,
    )
    assert (row["won_quote_id"], row["contract_id"]) == (won.id, result.contract.id)
    (record,) = desk.closes_of(opportunity.id)
    assert record.reopened_at is not None
    assert (record.reopened_by, record.reopen_reason) == (desk.actor.id, "Customer asked for changes")
    assert row_of(engine, t.quotes, won.id)["state"] == "won"
    assert count_rows(engine, t.contracts) == 1


def test_reopening_defaults_to_in_progress(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)

    desk.reopen(opportunity.id)

    assert row_of(engine, t.opportunities, opportunity.id)["status_reason"] == "in_progress"


def test_an_open_opportunity_cannot_be_reopened(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    before = snapshot(engine)

    with pytest.raises(InvalidTransition):
        desk.reopen(opportunity.id)

    assert snapshot(engine) == before


def test_reopening_to_a_closing_status_reason_is_refused(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)
    before = snapshot(engine)

    with pytest.raises(ValidationFailed):
        desk.reopen(opportunity.id, status_reason=OpportunityStatus.WON)

    assert snapshot(engine) == before


def test_a_close_after_a_reopen_writes_a_new_record_and_closes_are_listed_newest_first(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    first = desk.close(opportunity.id, Outcome.LOST, description="First try").close
    desk.reopen(opportunity.id, reason="Back in play")
    second = desk.close(opportunity.id, Outcome.WON, description="Second try").close

    listed = desk.closes_of(opportunity.id)

    assert [r.id for r in listed] == [second.id, first.id]
    assert listed[0].reopened_at is None and listed[1].reopened_at is not None
    assert [r.outcome for r in listed] == [Outcome.WON, Outcome.LOST]
    page = closing.list_closes(uow, opportunity.id, limit=1, cursor=None)
    rest = closing.list_closes(uow, opportunity.id, limit=1, cursor=page.next_cursor)
    assert [r.id for r in (*page.items, *rest.items)] == [second.id, first.id]
    assert rest.next_cursor is None
    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "won"


def test_listing_the_closes_of_an_unknown_opportunity_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound):
        closing.list_closes(uow, uuid4(), limit=10, cursor=None)


# ---------------------------------------------------------------------------------------------- corrections
def test_the_standing_close_record_can_be_corrected_and_the_correction_is_audited(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST, description="Typo").close
    competitor = desk.competitor()
    reason = desk.close_reason(Outcome.LOST, "Price")

    closing.correct_close(
        uow,
        record.id,
        {"description": "Lost on price", "competitor_id": competitor.id, "close_reason_id": reason.id},
        actor=desk.actor,
    )

    row = row_of(engine, t.opportunity_closes, record.id)
    assert (row["description"], row["competitor_id"], row["close_reason_id"]) == (
        "Lost on price",
        competitor.id,
        reason.id,
    )
    assert (row["outcome"], row["actual_revenue"], row["close_date"]) == ("lost", Decimal("0.00"), desk.today)
    entry = reads.audit_for(uow, record.id, limit=10, cursor=None).items[0]
    assert entry.action == "correct"
    assert entry.before == {"description": "Typo", "competitor_id": None, "close_reason_id": None}
    assert entry.after == {
        "description": "Lost on price",
        "competitor_id": str(competitor.id),
        "close_reason_id": str(reason.id),
    }


def test_a_close_record_ended_by_a_reopen_cannot_be_corrected(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST, description="Original").close
    desk.reopen(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(InvalidTransition) as refused:
        closing.correct_close(uow, record.id, {"description": "Rewritten"}, actor=desk.actor)

    assert refused.value.code == "invalid_transition"
    assert snapshot(engine) == before


def test_a_correction_must_name_real_fitting_references_and_only_correctable_fields(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST).close
    won_reason = desk.close_reason(Outcome.WON, "Best fit")
    retired = desk.close_reason(Outcome.LOST, "Old", active=False)
    before = snapshot(engine)

    corrections: list[tuple[dict[str, Any], str]] = [
        ({"competitor_id": uuid4()}, "competitor_id"),
        ({"close_reason_id": won_reason.id}, "close_reason_id"),
        ({"close_reason_id": retired.id}, "close_reason_id"),
        ({"actual_revenue": Decimal("1.00")}, "actual_revenue"),
    ]
    for changes, field in corrections:
        with pytest.raises(ValidationFailed) as refused:
            closing.correct_close(uow, record.id, changes, actor=desk.actor)
        assert [e.field for e in refused.value.errors] == [field]
    assert snapshot(engine) == before


def test_correcting_an_unknown_close_record_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound):
        closing.correct_close(uow, uuid4(), {"description": "x"}, actor=desk.actor)


def test_only_managers_correct_close_records(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    sam = desk.user("sam", "sales")
    opportunity = desk.opportunity(actor=sam)
    record = desk.close(opportunity.id, Outcome.LOST, actor=sam).close
    before = snapshot(engine)

    with pytest.raises(Forbidden):
        closing.correct_close(uow, record.id, {"description": "Mine"}, actor=sam)

    assert snapshot(engine) == before
    assert desk.read(opportunity.id).state is OpportunityState.LOST


# ---------------------------------------------------------------------------------------------- business day
def test_today_is_judged_in_the_business_time_zone(desk: Desk, engine: Engine) -> None:
    """At 12:00 UTC it is already the next day in Kiritimati (UTC+14) but still the same day in UTC."""
    noon_utc = datetime(2024, 6, 14, 12, 0, tzinfo=UTC)
    opportunity = desk.opportunity()
    kiritimati = Desk(SqlUnitOfWork(engine, FixedClock(noon_utc, ZoneInfo("Pacific/Kiritimati"))), desk.actor)
    utc = Desk(SqlUnitOfWork(engine, FixedClock(noon_utc, ZoneInfo("UTC"))), desk.actor)

    with pytest.raises(ValidationFailed):
        utc.close(opportunity.id, Outcome.LOST, close_date=date(2024, 6, 15))
    kiritimati.close(opportunity.id, Outcome.LOST, close_date=date(2024, 6, 15))

    assert row_of(engine, t.opportunities, opportunity.id)["actual_close_date"] == date(2024, 6, 15)


def test_a_sales_user_may_close_their_own_deal_but_not_someone_elses(desk: Desk, engine: Engine) -> None:
    sam, sue = desk.user("sam", "sales"), desk.user("sue", "sales")
    sams = desk.opportunity("Sam's", actor=sam)
    quote = desk.active(sams.id)
    before = snapshot(engine)

    for attempt in (
        lambda: desk.close(sams.id, Outcome.LOST, actor=sue),
        lambda: quotes.win_quote(desk.uow, quote.id, quotes.WinDetails(), actor=sue),
        lambda: closing.close_all_quotes(desk.uow, sams.id, reason=QuoteStatus.LOST, description=None, actor=sue),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert snapshot(engine) == before

    desk.close(sams.id, Outcome.LOST, close_quotes=QuoteStatus.LOST, actor=sam)
    assert row_of(engine, t.opportunities, sams.id)["state"] == "lost"
