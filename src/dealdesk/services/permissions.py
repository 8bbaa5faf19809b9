"""Whether an actor may attempt a kind of change at all, asked before their input is judged (SPEC §7 checks 403
before 422). The use cases check the same rules again as they act."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound
from dealdesk.services.ports import UnitOfWork


class Attempt(StrEnum):
    CREATE = "create"
    MANAGE = "manage"
    """Catalogues, bulk close and close record corrections."""
    ACT_ON_OPPORTUNITY = "act_on_opportunity"
    ACT_ON_QUOTE = "act_on_quote"


def require_may_attempt(uow: UnitOfWork, actor: Actor, attempt: Attempt, record_id: UUID | None) -> None:
    """Forbidden if the actor's role or ownership rules this change out, whatever its input."""
    if attempt is Attempt.CREATE:
        actor.require_may_create()
    elif attempt is Attempt.MANAGE:
        actor.require_manager("do this")
    elif record_id is not None:
        with uow.transaction(write=False):
            try:
                opportunity_id = (
                    uow.quotes.opportunity_id_of(record_id) if attempt is Attempt.ACT_ON_QUOTE else record_id
                )
                owner = uow.opportunities.get(opportunity_id).owner_id
            except NotFound:
                return  # the use case answers 404 itself
        actor.require_may_act_on(owner)
