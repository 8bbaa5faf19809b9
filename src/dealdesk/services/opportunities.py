"""Creating, editing and reading opportunities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from dealdesk.domain.access import Actor
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import KEEP, OpportunityChanges
from dealdesk.domain.values import check_currency, check_storable
from dealdesk.services import guards
from dealdesk.services.guards import NO_PRECONDITIONS, Preconditions
from dealdesk.services.ports import KeptAnswer, OpportunityFilter, Page, UnitOfWork
from dealdesk.services.references import check_account


@dataclass(frozen=True)
class NewOpportunity:
    name: str
    account_id: UUID
    estimated_revenue: Decimal
    currency: str = "USD"
    estimated_close_date: date | None = None
    description: str | None = None


def create_opportunity(uow: UnitOfWork, new: NewOpportunity, *, actor: Actor) -> Opportunity:
    """A new deal starts open and in progress, owned by whoever creates it."""
    actor.require_may_create()
    with uow.transaction():
        check_account(uow, new.account_id)
        opportunity = Opportunity.open_new(
            id=uuid4(),
            name=new.name,
            account_id=new.account_id,
            currency=check_currency(new.currency),
            estimated_revenue=new.estimated_revenue,
            estimated_close_date=new.estimated_close_date,
            description=new.description,
            owner_id=actor.id,
            at=uow.clock.now(),
        )
        uow.opportunities.add(opportunity)
        uow.audit.record(opportunity.changes, by=actor.id, at=opportunity.created_at, opportunity_id=opportunity.id)
        return opportunity


def edit_opportunity(
    uow: UnitOfWork,
    opportunity_id: UUID,
    changes: OpportunityChanges,
    *,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
) -> Opportunity:
    """While open: the deal's own fields, and on hold / in progress. Owners change only by a manager."""
    with uow.transaction():
        opportunity = uow.opportunities.lock(opportunity_id)
        actor.require_may_act_on(opportunity.owner_id)
        if changes.owner_id is not KEEP:
            actor.require_manager("reassign opportunities")
        if changes.account_id is not KEEP:
            check_account(uow, changes.account_id)
        changes.checked()
        guards.check(uow, pre, current_version=opportunity.version)
        opportunity.edit(changes, at=uow.clock.now())
        save(uow, opportunity, actor)
        return opportunity


def get_opportunity(uow: UnitOfWork, opportunity_id: UUID) -> Opportunity:
    with uow.transaction(write=False):
        return uow.opportunities.get(opportunity_id)


def list_opportunities(
    uow: UnitOfWork, where: OpportunityFilter, *, limit: int, cursor: str | None
) -> Page[Opportunity]:
    """Newest first."""
    if where.q is not None:
        check_storable(where.q, field="q")
    with uow.transaction(write=False):
        return uow.opportunities.list(where, limit=limit, cursor=cursor)


def save(uow: UnitOfWork, opportunity: Opportunity, actor: Actor, *, answer: KeptAnswer | None = None) -> None:
    """Persist the aggregate with one audit entry per change, and `answer` (the idempotency answer of the change),
    in the caller's transaction."""
    uow.opportunities.save(opportunity, by=actor.id, answer=answer)
