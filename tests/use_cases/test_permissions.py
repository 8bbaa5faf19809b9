"""Who may do what (SPEC §8), judged by the use cases themselves: a refused actor changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Forbidden
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, Outcome, QuoteStatus
from dealdesk.services import catalogue, closing, opportunities, quotes
from dealdesk.services.permissions import Attempt, Named, require_may_attempt
from dealdesk.services.reads import Record
from tests.integration.builders import Desk
from tests.use_cases.support import seen


def test_a_sales_user_acts_on_their_own_deal_but_not_on_someone_elses(desk: Desk) -> None:
    sam, sue = desk.user("sam", "sales"), desk.user("sue", "sales")
    sams = desk.opportunity("Sam's", actor=sam)
    quote = desk.active(sams.id)
    before = seen(desk, sams.id)

    for attempt in (
        lambda: desk.close(sams.id, Outcome.LOST, actor=sue),
        lambda: quotes.win_quote(desk.uow, quote.id, quotes.WinDetails(), actor=sue),
        lambda: closing.close_all_quotes(desk.uow, sams.id, reason=QuoteStatus.LOST, description=None, actor=sue),
        lambda: opportunities.edit_opportunity(desk.uow, sams.id, OpportunityChanges(name="Mine now"), actor=sue),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert seen(desk, sams.id) == before

    desk.close(sams.id, Outcome.LOST, close_quotes=QuoteStatus.LOST, actor=sam)
    assert desk.read(sams.id).state is OpportunityState.LOST


def test_a_sales_user_may_not_reassign_their_deal_but_a_manager_may(desk: Desk) -> None:
    sam, mia = desk.user("sam", "sales"), desk.user("mia", "manager")
    deal = desk.opportunity(actor=sam)

    with pytest.raises(Forbidden):
        opportunities.edit_opportunity(desk.uow, deal.id, OpportunityChanges(owner_id=mia.id), actor=sam)
    opportunities.edit_opportunity(desk.uow, deal.id, OpportunityChanges(owner_id=mia.id), actor=mia)

    assert desk.read(deal.id).owner_id == mia.id


def test_a_viewer_reads_but_creates_and_changes_nothing(desk: Desk) -> None:
    vic = desk.user("vic", "viewer")
    deal = desk.opportunity()

    with pytest.raises(Forbidden):
        catalogue.create_account(desk.uow, name="Viewer's", actor=vic)
    with pytest.raises(Forbidden):
        desk.opportunity(actor=vic)
    with pytest.raises(Forbidden):
        desk.close(deal.id, Outcome.LOST, actor=vic)

    assert desk.read(deal.id).state is OpportunityState.OPEN


ManagersWork = Callable[[Desk, Actor, UUID], object]
MANAGERS_WORK: dict[str, ManagersWork] = {
    "bulk close": lambda d, who, deal: closing.bulk_close(d.uow, [deal], d.details(Outcome.LOST), actor=who),
    "add a competitor": lambda d, who, deal: catalogue.create_competitor(d.uow, name="Rival", actor=who),
    "add a close reason": lambda d, who, deal: catalogue.create_close_reason(
        d.uow, outcome=Outcome.LOST, name="Price", active=True, actor=who
    ),
}


@pytest.mark.parametrize("work", MANAGERS_WORK.values(), ids=MANAGERS_WORK.keys())
def test_catalogues_and_bulk_close_are_managers_work(desk: Desk, work: ManagersWork) -> None:
    sam, mia = desk.user("sam", "sales"), desk.user("mia", "manager")
    deal = desk.opportunity(actor=sam).id

    with pytest.raises(Forbidden):
        work(desk, sam, deal)
    work(desk, mia, deal)


def test_a_sales_user_attempting_a_change_to_someone_elses_quote_is_refused_before_their_input_is_judged(
    desk: Desk,
) -> None:
    sam, sue = desk.user("sam", "sales"), desk.user("sue", "sales")
    quote = desk.draft(desk.opportunity(actor=sam).id)

    with pytest.raises(Forbidden):
        require_may_attempt(desk.uow, sue, Attempt.ACT_ON_QUOTE, Named(Record.QUOTE, quote.id))
    require_may_attempt(desk.uow, sam, Attempt.ACT_ON_QUOTE, Named(Record.QUOTE, quote.id))
