"""Quotes (SPEC §2, §3, §5): lines and totals, activation, editing, closing, deleting, revising, copying, winning,
and the version bump every quote change gives its opportunity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote, QuoteLine
from dealdesk.domain.states import ContractState, OpportunityState, OpportunityStatus, QuoteState, QuoteStatus

if TYPE_CHECKING:
    from tests.unit.conftest import Deals


def _fields(error: ValidationFailed) -> list[str]:
    return [e.field for e in error.errors]


# ---------------------------------------- lines and totals
@pytest.mark.parametrize(
    ("quantity", "unit_price", "amount"),
    [
        ("1.5", "0.03", "0.05"),  # 0.045: half-up, not half-even (0.04)
        ("0.25", "0.10", "0.03"),  # 0.025
        ("2.5", "0.01", "0.03"),  # 0.025
        ("0.33", "10.01", "3.30"),  # 3.3033
        ("0.5", "0.09", "0.05"),  # 0.045
        ("3", "1234.56", "3703.68"),
        ("1", "-150.00", "-150.00"),
    ],
)
def test_a_line_amount_is_quantity_times_unit_price_rounded_half_up_to_cents(
    quantity: str, unit_price: str, amount: str
) -> None:
    line = QuoteLine.checked("Work", Decimal(quantity), Decimal(unit_price), field="lines[0]")

    assert f"{line.amount:.2f}" == amount
    assert line.amount.as_tuple().exponent == -2


def test_a_new_quote_is_a_draft_whose_total_is_the_sum_of_its_line_amounts(deals: Deals) -> None:
    opportunity = deals.opportunity()
    lines = [deals.line("Design", "1.5", "0.03"), deals.line("Build", "2.5", "1000.00")]

    quote = deals.draft(opportunity, lines=lines)

    assert (quote.state, quote.status_reason, quote.revision) == (QuoteState.DRAFT, QuoteStatus.IN_PROGRESS, 0)
    assert quote.total_amount == Decimal("2500.05")
    assert quote.line_count == 2
    assert quote.lines == tuple(lines)
    assert quote.opportunity_id == opportunity.id


def test_a_discount_line_reduces_the_total(deals: Deals) -> None:
    opportunity = deals.opportunity()

    quote = deals.draft(
        opportunity, lines=[deals.line("Build", "10", "100.00"), deals.line("Discount", "1", "-150.00")]
    )

    assert quote.total_amount == Decimal("850.00")


@pytest.mark.parametrize(
    ("quantity", "unit_price", "bad_fields"),
    [
        ("0", "10.00", ["lines[0].quantity"]),
        ("-1", "10.00", ["lines[0].quantity"]),
        ("1.005", "10.00", ["lines[0].quantity"]),
        ("1", "10.001", ["lines[0].unit_price"]),
        ("1", "1000000000000.00", ["lines[0].unit_price"]),
        ("NaN", "Infinity", ["lines[0].quantity", "lines[0].unit_price"]),
        ("0", "0.001", ["lines[0].quantity", "lines[0].unit_price"]),
    ],
)
def test_a_bad_line_is_a_validation_error_naming_each_bad_field(
    quantity: str, unit_price: str, bad_fields: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        QuoteLine.checked("Work", Decimal(quantity), Decimal(unit_price), field="lines[0]")

    assert refused.value.code == "validation_error"
    assert _fields(refused.value) == bad_fields


def test_a_line_needs_a_description() -> None:
    with pytest.raises(ValidationFailed) as refused:
        QuoteLine.checked("   ", Decimal("1"), Decimal("1.00"), field="lines[3]")

    assert _fields(refused.value) == ["lines[3].description"]


def test_a_line_amount_beyond_the_money_range_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        QuoteLine.checked("Work", Decimal("2"), Decimal("600000000000.00"), field="lines[0]")

    assert _fields(refused.value) == ["lines[0].amount"]


def test_a_quote_total_beyond_the_money_range_is_refused(deals: Deals) -> None:
    opportunity = deals.opportunity()
    big = deals.line("Big", "1", "600000000000.00")
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.draft(opportunity, lines=[big, big])

    assert _fields(refused.value) == ["lines"]
    assert deals.snapshot(opportunity) == before


def test_a_quote_holds_at_most_500_lines(deals: Deals) -> None:
    opportunity = deals.opportunity()
    line = deals.line("Hour", "1", "1.00")

    assert deals.draft(opportunity, lines=[line] * 500).line_count == 500
    with pytest.raises(ValidationFailed) as refused:
        deals.draft(opportunity, lines=[line] * 501)
    assert _fields(refused.value) == ["lines"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 301])
def test_a_quote_name_must_be_1_to_300_characters(deals: Deals, name: str) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        deals.draft(opportunity, name=name)

    assert _fields(refused.value) == ["name"]
    assert opportunity.quotes == []


# ---------------------------------------- activation
def test_activating_a_draft_makes_it_active_and_open(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)

    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert (quote.state, quote.status_reason) == (QuoteState.ACTIVE, QuoteStatus.OPEN)


def test_activating_a_quote_without_lines_is_quote_has_no_lines(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity, lines=[])
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert refused.value.code == "quote_has_no_lines"
    assert deals.snapshot(opportunity) == before


def test_activating_a_quote_with_a_negative_total_is_quote_total_negative(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity, lines=[deals.line("Build", "1", "100.00"), deals.line("Discount", "1", "-100.01")])
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert refused.value.code == "quote_total_negative"
    assert deals.snapshot(opportunity) == before


def test_a_quote_totalling_zero_can_be_activated(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity, lines=[deals.line("Build", "1", "100.00"), deals.line("Discount", "1", "-100.00")])

    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert quote.state is QuoteState.ACTIVE


@pytest.mark.parametrize("other", ["draft", "closed"])
def test_once_a_quote_is_won_no_other_quote_can_be_activated(deals: Deals, other: str) -> None:
    opportunity = deals.opportunity()
    draft = deals.draft(opportunity)
    deals.won(opportunity)
    if other == "draft":
        draft = deals.draft(opportunity)  # the first draft was closed as lost by the win
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(draft.id, today=deals.today, at=deals.now())

    assert refused.value.code == "won_quote_exists"  # checked before the quote's own state
    assert deals.snapshot(opportunity) == before


def test_once_a_quote_is_won_no_other_quote_can_be_won(deals: Deals) -> None:
    opportunity = deals.opportunity()
    sibling = deals.active(opportunity)
    deals.won(opportunity)
    assert sibling.state is QuoteState.CLOSED
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.win(opportunity, sibling)

    assert refused.value.code == "won_quote_exists"
    assert deals.snapshot(opportunity) == before


def test_won_quote_exists_survives_a_reopen(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.won(opportunity)
    deals.close_won(opportunity)
    deals.reopen(opportunity)
    draft = deals.draft(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(draft.id, today=deals.today, at=deals.now())

    assert refused.value.code == "won_quote_exists"


def test_an_unknown_quote_is_not_found(deals: Deals) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(DomainError) as refused:
        opportunity.activate_quote(deals.new_id(), today=deals.today, at=deals.now())

    assert refused.value.code == "not_found"


# ---------------------------------------- editing
def test_editing_a_draft_changes_its_name_lines_total_and_validity(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    at = deals.now()

    opportunity.edit_quote(
        quote.id,
        name="Phase two",
        lines=[deals.line("Run", "4", "99.99")],
        valid_until=date(2024, 9, 30),
        set_valid_until=True,
        at=at,
    )

    assert (quote.name, quote.total_amount, quote.line_count) == ("Phase two", Decimal("399.96"), 1)
    assert quote.valid_until == date(2024, 9, 30)
    assert quote.updated_at == at
    assert quote.state is QuoteState.DRAFT


def test_editing_without_set_valid_until_keeps_the_validity(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)

    opportunity.edit_quote(quote.id, name="Renamed", at=deals.now())
    assert quote.valid_until == date(2024, 7, 31)
    opportunity.edit_quote(quote.id, valid_until=None, set_valid_until=True, at=deals.now())
    assert quote.valid_until is None


@pytest.mark.parametrize("state", ["active", "won", "closed"])
def test_only_draft_quotes_can_be_edited(deals: Deals, state: str) -> None:
    opportunity = deals.opportunity()
    makers: dict[str, Callable[[Opportunity], Quote]] = {
        "active": deals.active,
        "won": deals.won,
        "closed": deals.closed,
    }
    quote = makers[state](opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.edit_quote(quote.id, name="Changed", lines=[deals.line()], at=deals.now())

    assert refused.value.code == "invalid_transition"
    assert deals.snapshot(opportunity) == before


def test_a_refused_edit_leaves_the_quote_unchanged(deals: Deals) -> None:
    """I5: a valid new name with lines whose total is out of range must not half-apply."""
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity, name="Original")
    big = deals.line("Big", "1", "600000000000.00")
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed):
        opportunity.edit_quote(quote.id, name="Renamed", lines=[big, big], at=deals.now())

    assert quote.name == "Original"
    assert deals.snapshot(opportunity) == before


# ---------------------------------------- closing and deleting
@pytest.mark.parametrize("state", ["draft", "active"])
@pytest.mark.parametrize("reason", [QuoteStatus.LOST, QuoteStatus.CANCELED])
def test_a_draft_or_active_quote_closes_as_lost_or_canceled(deals: Deals, state: str, reason: QuoteStatus) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity) if state == "draft" else deals.active(opportunity)
    on = deals.today - timedelta(days=1)

    closed = opportunity.close_quote(quote.id, reason, on=on, description="No budget", at=deals.now())

    assert (quote.state, quote.status_reason, quote.closed_on, quote.close_description) == (
        QuoteState.CLOSED,
        reason,
        on,
        "No budget",
    )
    assert (closed.id, closed.previous_state, closed.state, closed.status_reason) == (
        quote.id,
        QuoteState(state),
        QuoteState.CLOSED,
        reason,
    )


@pytest.mark.parametrize("reason", [QuoteStatus.REVISED, QuoteStatus.WON, QuoteStatus.OPEN, QuoteStatus.IN_PROGRESS])
def test_a_quote_closes_only_as_lost_or_canceled(deals: Deals, reason: QuoteStatus) -> None:
    opportunity = deals.opportunity()
    quote = deals.active(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.close_quote(quote.id, reason, on=deals.today, description=None, at=deals.now())

    assert _fields(refused.value) == ["status_reason"]
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("close", ["won", "lost"])
def test_a_draft_of_a_closed_deal_can_still_be_closed_or_deleted_one_by_one(deals: Deals, close: str) -> None:
    opportunity = deals.opportunity()
    to_close = deals.draft(opportunity)
    to_delete = deals.draft(opportunity)
    (deals.close_won if close == "won" else deals.close_lost)(opportunity)

    opportunity.close_quote(to_close.id, QuoteStatus.CANCELED, on=deals.today, description=None, at=deals.now())
    opportunity.delete_quote(to_delete.id, at=deals.now())

    assert to_close.state is QuoteState.CLOSED
    assert opportunity.quotes == [to_close]
    assert opportunity.state is OpportunityState(close)


def test_deleting_a_draft_removes_it_with_its_lines(deals: Deals) -> None:
    opportunity = deals.opportunity()
    keep = deals.draft(opportunity)
    quote = deals.draft(opportunity)

    deleted = opportunity.delete_quote(quote.id, at=deals.now())

    assert deleted is quote
    assert opportunity.quotes == [keep]
    with pytest.raises(DomainError) as refused:
        opportunity.quote(quote.id)
    assert refused.value.code == "not_found"


# ---------------------------------------- revise and copy
def test_revising_keeps_the_number_with_the_next_revision_and_closes_the_old_as_revised(deals: Deals) -> None:
    opportunity = deals.opportunity()
    lines = [deals.line("Build", "3", "333.33"), deals.line("Discount", "1", "-99.99")]
    old = deals.active(opportunity, lines=lines, name="Rollout")

    new = deals.revise(opportunity, old)

    assert (old.state, old.status_reason, old.closed_on) == (QuoteState.CLOSED, QuoteStatus.REVISED, deals.today)
    assert (new.number, new.revision) == (old.number, 1)
    assert (new.state, new.status_reason) == (QuoteState.DRAFT, QuoteStatus.IN_PROGRESS)
    assert (new.name, new.lines, new.total_amount, new.valid_until) == (
        "Rollout",
        tuple(lines),
        Decimal("900.00"),
        old.valid_until,
    )
    assert new.id != old.id
    assert opportunity.quotes[-1] is new


def test_revising_a_revision_counts_on(deals: Deals) -> None:
    opportunity = deals.opportunity()
    first = deals.active(opportunity)
    second = deals.revise(opportunity, first)
    opportunity.activate_quote(second.id, today=deals.today, at=deals.now())

    third = deals.revise(opportunity, second)

    assert [(q.number, q.revision, q.state) for q in (first, second, third)] == [
        (first.number, 0, QuoteState.CLOSED),
        (first.number, 1, QuoteState.CLOSED),
        (first.number, 2, QuoteState.DRAFT),
    ]


@pytest.mark.parametrize("state", ["draft", "active", "won", "closed"])
def test_a_copy_is_a_new_draft_with_a_new_number_and_the_same_lines(deals: Deals, state: str) -> None:
    opportunity = deals.opportunity()
    lines = [deals.line("Build", "2", "500.00"), deals.line("Discount", "1", "-50.00")]
    make = {"draft": deals.draft, "active": deals.active, "won": deals.won}
    source = make[state](opportunity, lines=lines) if state in make else deals.closed(opportunity)
    source_view = source.audit_view()

    copy = deals.copy(opportunity, source)

    assert copy.number != source.number
    assert (copy.revision, copy.state, copy.status_reason) == (0, QuoteState.DRAFT, QuoteStatus.IN_PROGRESS)
    assert (copy.name, copy.lines, copy.total_amount) == (source.name, source.lines, source.total_amount)
    assert source.audit_view() == source_view


@pytest.mark.parametrize("close", ["won", "lost"])
def test_quotes_of_a_closed_deal_cannot_be_created_revised_or_copied(deals: Deals, close: str) -> None:
    opportunity = deals.opportunity()
    closed = deals.closed(opportunity)
    (deals.close_won if close == "won" else deals.close_lost)(opportunity)
    before = deals.snapshot(opportunity)

    attempts: tuple[Callable[[], object], ...] = (
        lambda: deals.draft(opportunity),
        lambda: deals.copy(opportunity, closed),
        lambda: deals.revise(opportunity, closed),
    )
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code == "opportunity_not_open"
    assert deals.snapshot(opportunity) == before


# ---------------------------------------- winning
def test_winning_a_quote_closes_its_siblings_as_lost_and_starts_a_draft_contract(deals: Deals) -> None:
    opportunity = deals.opportunity()
    lines = [deals.line("Design", "1.5", "0.03"), deals.line("Build", "2", "1000.00")]
    quote = deals.active(opportunity, lines=lines)
    active_sibling = deals.active(opportunity)
    draft_sibling = deals.draft(opportunity)
    cancelled = deals.closed(opportunity, reason=QuoteStatus.CANCELED)
    close_date = deals.today - timedelta(days=1)

    result = deals.win(opportunity, quote, close_date=close_date, description="Signed")

    assert (quote.state, quote.status_reason, quote.closed_on) == (QuoteState.WON, QuoteStatus.WON, close_date)
    assert [(c.id, c.previous_state, c.state, c.status_reason) for c in result.closed_quotes] == [
        (active_sibling.id, QuoteState.ACTIVE, QuoteState.CLOSED, QuoteStatus.LOST),
        (draft_sibling.id, QuoteState.DRAFT, QuoteState.CLOSED, QuoteStatus.LOST),
    ]
    assert (cancelled.state, cancelled.status_reason) == (QuoteState.CLOSED, QuoteStatus.CANCELED)
    contract = result.contract
    assert (contract.state, contract.quote_id, contract.opportunity_id) == (
        ContractState.DRAFT,
        quote.id,
        opportunity.id,
    )
    assert (contract.account_id, contract.currency, contract.total_amount) == (
        deals.account_id,
        "USD",
        Decimal("2000.05"),
    )
    assert [(ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in contract.lines] == [
        ("Design", Decimal("1.5"), Decimal("0.03"), Decimal("0.05")),
        ("Build", Decimal("2"), Decimal("1000.00"), Decimal("2000.00")),
    ]
    assert (opportunity.won_quote_id, opportunity.contract_id) == (quote.id, contract.id)
    assert result.quote is quote


def test_winning_leaves_the_deal_open_by_default(deals: Deals) -> None:
    opportunity = deals.opportunity()

    result = deals.win(opportunity, deals.active(opportunity))

    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.OPEN, OpportunityStatus.IN_PROGRESS)
    assert result.close is None
    assert opportunity.standing_close is None
    assert opportunity.actual_revenue is None


def test_winning_with_close_opportunity_also_closes_the_deal_as_won_for_the_quote_total(deals: Deals) -> None:
    opportunity = deals.opportunity(estimated_revenue="99999.00")
    quote = deals.active(opportunity, lines=[deals.line("Build", "7", "123.45")])
    competitor_id = deals.new_id()
    close_date = deals.today - timedelta(days=2)

    result = deals.win(opportunity, quote, close_opportunity=True, close_date=close_date, competitor_id=competitor_id)

    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.WON, OpportunityStatus.WON)
    assert (opportunity.actual_revenue, opportunity.actual_close_date) == (Decimal("864.15"), close_date)
    assert result.close is not None
    assert opportunity.standing_close is result.close
    assert (result.close.won_quote_id, result.close.actual_revenue, result.close.competitor_id) == (
        quote.id,
        Decimal("864.15"),
        competitor_id,
    )


def test_winning_with_a_future_close_date_is_a_validation_error(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.active(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        deals.win(opportunity, quote, close_date=deals.today + timedelta(days=1))

    assert _fields(refused.value) == ["close_date"]
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_only_an_active_quote_can_be_won(deals: Deals, state: str) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity) if state == "draft" else deals.closed(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        deals.win(opportunity, quote)

    assert refused.value.code == "invalid_transition"
    assert deals.snapshot(opportunity) == before


# ---------------------------------------- versions
QuoteChange = Callable[["Deals", Opportunity, Quote], object]

QUOTE_CHANGES: dict[str, tuple[str, QuoteChange]] = {
    "add": ("draft", lambda deals, opp, quote: deals.draft(opp)),
    "edit": ("draft", lambda deals, opp, quote: opp.edit_quote(quote.id, name="New name", at=deals.now())),
    "activate": ("draft", lambda deals, opp, quote: opp.activate_quote(quote.id, today=deals.today, at=deals.now())),
    "close": (
        "active",
        lambda deals, opp, quote: opp.close_quote(
            quote.id, QuoteStatus.LOST, on=deals.today, description=None, at=deals.now()
        ),
    ),
    "delete": ("draft", lambda deals, opp, quote: opp.delete_quote(quote.id, at=deals.now())),
    "revise": ("active", lambda deals, opp, quote: deals.revise(opp, quote)),
    "copy": ("active", lambda deals, opp, quote: deals.copy(opp, quote)),
    "win": ("active", lambda deals, opp, quote: deals.win(opp, quote)),
    "close all": (
        "draft",
        lambda deals, opp, quote: opp.close_all_quotes(
            QuoteStatus.CANCELED, description=None, today=deals.today, at=deals.now()
        ),
    ),
}


@pytest.mark.parametrize("change", list(QUOTE_CHANGES))
def test_every_quote_change_bumps_the_opportunity_version(deals: Deals, change: str) -> None:
    opportunity = deals.opportunity()
    start_state, act = QUOTE_CHANGES[change]
    quote = deals.draft(opportunity) if start_state == "draft" else deals.active(opportunity)
    version, updated_at = opportunity.version, opportunity.updated_at

    act(deals, opportunity, quote)

    assert opportunity.version > version
    assert opportunity.updated_at > updated_at


def test_a_quote_change_bumps_the_quote_version_too(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    assert quote.version == 1

    opportunity.edit_quote(quote.id, name="New name", at=deals.now())
    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert quote.version == 3


def test_a_refused_quote_change_does_not_bump_the_version(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity, lines=[])
    version = opportunity.version

    with pytest.raises(DomainError):
        opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    assert (opportunity.version, quote.version) == (version, 1)


def test_the_quote_total_follows_every_edit_of_its_lines(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    for lines in (
        [deals.line("A", "0.5", "0.09")],
        [deals.line("A", "1", "10.00"), deals.line("B", "1", "-2.50")],
        [],
    ):
        opportunity.edit_quote(quote.id, lines=lines, at=deals.now())
        assert quote.total_amount == sum((line.amount for line in lines), Decimal("0.00"))
        assert quote.line_count == len(lines)
