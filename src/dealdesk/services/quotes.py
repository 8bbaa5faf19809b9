"""Quote use cases. Each locks the quote's opportunity first: every quote change is a change to the deal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import NO_POLICY
from dealdesk.domain.closing import WinResult
from dealdesk.domain.errors import NotFound, PreconditionFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote, QuoteLine, QuoteLoss, check_quote_name
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.domain.values import check_not_in_future
from dealdesk.services import guards
from dealdesk.services.guards import NO_PRECONDITIONS, Preconditions
from dealdesk.services.opportunities import save
from dealdesk.services.ports import Page, UnitOfWork
from dealdesk.services.references import check_close_references, check_quote_loss


@dataclass(frozen=True)
class NewQuote:
    name: str
    lines: Sequence[QuoteLine] = ()
    valid_until: date | None = None


@dataclass(frozen=True)
class QuoteChanges:
    name: str | None = None
    lines: Sequence[QuoteLine] | None = None
    valid_until: date | None = None
    set_valid_until: bool = False


def _lock_quote(uow: UnitOfWork, quote_id: UUID, actor: Actor) -> tuple[Opportunity, Quote]:
    """Lock the quote's opportunity (every quote change is a change to the deal) and load the quote's lines."""
    opportunity = uow.opportunities.lock(uow.quotes.opportunity_id_of(quote_id), lines_of=[quote_id])
    quote = opportunity.quote(quote_id)
    actor.require_may_act_on(opportunity.owner_id)
    return opportunity, quote


def create_quote(
    uow: UnitOfWork, opportunity_id: UUID, new: NewQuote, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS
) -> Quote:
    with uow.transaction():
        opportunity = uow.opportunities.lock(opportunity_id)
        actor.require_may_act_on(opportunity.owner_id)
        guards.check(uow, pre, current_version=opportunity.version)
        quote = opportunity.add_quote(
            quote_id=uuid4(),
            number=uow.quotes.next_number(),
            name=new.name,
            lines=new.lines,
            valid_until=new.valid_until,
            at=uow.clock.now(),
        )
        save(uow, opportunity, actor)
        return quote


def edit_quote(
    uow: UnitOfWork, quote_id: UUID, changes: QuoteChanges, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS
) -> Quote:
    """Only drafts of an open deal can be edited."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        if changes.name is not None:
            check_quote_name(changes.name)
        guards.check(uow, pre, current_version=quote.version)
        opportunity.edit_quote(
            quote_id,
            name=changes.name,
            lines=changes.lines,
            valid_until=changes.valid_until,
            set_valid_until=changes.set_valid_until,
            at=uow.clock.now(),
        )
        save(uow, opportunity, actor)
        return quote


def delete_quote(uow: UnitOfWork, quote_id: UUID, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS) -> None:
    """Drafts only; their lines go with them, and the deletion is audited."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        guards.check(uow, pre, current_version=quote.version)
        opportunity.delete_quote(quote_id, at=uow.clock.now())
        save(uow, opportunity, actor)


def activate_quote(uow: UnitOfWork, quote_id: UUID, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS) -> Quote:
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        guards.check(uow, pre, current_version=quote.version)
        opportunity.activate_quote(quote_id, today=uow.clock.today(), at=uow.clock.now())
        save(uow, opportunity, actor)
        return quote


def close_quote(
    uow: UnitOfWork,
    quote_id: UUID,
    *,
    reason: QuoteStatus,
    close_date: date | None,
    description: str | None,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
    loss: QuoteLoss | None = None,
) -> Quote:
    """Close one draft or active quote as lost or canceled (default date: today; not in the future), keeping whom
    it was lost to and why (`loss`: competitor and lost reason detail)."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        today = uow.clock.today()
        if close_date is not None:
            check_not_in_future(close_date, today=today)
        check_quote_loss(uow, loss)
        guards.check(uow, pre, current_version=quote.version)
        opportunity.close_quote(
            quote_id, reason, on=close_date or today, description=description, at=uow.clock.now(), loss=loss
        )
        save(uow, opportunity, actor)
        return quote


