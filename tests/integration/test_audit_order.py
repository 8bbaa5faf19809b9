"""Audit entries written at one moment read back in the order they were written (newest first: the last written
comes first), however many writes of the transaction they came from, and whatever their random ids."""

from __future__ import annotations

from uuid import uuid4

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.domain.records import Change
from tests.integration.builders import Desk


def test_entries_of_one_moment_written_by_several_calls_read_back_newest_written_first(
    uow: SqlUnitOfWork, admin: Actor, desk: Desk
) -> None:
    opportunity_id = desk.opportunity().id  # audit entries name a real opportunity (a foreign key)
    written = [Change("quote", uuid4(), f"step-{n}", None, None) for n in range(12)]
    with uow.transaction():
        at = uow.clock.now()
        for change in written:  # one write each, as a use case saving several records does
            uow.audit.record([change], by=admin.id, at=at, opportunity_id=opportunity_id)
    with uow.transaction(write=False):
        read = uow.audit.list_for_opportunity(opportunity_id, limit=50, cursor=None).items
    steps = [e.action for e in read if e.action.startswith("step-")]  # the opportunity's own creation comes last
    assert steps == [c.action for c in reversed(written)]
