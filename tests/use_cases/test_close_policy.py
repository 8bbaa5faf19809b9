"""The close policy (SPEC §11): what a close must carry, set by managers, enforced on every way to close."""

from __future__ import annotations

import pytest

from dealdesk.domain.close_policy import CLOSE_POLICY_ID, NO_POLICY, ClosePolicy
from dealdesk.domain.errors import Forbidden, ValidationFailed
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome
from dealdesk.services import closing
from dealdesk.services.close_policy import get_close_policy, set_close_policy
from tests.integration.builders import Desk
from tests.use_cases.support import history, seen

STRICT = ClosePolicy(
    require_close_reason_won=True, require_competitor_when_out_sold=True, require_description_when_lost=True
)


def test_nothing_is_required_until_a_manager_sets_a_policy_and_setting_it_is_audited(desk: Desk) -> None:
    assert get_close_policy(desk.uow) == NO_POLICY

    set_close_policy(desk.uow, STRICT, actor=desk.actor)

    assert get_close_policy(desk.uow) == STRICT
    assert history(desk, CLOSE_POLICY_ID) == [("close_policy", "edit")]


def test_setting_the_same_policy_again_changes_and_audits_nothing(desk: Desk) -> None:
    set_close_policy(desk.uow, STRICT, actor=desk.actor)

    set_close_policy(desk.uow, STRICT, actor=desk.actor)

    assert len(history(desk, CLOSE_POLICY_ID)) == 1


def test_only_managers_set_the_close_policy(desk: Desk) -> None:
    sam = desk.user("sam", "sales")

    with pytest.raises(Forbidden):
        set_close_policy(desk.uow, STRICT, actor=sam)

    assert get_close_policy(desk.uow) == NO_POLICY


def test_a_close_leaving_out_what_the_policy_requires_is_refused_naming_every_field_and_changes_nothing(
    desk: Desk,
) -> None:
    opportunity = desk.opportunity()
    set_close_policy(desk.uow, STRICT, actor=desk.actor)
    before = seen(desk, opportunity.id)

    with pytest.raises(ValidationFailed) as refused:
        desk.close(opportunity.id, Outcome.LOST, status_reason=OpportunityStatus.OUT_SOLD)

    assert sorted(e.field for e in refused.value.errors) == ["competitor_id", "description"]
    assert seen(desk, opportunity.id) == before
    desk.close(
        opportunity.id,
        Outcome.LOST,
        status_reason=OpportunityStatus.OUT_SOLD,
        competitor_id=desk.competitor().id,
        description="Cheaper elsewhere",
    )
    assert desk.read(opportunity.id).state is OpportunityState.LOST


def test_the_policy_applies_to_a_win_that_closes_the_deal_but_not_to_a_win_alone(desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    set_close_policy(desk.uow, STRICT, actor=desk.actor)

    with pytest.raises(ValidationFailed) as refused:
        desk.win(quote.id, close_opportunity=True)
    assert [e.field for e in refused.value.errors] == ["close_reason_id"]

    desk.win(quote.id)
    assert desk.read(opportunity.id).won_quote_id == quote.id


def test_a_bulk_close_refuses_each_deal_the_policy_refuses(desk: Desk) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(2)]
    set_close_policy(desk.uow, ClosePolicy(require_description_when_lost=True), actor=desk.actor)

    result = closing.bulk_close(desk.uow, ids, desk.details(Outcome.LOST), actor=desk.actor)

    assert [(row.ok, row.error.code if row.error else None) for row in result.results] == [
        (False, "validation_error"),
        (False, "validation_error"),
    ]
    assert {desk.read(i).state for i in ids} == {OpportunityState.OPEN}
