"""Several use cases in one transaction (services/changesets.py): they commit together or not at all."""

from __future__ import annotations

import pytest

from dealdesk.domain.errors import ActiveQuotesBlockClose
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome
from dealdesk.services import closing, opportunities
from dealdesk.services.changesets import changeset
from tests.integration.builders import Desk
from tests.use_cases.support import seen


def test_a_changeset_whose_last_change_is_refused_leaves_the_earlier_ones_undone(desk: Desk) -> None:
    renamed, blocked = desk.opportunity("Renamed"), desk.opportunity("Blocked")
    desk.active(blocked.id)
    before = [seen(desk, renamed.id), seen(desk, blocked.id)]

    with pytest.raises(ActiveQuotesBlockClose), changeset(desk.uow) as joined:
        opportunities.edit_opportunity(joined, renamed.id, OpportunityChanges(name="New name"), actor=desk.actor)
        closing.close_opportunity(joined, blocked.id, desk.details(Outcome.WON), actor=desk.actor)

    assert [seen(desk, renamed.id), seen(desk, blocked.id)] == before


def test_a_changeset_commits_every_change_together(desk: Desk) -> None:
    deal = desk.opportunity()
    desk.close(deal.id, Outcome.LOST)

    with changeset(desk.uow) as joined:
        closing.reopen_opportunity(joined, deal.id, status_reason=None, reason=None, actor=desk.actor)
        opportunities.edit_opportunity(joined, deal.id, OpportunityChanges(name="Second wind"), actor=desk.actor)

    read = desk.read(deal.id)
    assert (read.state, read.status_reason, read.name) == (
        OpportunityState.OPEN,
        OpportunityStatus.IN_PROGRESS,
        "Second wind",
    )


def test_repositories_answer_only_inside_a_transaction_and_one_at_a_time(desk: Desk) -> None:
    deal = desk.opportunity()

    with pytest.raises(RuntimeError, match="transaction"):
        desk.uow.opportunities.get(deal.id)
    with desk.uow.transaction(), pytest.raises(RuntimeError), desk.uow.transaction():
        pass


def test_an_aggregate_changed_but_not_saved_changes_nothing(desk: Desk) -> None:
    deal = desk.opportunity("As it was")

    with desk.uow.transaction():
        loaded = desk.uow.opportunities.lock(deal.id)
        loaded.edit(OpportunityChanges(name="Never saved"), at=desk.uow.clock.now())

    assert desk.read(deal.id).name == "As it was"
