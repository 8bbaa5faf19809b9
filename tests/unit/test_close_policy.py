"""The close policy (SPEC §11): required close reason per outcome, competitor when out-sold, description when lost."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import pytest

from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy
from dealdesk.domain.closing import CloseDetails, CloseResult
from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome

if TYPE_CHECKING:
    from tests.unit.conftest import Deals

STRICT = ClosePolicy(
    require_close_reason_won=True,
    require_close_reason_lost=True,
    require_competitor_when_out_sold=True,
    require_description_when_lost=True,
)
REASON = UUID(int=9001)
RIVAL = UUID(int=9002)


def _close(
    deals: Deals,
    opportunity: Opportunity,
    policy: ClosePolicy,
    outcome: Outcome,
    status_reason: OpportunityStatus | None = None,
    **given: object,
) -> CloseResult:
    details = CloseDetails(outcome=outcome, close_date=deals.today, status_reason=status_reason, **given)  # type: ignore[arg-type]
    return opportunity.close(
        details, close_id=deals.new_id(), by=deals.user_id, today=deals.today, at=deals.now(), policy=policy
    )


def _fields(error: ValidationFailed) -> list[str]:
    return [fault.field for fault in error.errors]


def test_the_default_policy_requires_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()

    _close(deals, opportunity, ClosePolicy(), Outcome.LOST, OpportunityStatus.OUT_SOLD)

    assert opportunity.state is OpportunityState.LOST
    assert ClosePolicy() == NO_POLICY
    assert NO_POLICY.as_dict() == {
        "require_close_reason": {"won": False, "lost": False},
        "require_competitor_when_out_sold": False,
        "require_description_when_lost": False,
    }


def test_a_strict_policy_names_every_missing_field_of_an_out_sold_close_and_changes_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        _close(deals, opportunity, STRICT, Outcome.LOST, OpportunityStatus.OUT_SOLD, description="   ")

    assert refused.value.code == "validation_error"
    assert _fields(refused.value) == ["close_reason_id", "competitor_id", "description"]
    assert all("close policy" in fault.message for fault in refused.value.errors)
    assert deals.snapshot(opportunity) == before


def test_a_canceled_lost_close_needs_no_competitor(deals: Deals) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        _close(deals, opportunity, STRICT, Outcome.LOST, OpportunityStatus.CANCELED)

    assert _fields(refused.value) == ["close_reason_id", "description"]


def test_a_won_close_needs_only_its_own_outcomes_reason(deals: Deals) -> None:
    lost_only = ClosePolicy(require_close_reason_lost=True, require_description_when_lost=True)
    _close(deals, deals.opportunity(), lost_only, Outcome.WON)

    with pytest.raises(ValidationFailed) as refused:
        _close(deals, deals.opportunity(), STRICT, Outcome.WON)
    assert _fields(refused.value) == ["close_reason_id"]


def test_a_close_that_carries_what_the_policy_requires_succeeds(deals: Deals) -> None:
    opportunity = deals.opportunity()

    result = _close(
        deals,
        opportunity,
        STRICT,
        Outcome.LOST,
        OpportunityStatus.OUT_SOLD,
        close_reason_id=REASON,
        competitor_id=RIVAL,
        description="Lost on price",
    )

    assert result.close.competitor_id == RIVAL
    assert opportunity.state is OpportunityState.LOST


def test_policy_faults_are_reported_with_the_other_input_faults(deals: Deals) -> None:
    opportunity = deals.opportunity()

    with pytest.raises(ValidationFailed) as refused:
        _close(deals, opportunity, STRICT, Outcome.LOST, OpportunityStatus.OUT_SOLD, description="x" * 2001)

    assert _fields(refused.value) == ["description", "close_reason_id", "competitor_id"]
    assert "2000" in refused.value.errors[0].message


def test_winning_a_quote_with_close_opportunity_is_held_to_the_policy_before_anything_changes(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.active(opportunity)
    before = deals.snapshot(opportunity)

    with pytest.raises(ValidationFailed) as refused:
        opportunity.win_quote(
            quote.id,
            contract_id=deals.new_id(),
            close_date=deals.today,
            description=None,
            competitor_id=None,
            close_opportunity=True,
            close_id=deals.new_id(),
            by=deals.user_id,
            today=deals.today,
            at=deals.now(),
            policy=STRICT,
        )

    assert _fields(refused.value) == ["close_reason_id"]
    assert deals.snapshot(opportunity) == before


def test_winning_a_quote_without_closing_the_deal_is_not_a_close_and_needs_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.active(opportunity)

    result = opportunity.win_quote(
        quote.id,
        contract_id=deals.new_id(),
        close_date=deals.today,
        description=None,
        competitor_id=None,
        close_opportunity=False,
        close_id=deals.new_id(),
        by=deals.user_id,
        today=deals.today,
        at=deals.now(),
        policy=STRICT,
    )

    assert result.close is None
    assert opportunity.state is OpportunityState.OPEN


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"close_reason_id": None}, "close_reason_id"),
        ({"competitor_id": None}, "competitor_id"),
        ({"description": " "}, "description"),
    ],
)
def test_a_correction_may_not_clear_a_value_the_policy_requires(
    deals: Deals, change: dict[str, object], field: str
) -> None:
    opportunity = deals.opportunity()
    record = _close(
        deals,
        opportunity,
        STRICT,
        Outcome.LOST,
        OpportunityStatus.OUT_SOLD,
        close_reason_id=REASON,
        competitor_id=RIVAL,
        description="Lost on price",
    ).close
    kept = record.audit_view()

    with pytest.raises(ValidationFailed) as refused:
        record.correct(changes=change, at=deals.now(), policy=STRICT)

    assert _fields(refused.value) == [field]
    assert record.audit_view() == kept


def test_a_correction_of_another_field_is_allowed_on_a_record_older_than_the_policy(deals: Deals) -> None:
    opportunity = deals.opportunity()
    record = _close(deals, opportunity, NO_POLICY, Outcome.LOST, OpportunityStatus.OUT_SOLD).close

    record.correct(changes={"description": "Lost on price"}, at=deals.now(), policy=STRICT)

    assert record.description == "Lost on price"
    assert record.close_reason_id is None


def test_required_fields_follow_outcome_and_status_reason() -> None:
    assert STRICT.required_fields(Outcome.WON, OpportunityStatus.WON) == ("close_reason_id",)
    assert STRICT.required_fields(Outcome.LOST, OpportunityStatus.CANCELED) == ("close_reason_id", "description")
    assert STRICT.required_fields(Outcome.LOST, OpportunityStatus.OUT_SOLD) == (
        "close_reason_id",
        "competitor_id",
        "description",
    )
    assert NO_POLICY.required_fields(Outcome.LOST, OpportunityStatus.OUT_SOLD) == ()
