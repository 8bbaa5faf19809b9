"""Whether an actor may attempt a kind of change at all, asked before their input is judged (SPEC §7 checks 404,
then 403, before 422). The use cases check the same rules again as they act."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound
from dealdesk.services import reads
from dealdesk.services.ports import UnitOfWork
from dealdesk.services.reads import Record


class Attempt(StrEnum):
    CREATE = "create"
    MANAGE = "manage"
    """Catalogues, bulk close and close record corrections."""
    ACT_ON_OPPORTUNITY = "act_on_opportunity"
    ACT_ON_QUOTE = "act_on_quote"


@dataclass(frozen=True)
class Named:
    """The record a request names by its id (in its path)."""

    record: Record
    id: UUID


def role_may_attempt(actor: Actor, attempt: Attempt) -> bool:
    """False when the actor's role rules this kind of change out whatever the record; True may still depend on
    who owns the record, which the use case checks in its own transaction."""
    if attempt is Attempt.MANAGE:
        return actor.manages
    return actor.writes


def require_may_attempt(uow: UnitOfWork, actor: Actor, attempt: Attempt | None, named: Named | None) -> None:
    """NotFound if the record the request names does not exist; else Forbidden if the actor's role or ownership
    rules this change out, whatever its input."""
    owner: UUID | None = None
    with uow.transaction(write=False):
        if named is not None:
            if not reads.exists(uow, named.record, named.id):
                raise NotFound(named.record.value, named.id)
            if attempt is Attempt.ACT_ON_OPPORTUNITY or attempt is Attempt.ACT_ON_QUOTE:
                on_quote = attempt is Attempt.ACT_ON_QUOTE
                opportunity_id = uow.quotes.opportunity_id_of(named.id) if on_quote else named.id
                owner = uow.opportunities.get(opportunity_id).owner_id
    if attempt is Attempt.CREATE:
        actor.require_may_create()
    elif attempt is Attempt.MANAGE:
        actor.require_manager("do this")
    elif owner is not None:
        actor.require_may_act_on(owner)