def revise_quote(uow: UnitOfWork, quote_id: UUID, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS) -> Quote:
    """Answers the new draft revision."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        guards.check(uow, pre, current_version=quote.version)
        draft = opportunity.revise_quote(quote_id, new_quote_id=uuid4(), today=uow.clock.today(), at=uow.clock.now())
        save(uow, opportunity, actor)
        return draft


def copy_quote(uow: UnitOfWork, quote_id: UUID, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS) -> Quote:
    """Answers the new draft, with a new number and the same lines."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        guards.check(uow, pre, current_version=quote.version)
        draft = opportunity.copy_quote(
            quote_id, new_quote_id=uuid4(), number=uow.quotes.next_number(), at=uow.clock.now()
        )
        save(uow, opportunity, actor)
        return draft


@dataclass(frozen=True)
class WinDetails:
    close_date: date | None = None
    description: str | None = None
    competitor_id: UUID | None = None
    close_opportunity: bool = False
    close_reason_id: UUID | None = None
    """Reason detail for the won close, when `close_opportunity`."""
    opportunity_version: int | None = None
    """The deal's version the user last saw (the Close dialog's preview): checked under the lock."""
    accept_expired: bool = False
    """The user confirmed winning a quote whose `valid_until` has passed (SPEC §11)."""


def win_quote(
    uow: UnitOfWork, quote_id: UUID, details: WinDetails, *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS
) -> WinResult:
    """SPEC §5, in one transaction: quote won, siblings lost, draft contract; close the deal if asked."""
    with uow.transaction():
        opportunity, quote = _lock_quote(uow, quote_id, actor)
        check_close_references(
            uow, outcome=Outcome.WON, close_reason_id=details.close_reason_id, competitor_id=details.competitor_id
        )
        today = uow.clock.today()
        if details.close_date is not None:
            check_not_in_future(details.close_date, today=today)
        policy = uow.close_policy.get() if details.close_opportunity else NO_POLICY  # only a close needs it
        if details.close_opportunity:  # an input fault: refused before the preconditions (SPEC §7's order)
            policy.check(
                outcome=Outcome.WON,
                status_reason=OpportunityStatus.WON,
                close_reason_id=details.close_reason_id,
                competitor_id=details.competitor_id,
                description=details.description,
            )
        guards.check(uow, pre, current_version=quote.version)
        if details.opportunity_version is not None and details.opportunity_version != opportunity.version:
            raise PreconditionFailed("The opportunity changed since you last saw it")
        result = opportunity.win_quote(
            quote_id,
            contract_id=uuid4(),
            close_date=details.close_date or today,
            description=details.description,
            competitor_id=details.competitor_id,
            close_reason_id=details.close_reason_id,
            close_opportunity=details.close_opportunity,
            close_id=uuid4(),
            by=actor.id,
            today=today,
            at=uow.clock.now(),
            created_on=uow.clock.date_of(opportunity.created_at),
            policy=policy,
            accept_expired=details.accept_expired,
        )
        uow.contracts.add(result.contract)
        save(uow, opportunity, actor, answer=guards.answer_to_keep(uow, pre, result))
        return result


def get_quote(uow: UnitOfWork, quote_id: UUID) -> Quote:
    with uow.transaction(write=False):
        return uow.quotes.get(quote_id)


def list_quotes(
    uow: UnitOfWork, opportunity_id: UUID, *, limit: int, cursor: str | None, expired: bool | None = None
) -> Page[Quote]:
    """By number and revision; `expired` keeps only the quotes that are (or are not) expired today."""
    with uow.transaction(write=False):
        if not uow.opportunities.exists(opportunity_id):
            raise NotFound("opportunity", opportunity_id)
        expiry = None if expired is None else (expired, uow.clock.today())
        return uow.quotes.list_for(opportunity_id, limit=limit, cursor=cursor, expiry=expiry)
