"""Every write is in the database when the repository call that makes it returns: the transaction's next read sees
it, whichever repository reads, with nothing kept back to be sent later."""

from __future__ import annotations

from uuid import uuid4

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.records import Change
from dealdesk.domain.states import Outcome
from tests.integration.builders import Desk


def test_a_saved_close_is_seen_at_once_by_the_next_read_of_the_same_transaction(desk: Desk, uow: SqlUnitOfWork) -> None:
    deal = desk.opportunity()
    with uow.transaction():
        opportunity = uow.opportunities.lock(deal.id)
        opportunity.close(
            CloseDetails(outcome=Outcome.WON, close_date=desk.today),
            close_id=uuid4(),
            by=desk.actor.id,
            today=desk.today,
            at=uow.clock.now(),
            created_on=desk.today,
            policy=uow.close_policy.get(),
        )
        uow.opportunities.save(opportunity, by=desk.actor.id)

        assert [c.opportunity_id for c in uow.closes.list_for(deal.id, limit=10, cursor=None).items] == [deal.id]
        assert uow.opportunities.get(deal.id).state.value == "won"
        entries = uow.audit.list_for_opportunity(deal.id, limit=10, cursor=None).items
        assert {(e.record_type, e.action) for e in entries} >= {
            ("opportunity", "close"),
            ("opportunity_close", "create"),
        }


def test_an_audit_entry_is_seen_at_once_by_the_next_read_of_the_same_transaction(
    desk: Desk, uow: SqlUnitOfWork
) -> None:
    with uow.transaction():
        uow.audit.record(
            [Change("user", desk.actor.id, "rename", None, {"name": "x"})], by=desk.actor.id, at=uow.clock.now()
        )

        entries = uow.audit.list_for(desk.actor.id, limit=10, cursor=None).items
        assert [e.action for e in entries] == ["rename"]
