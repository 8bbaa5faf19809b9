"""Opening and editing an opportunity (SPEC §2, §3): field rules, on hold / in progress, and edits that are refused
leaving the deal as it was."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, OpportunityStatus

if TYPE_CHECKING:
    from tests.unit.conftest import Deals


def _fields(error: ValidationFailed) -> list[str]:
    return [e.field for e in error.errors]


def test_a_new_opportunity_is_open_and_in_progress_at_version_one(deals: Deals) -> None:
    opportunity = deals.opportunity(estimated_revenue="1250")

    assert (opportunity.state, opportunity.status_reason, opportunity.version) == (
        OpportunityState.OPEN,
        OpportunityStatus.IN_PROGRESS,
        1,
    )
    assert f"{opportunity.estimated_revenue}" == "1250.00"
    assert (opportunity.actual_revenue, opportunity.actual_close_date, opportunity.won_quote_id) == (None, None, None)
    assert opportunity.standing_close is None
    assert opportunity.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 301}, "name"),
        ({"estimated_revenue": Decimal("-1")}, "estimated_revenue"),
        ({"estimated_revenue": Decimal("0.001")}, "estimated_revenue"),
        ({"estimated_revenue": Decimal("1000000000000")}, "estimated_revenue"),
        ({"description": "x" * 2001}, "description"),
    ],
)
def test_a_new_opportunity_keeps_the_field_rules(deals: Deals, options: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "id": deals.new_id(),
        "name": "Deal",
        "account_id": deals.account_id,
        "currency": "USD",
        "estimated_revenue": Decimal("10.00"),
        "estimated_close_date": None,
        "description": None,
        "owner_id": deals.owner_id,
        "at": deals.now(),
    }

    with pytest.raises(ValidationFailed) as refused:
        Opportunity.open_new(**{**values, **options})

    assert _fields(refused.value) == [field]


def test_editing_an_open_deal_changes_its_fields_and_bumps_the_version(deals: Deals) -> None:
    opportunity = deals.opportunity()
    version = opportunity.version

    opportunity.edit(
        OpportunityChanges(name="  Renamed  ", estimated_revenue=Decimal("42"), estimated_close_date=date(2024, 9, 1)),
        at=deals.now(),
    )

    assert (opportunity.name, opportunity.estimated_revenue, opportunity.estimated_close_date) == (
        "Renamed",
        Decimal("42.00"),
        date(2024, 9, 1),
    )
    assert opportunity.version == version + 1


def test_the_currency_cannot_change_once_the_deal_has_quotes(deals: Deals) -> None:
    opportunity = deals.opportunity()
    deals.draft(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.edit(OpportunityChanges(currency="EUR"), at=deals.now())

    assert _fields(refused.value) == ["currency"]
    assert opportunity.currency == "USD"


def test_the_currency_can_change_while_there_is_no_quote(deals: Deals) -> None:
    opportunity = deals.opportunity()

    opportunity.edit(OpportunityChanges(currency="EUR"), at=deals.now())

    assert opportunity.currency == "EUR"


def test_state_and_close_fields_are_not_among_the_fields_an_edit_can_set() -> None:
    editable = {f.name for f in fields(OpportunityChanges)}

    assert editable.isdisjoint({"state", "actual_revenue", "actual_close_date", "won_quote_id", "version", "id"})


@pytest.mark.parametrize("reason", [OpportunityStatus.WON, OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD])
def test_an_edit_sets_only_in_progress_or_on_hold(deals: Deals, reason: OpportunityStatus) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        opportunity.edit(OpportunityChanges(status_reason=reason), at=deals.now())

    assert _fields(refused.value) == ["status_reason"]
    assert opportunity.status_reason is OpportunityStatus.IN_PROGRESS


def test_a_refused_edit_leaves_the_deal_unchanged(deals: Deals) -> None:
    """I5: one bad field refuses the whole edit; the good fields must not half-apply."""
    opportunity = deals.opportunity()
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.edit(OpportunityChanges(name="Renamed", estimated_revenue=Decimal("-1")), at=deals.now())

    assert _fields(refused.value) == ["estimated_revenue"]
    assert opportunity.name == "Data platform rollout"
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("close", ["won", "lost"])
def test_a_closed_deal_cannot_be_edited(deals: Deals, close: str) -> None:
    opportunity = deals.opportunity()
    (deals.close_won if close == "won" else deals.close_lost)(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.edit(OpportunityChanges(name="Renamed"), at=deals.now())

    assert refused.value.code == "opportunity_not_open"
    assert deals.snapshot(opportunity) == before


def test_every_faulty_field_of_an_edit_is_reported_together(deals: Deals) -> None:
    opportunity = deals.opportunity()
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.edit(OpportunityChanges(name="", estimated_revenue=Decimal("-1"), currency="usd"), at=deals.now())

    assert _fields(refused.value) == ["name", "currency", "estimated_revenue"]
    assert deals.snapshot(opportunity) == before


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", ""])
def test_an_edited_currency_must_be_a_three_letter_iso_code(deals: Deals, currency: str) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        opportunity.edit(OpportunityChanges(currency=currency), at=deals.now())

    assert _fields(refused.value) == ["currency"]
    assert opportunity.currency == "USD"


def test_a_faulty_edit_of_a_closed_deal_is_an_input_fault_before_a_state_conflict(deals: Deals) -> None:
    """SPEC §7: 422 is checked before 409."""
    opportunity = deals.opportunity()
    deals.close_won(opportunity)

    with pytest.raises(DomainError) as refused:
        opportunity.edit(OpportunityChanges(estimated_revenue=Decimal("-1")), at=deals.now())

    assert refused.value.code == "validation_error"
