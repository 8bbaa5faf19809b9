from __future__ import annotations

from decimal import Decimal

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.services import catalogue, opportunities


def test_a_created_opportunity_can_be_read_back_on_each_engine(uow: SqlUnitOfWork, admin: Actor) -> None:
    account = catalogue.create_account(uow, name="Acme", actor=admin)
    created = opportunities.create_opportunity(
        uow,
        opportunities.NewOpportunity(name="Deal", account_id=account.id, estimated_revenue=Decimal("10.50")),
        actor=admin,
    )
    read = opportunities.get_opportunity(uow, created.id)
    assert read.estimated_revenue == Decimal("10.50")
    assert read.owner_id == admin.id
