"""Closing an opportunity (SPEC §4): the close rule, close_quotes, defaults, input rules, reopen, close records."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import ActiveQuotesBlockClose, DomainError, ValidationFailed
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus

if TYPE_CHECKING:
    from tests.unit.conftest import Deals


def _codes_and_fields(error: DomainError) -> tuple[str, list[str]]:
    fields = [e.field for e in error.errors] if isinstance(error, ValidationFailed) else []
    return error.code, fields


# ---------------------------------------- the close rule
@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_active_quote_blocks_closing_and_is_named(deals: Deals, outcome: Outcome) -> None:
    opportunity = deals.opportunity()
    first = deals.active(opportunity, name="Phase one")
    deals.draft(opportunity, name="Still drafting")
    second = deals.active(opportunity, name="Phase two")
    before = deals.snapshot(opportunity)

    with pytest.raises(ActiveQuotesBlockClose) as refused:
        deals.close(opportunity, outcome)

    assert refused.value.code == "active_quotes_block_close"
    assert refused.value.extensions() == {
        "blocking_quotes": [
            {"id": str(first.id), "number": first.number, "revision": 0, "name": "Phase one"},
            {"id": str(second.id), "number": second.number, "revision": 0, "name": "Phase two"},
        ]
    }
    assert first.number in refused.value.detail
    assert deals.snapshot(opportunity) == before


def test_a_blocking_revision_is_named_with_its_revision(deals: Deals) -> None:
    opportunity = deals.opportunity()
    revision = deals.revise(opportunity, deals.active(opportunity))
    opportunity.activate_quote(revision.id, today=deals.today, at=deals.now())

    with pytest.raises(ActiveQuotesBlockClose) as refused:
        deals.close_won(opportunity)

    assert refused.value.extensions()["blocking_quotes"] == [
        {"id": str(revision.id), "number": revision.number, "revision": 1, "name": revision.name}
    ]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_draft_quotes_do_not_block_closing_and_stay_draft(deals: Deals, outcome: Outcome) -> None:
    opportunity = deals.opportunity()
    draft = deals.draft(opportunity)

    result = deals.close(opportunity, outcome)

    assert opportunity.state.value == outcome.value
    assert result.closed_quotes == ()
    assert (draft.state, draft.status_reason) == (QuoteState.DRAFT, QuoteStatus.IN_PROGRESS)


def test_the_drafts_of_a_closed_deal_are_frozen(deals: Deals) -> None:
    opportunity = deals.opportunity()
    draft = deals.draft(opportunity)
    deals.close_won(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.edit_quote(draft.id, name="Changed after the close", at=deals.now())

    assert refused.value.code == "opportunity_not_open"
    assert draft.name == "Implementation"


def test_a_closed_or_won_quote_does_not_block_closing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.closed(opportunity)
    deals.won(opportunity)

    deals.close_won(opportunity)

    assert opportunity.state is OpportunityState.WON


# ---------------------------------------- close_quotes
@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("reason", [QuoteStatus.LOST, QuoteStatus.CANCELED])
def test_closing_with_close_quotes_closes_active_and_draft_quotes_in_the_same_step(
    deals: Deals, outcome: Outcome, reason: QuoteStatus
) -> None:
    opportunity = deals.opportunity()
    active = deals.active(opportunity)
    draft = deals.draft(opportunity)
    already_closed = deals.closed(opportunity, reason=QuoteStatus.CANCELED if reason is QuoteStatus.LOST else reason)
    closed_before = (already_closed.state, already_closed.status_reason, already_closed.version)
    close_date = deals.today - timedelta(days=2)

    result = deals.close(opportunity, outcome, close_quotes=reason, close_date=close_date)

    assert opportunity.state.value == outcome.value
    assert [(c.id, c.previous_state, c.state, c.status_reason) for c in result.closed_quotes] == [
        (active.id, QuoteState.ACTIVE, QuoteState.CLOSED, reason),
        (draft.id, QuoteState.DRAFT, QuoteState.CLOSED, reason),
    ]
    assert [(q.state, q.status_reason, q.closed_on) for q in (active, draft)] == [
        (QuoteState.CLOSED, reason, close_date),
        (QuoteState.CLOSED, reason, close_date),
    ]
    assert (already_closed.state, already_closed.status_reason, already_closed.version) == closed_before
    assert [(c.number, c.revision, c.name) for c in result.closed_quotes] == [
        (active.number, 0, active.name),
        (draft.number, 0, draft.name),
    ]


def test_close_quotes_leaves_the_won_quote_won(deals: Deals) -> None:
    opportunity = deals.opportunity()
    won = deals.won(opportunity)
    later_draft = deals.draft(opportunity)

    result = deals.close_won(opportunity, close_quotes=QuoteStatus.CANCELED)

    assert [c.id for c in result.closed_quotes] == [later_draft.id]
    assert (won.state, won.status_reason) == (QuoteState.WON, QuoteStatus.WON)


def test_close_quotes_must_be_lost_or_canceled(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.active(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.close_won(opportunity, close_quotes=QuoteStatus.REVISED)

    assert _codes_and_fields(refused.value) == ("validation_error", ["close_quotes"])
    assert deals.snapshot(opportunity) == before


def test_a_refused_close_with_close_quotes_closes_no_quote(deals: Deals) -> None:
    opportunity = deals.opportunity()
    active = deals.active(opportunity)
    draft = deals.draft(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed):
        deals.close_won(opportunity, close_quotes=QuoteStatus.LOST, close_date=deals.today + timedelta(days=1))

    assert (active.state, draft.state) == (QuoteState.ACTIVE, QuoteState.DRAFT)
    assert deals.snapshot(opportunity) == before


# ---------------------------------------- close all quotes
def test_close_all_quotes_closes_every_active_and_draft_quote_and_then_the_deal_can_close(deals: Deals) -> None:
    opportunity = deals.opportunity()
    active = deals.active(opportunity)
    draft = deals.draft(opportunity)
    closed = deals.closed(opportunity, reason=QuoteStatus.CANCELED)

    result = opportunity.close_all_quotes(
        QuoteStatus.LOST, description="Customer went quiet", today=deals.today, at=deals.now()
    )

    assert [(c.id, c.previous_state, c.status_reason) for c in result] == [
        (active.id, QuoteState.ACTIVE, QuoteStatus.LOST),
        (draft.id, QuoteState.DRAFT, QuoteStatus.LOST),
    ]
    assert [(q.state, q.closed_on, q.close_description) for q in (active, draft)] == [
        (QuoteState.CLOSED, deals.today, "Customer went quiet"),
        (QuoteState.CLOSED, deals.today, "Customer went quiet"),
    ]
    assert closed.status_reason is QuoteStatus.CANCELED
    assert opportunity.is_open
    assert opportunity.preview_close(today=deals.today).can_close
    deals.close_lost(opportunity)
    assert opportunity.state is OpportunityState.LOST


def test_close_all_quotes_with_no_open_quote_answers_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.closed(opportunity)

    assert opportunity.close_all_quotes(QuoteStatus.LOST, description=None, today=deals.today, at=deals.now()) == ()


@pytest.mark.parametrize("close", ["won", "lost"])
def test_close_all_quotes_on_a_closed_deal_is_opportunity_not_open(deals: Deals, close: str) -> None:
    opportunity = deals.opportunity()
    draft = deals.draft(opportunity)
    deals.close(opportunity, Outcome(close))
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.close_all_quotes(QuoteStatus.LOST, description=None, today=deals.today, at=deals.now())

    assert refused.value.code == "opportunity_not_open"
    assert draft.state is QuoteState.DRAFT
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("reason", [QuoteStatus.REVISED, QuoteStatus.WON, QuoteStatus.OPEN, QuoteStatus.IN_PROGRESS])
def test_close_all_quotes_takes_only_lost_or_canceled(deals: Deals, reason: QuoteStatus) -> None:
    opportunity = deals.opportunity()
    deals.active(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.close_all_quotes(reason, description=None, today=deals.today, at=deals.now())

    assert _codes_and_fields(refused.value) == ("validation_error", ["status_reason"])
    assert deals.snapshot(opportunity) == before


# ---------------------------------------- a won quote
def test_closing_as_lost_with_a_won_quote_is_refused(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.won(opportunity)
    draft = deals.draft(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.close_lost(opportunity, close_quotes=QuoteStatus.LOST)

    assert refused.value.code == "won_quote_requires_won_close"
    assert draft.state is QuoteState.DRAFT
    assert deals.snapshot(opportunity) == before


def test_after_a_reopen_a_deal_with_a_won_quote_can_only_be_won_again(deals: Deals) -> None:
    opportunity = deals.opportunity()
    won = deals.won(opportunity)
    deals.close_won(opportunity)
    deals.reopen(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.close_lost(opportunity, status_reason=OpportunityStatus.OUT_SOLD)
    assert refused.value.code == "won_quote_requires_won_close"

    result = deals.close_won(opportunity)
    assert result.close.won_quote_id == won.id
    assert opportunity.actual_revenue == won.total_amount


# ---------------------------------------- actual revenue
def test_a_won_close_takes_the_won_quote_total_by_default(deals: Deals) -> None:
    opportunity = deals.opportunity(estimated_revenue="9999.00")
    deals.won(opportunity, lines=[deals.line("Build", "3", "1234.56")])

    result = deals.close_won(opportunity)

    assert opportunity.actual_revenue == Decimal("3703.68")
    assert result.close.actual_revenue == Decimal("3703.68")


def test_a_won_close_without_a_won_quote_takes_the_estimated_revenue(deals: Deals) -> None:
    opportunity = deals.opportunity(estimated_revenue="7250.50")
    deals.draft(opportunity)
    deals.closed(opportunity)

    deals.close_won(opportunity)

    assert opportunity.actual_revenue == Decimal("7250.50")


@pytest.mark.parametrize("reason", [OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD])
def test_a_lost_close_takes_zero_revenue_by_default(deals: Deals, reason: OpportunityStatus) -> None:
    opportunity = deals.opportunity(estimated_revenue="7250.50")

    result = deals.close_lost(opportunity, status_reason=reason)

    assert opportunity.actual_revenue == Decimal("0.00")
    assert f"{result.close.actual_revenue:.2f}" == "0.00"
    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.LOST, reason)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_given_actual_revenue_wins_over_the_default(deals: Deals, outcome: Outcome) -> None:
    opportunity = deals.opportunity()
    if outcome is Outcome.WON:
        deals.won(opportunity)

    deals.close(opportunity, outcome, actual_revenue=Decimal("1234.50"))

    assert opportunity.actual_revenue == Decimal("1234.50")


@pytest.mark.parametrize("revenue", ["-1.00", "0.001", "1000000000000.00", "NaN"])
def test_a_bad_actual_revenue_is_a_validation_error(deals: Deals, revenue: str) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        deals.close_won(opportunity, actual_revenue=Decimal(revenue))

    assert _codes_and_fields(refused.value) == ("validation_error", ["actual_revenue"])
    assert opportunity.is_open


# ---------------------------------------- input rules
@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_future_close_date_is_a_validation_error_on_close_date(deals: Deals, outcome: Outcome) -> None:
    opportunity = deals.opportunity()
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.close(opportunity, outcome, close_date=deals.today + timedelta(days=1))

    assert _codes_and_fields(refused.value) == ("validation_error", ["close_date"])
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("days_ago", [0, 1, 400])
def test_today_and_past_close_dates_are_accepted(deals: Deals, days_ago: int) -> None:
    opportunity = deals.opportunity()
    close_date = deals.today - timedelta(days=days_ago)

    result = deals.close_won(opportunity, close_date=close_date)

    assert opportunity.actual_close_date == close_date
    assert result.close.close_date == close_date


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (Outcome.WON, OpportunityStatus.CANCELED),
        (Outcome.WON, OpportunityStatus.OUT_SOLD),
        (Outcome.WON, OpportunityStatus.IN_PROGRESS),
        (Outcome.WON, OpportunityStatus.ON_HOLD),
        (Outcome.LOST, OpportunityStatus.WON),
        (Outcome.LOST, OpportunityStatus.IN_PROGRESS),
        (Outcome.LOST, OpportunityStatus.ON_HOLD),
    ],
)
def test_a_status_reason_that_does_not_fit_the_outcome_is_a_validation_error(
    deals: Deals, outcome: Outcome, reason: OpportunityStatus
) -> None:
    opportunity = deals.opportunity()
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.close(opportunity, outcome, status_reason=reason)

    assert _codes_and_fields(refused.value) == ("validation_error", ["status_reason"])
    assert deals.snapshot(opportunity) == before


def test_a_lost_close_needs_a_status_reason(deals: Deals) -> None:
    details = CloseDetails(outcome=Outcome.LOST, close_date=deals.today)

    with pytest.raises(ValidationFailed) as refused:
        details.checked(today=deals.today)

    assert _codes_and_fields(refused.value) == ("validation_error", ["status_reason"])


def test_a_won_close_takes_the_reason_won_by_default(deals: Deals) -> None:
    opportunity = deals.opportunity()

    result = deals.close_won(opportunity)

    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.WON, OpportunityStatus.WON)
    assert result.close.status_reason is OpportunityStatus.WON


def test_every_input_fault_of_a_close_is_reported_together(deals: Deals) -> None:
    details = CloseDetails(
        outcome=Outcome.LOST,
        close_date=deals.today + timedelta(days=3),
        status_reason=OpportunityStatus.WON,
        actual_revenue=Decimal("-5.00"),
        description="x" * 2001,
        close_quotes=QuoteStatus.REVISED,
    )

    with pytest.raises(ValidationFailed) as refused:
        details.checked(today=deals.today)

    assert sorted(_codes_and_fields(refused.value)[1]) == [
        "actual_revenue",
        "close_date",
        "close_quotes",
        "description",
        "status_reason",
    ]


def test_a_blank_close_description_is_stored_as_none(deals: Deals) -> None:
    opportunity = deals.opportunity()

    result = deals.close_won(opportunity, description="   ")

    assert result.close.description is None


# ---------------------------------------- a successful close
def test_a_close_sets_the_outcome_writes_one_standing_record_and_bumps_the_version(deals: Deals) -> None:
    opportunity = deals.opportunity()
    won = deals.won(opportunity)
    competitor_id = deals.new_id()
    close_reason_id = deals.new_id()
    version = opportunity.version
    close_date = deals.today - timedelta(days=1)

    result = deals.close_won(
        opportunity,
        close_date=close_date,
        competitor_id=competitor_id,
        close_reason_id=close_reason_id,
        description="Signed",
    )

    record = result.close
    assert result.opportunity is opportunity
    assert opportunity.standing_close is record
    assert opportunity.version > version
    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.WON, OpportunityStatus.WON)
    assert (opportunity.actual_revenue, opportunity.actual_close_date) == (won.total_amount, close_date)
    assert record.is_standing
    assert (record.outcome, record.status_reason, record.close_date) == (Outcome.WON, OpportunityStatus.WON, close_date)
    assert (record.actual_revenue, record.currency, record.won_quote_id) == (won.total_amount, "USD", won.id)
    assert (record.competitor_id, record.close_reason_id, record.description) == (
        competitor_id,
        close_reason_id,
        "Signed",
    )
    assert (record.owner_id, record.account_id, record.closed_by) == (deals.owner_id, deals.account_id, deals.user_id)
    assert (record.opportunity_id, record.reopened_at, record.reopened_by) == (opportunity.id, None, None)


def test_a_close_record_keeps_the_deals_creation_date_for_days_to_close(deals: Deals) -> None:
    opportunity = deals.opportunity()

    record = deals.close_won(opportunity).close

    assert record.opportunity_created_on == opportunity.created_at.date()


def test_the_creation_date_may_be_given_as_the_business_time_zone_sees_it(deals: Deals) -> None:
    opportunity = deals.opportunity()
    business_day = opportunity.created_at.date() - timedelta(days=1)

    record = opportunity.close(
        CloseDetails(outcome=Outcome.LOST, close_date=deals.today, status_reason=OpportunityStatus.CANCELED),
        close_id=deals.new_id(),
        by=deals.user_id,
        today=deals.today,
        at=deals.now(),
        created_on=business_day,
    ).close

    assert record.opportunity_created_on == business_day


def test_a_lost_close_record_names_no_won_quote(deals: Deals) -> None:
    opportunity = deals.opportunity()

    record = deals.close_lost(opportunity, status_reason=OpportunityStatus.OUT_SOLD, competitor_id=deals.new_id()).close

    assert (record.outcome, record.status_reason, record.won_quote_id) == (
        Outcome.LOST,
        OpportunityStatus.OUT_SOLD,
        None,
    )


@pytest.mark.parametrize("first", list(Outcome))
@pytest.mark.parametrize("second", list(Outcome))
def test_a_closed_deal_cannot_be_closed_again(deals: Deals, first: Outcome, second: Outcome) -> None:
    opportunity = deals.opportunity()
    deals.close(opportunity, first)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.close(opportunity, second)

    assert refused.value.code == "invalid_transition"
    assert deals.snapshot(opportunity) == before


def test_an_on_hold_deal_can_be_closed(deals: Deals) -> None:
    opportunity = deals.opportunity()
    opportunity.put_on_hold(deals.now())

    deals.close_lost(opportunity)

    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.LOST, OpportunityStatus.CANCELED)


# ---------------------------------------- close preview
def test_the_close_preview_shows_blocking_quotes_drafts_the_won_quote_and_the_version(deals: Deals) -> None:
    opportunity = deals.opportunity()
    draft = deals.draft(opportunity)
    active = deals.active(opportunity)

    preview = opportunity.preview_close(today=deals.today)

    assert not preview.can_close
    assert preview.blocking_quotes == (active,)
    assert preview.draft_quotes == (draft,)
    assert preview.won_quote is None
    assert preview.version == opportunity.version


def test_the_close_preview_of_a_deal_with_a_won_quote_can_close(deals: Deals) -> None:
    opportunity = deals.opportunity()
    won = deals.won(opportunity)

    preview = opportunity.preview_close(today=deals.today)

    assert preview.can_close
    assert preview.won_quote is won
    assert preview.blocking_quotes == ()


def test_the_close_preview_of_a_closed_deal_cannot_close(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.close_won(opportunity)

    assert not opportunity.preview_close(today=deals.today).can_close


# ---------------------------------------- reopen
@pytest.mark.parametrize("outcome", list(Outcome))
def test_reopen_stamps_the_standing_close_and_clears_the_actuals(deals: Deals, outcome: Outcome) -> None:
    opportunity = deals.opportunity()
    record = deals.close(opportunity, outcome).close
    version = opportunity.version

    returned = deals.reopen(opportunity, reason="Customer came back")

    assert returned is record
    assert record.reopened_at is not None
    assert record.reopened_at.tzinfo is not None
    assert (record.reopened_by, record.reopen_reason) == (deals.user_id, "Customer came back")
    assert not record.is_standing
    assert opportunity.standing_close is None
    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.OPEN, OpportunityStatus.IN_PROGRESS)
    assert (opportunity.actual_revenue, opportunity.actual_close_date) == (None, None)
    assert opportunity.version > version


def test_reopen_may_put_the_deal_on_hold(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.close_lost(opportunity)

    deals.reopen(opportunity, status_reason=OpportunityStatus.ON_HOLD)

    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.OPEN, OpportunityStatus.ON_HOLD)


@pytest.mark.parametrize(
    "reason", [OpportunityStatus.WON, OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD], ids=str
)
def test_reopen_takes_only_in_progress_or_on_hold(deals: Deals, reason: OpportunityStatus) -> None:
    opportunity = deals.opportunity()
    deals.close_won(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.reopen(opportunity, status_reason=reason)

    assert _codes_and_fields(refused.value) == ("validation_error", ["status_reason"])
    assert deals.snapshot(opportunity) == before


def test_reopen_keeps_the_won_quote_won_and_the_contract(deals: Deals) -> None:
    opportunity = deals.opportunity()
    result = deals.win(opportunity, deals.active(opportunity), close_opportunity=True)
    won = result.quote

    deals.reopen(opportunity)

    assert (won.state, won.status_reason) == (QuoteState.WON, QuoteStatus.WON)
    assert (opportunity.won_quote_id, opportunity.contract_id) == (won.id, result.contract.id)


def test_a_close_after_a_reopen_writes_a_new_record(deals: Deals) -> None:
    opportunity = deals.opportunity()
    first = deals.close_lost(opportunity).close
    deals.reopen(opportunity)

    second = deals.close_won(opportunity).close

    assert second is not first
    assert second.id != first.id
    assert opportunity.standing_close is second
    assert (first.is_standing, second.is_standing) == (False, True)
    assert (first.outcome, second.outcome) == (Outcome.LOST, Outcome.WON)


def test_reopening_an_open_deal_is_an_invalid_transition(deals: Deals) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(DomainError) as refused:
        deals.reopen(opportunity)

    assert refused.value.code == "invalid_transition"


# ---------------------------------------- correcting records
def test_the_standing_close_can_be_corrected_in_description_competitor_and_reason(deals: Deals) -> None:
    opportunity = deals.opportunity()
    record = deals.close_lost(opportunity, description="Too expensive").close
    competitor_id, close_reason_id = deals.new_id(), deals.new_id()
    at = deals.now()

    change = record.correct(
        changes={"description": "Price", "competitor_id": competitor_id, "close_reason_id": close_reason_id}, at=at
    )

    assert (record.description, record.competitor_id, record.close_reason_id) == (
        "Price",
        competitor_id,
        close_reason_id,
    )
    assert record.updated_at == at
    assert (change.record_type, change.record_id, change.action) == ("opportunity_close", record.id, "correct")
    assert change.before == {"description": "Too expensive", "competitor_id": None, "close_reason_id": None}
    assert change.after == {
        "description": "Price",
        "competitor_id": str(competitor_id),
        "close_reason_id": str(close_reason_id),
    }


def test_a_close_record_ended_by_a_reopen_cannot_be_corrected(deals: Deals) -> None:
    opportunity = deals.opportunity()
    record = deals.close_lost(opportunity, description="Too expensive").close
    deals.reopen(opportunity)

    with pytest.raises(DomainError) as refused:
        record.correct(changes={"description": "Rewritten history"}, at=deals.now())

    assert refused.value.code == "invalid_transition"
    assert record.description == "Too expensive"


@pytest.mark.parametrize("field", ["actual_revenue", "outcome", "close_date", "status_reason", "won_quote_id"])
def test_only_description_competitor_and_reason_can_be_corrected(deals: Deals, field: str) -> None:
    opportunity = deals.opportunity()
    record = deals.close_won(opportunity).close
    before = (record.actual_revenue, record.outcome, record.close_date, record.status_reason, record.won_quote_id)

    with pytest.raises(ValidationFailed) as refused:
        record.correct(changes={field: None, "description": "ok"}, at=deals.now())

    assert _codes_and_fields(refused.value) == ("validation_error", [field])
    assert (record.actual_revenue, record.outcome, record.close_date, record.status_reason, record.won_quote_id) == (
        before
    )
    assert record.description is None


def test_a_corrected_description_keeps_the_length_limit(deals: Deals) -> None:
    opportunity = deals.opportunity()
    record = deals.close_won(opportunity, description="Signed").close

    with pytest.raises(ValidationFailed) as refused:
        record.correct(changes={"description": "x" * 2001}, at=deals.now())

    assert _codes_and_fields(refused.value) == ("validation_error", ["description"])
    assert record.description == "Signed"
