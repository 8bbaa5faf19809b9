"""Accounts, competitors and the close reason catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound
from dealdesk.domain.records import Account, Change, CloseReason, Competitor
from dealdesk.domain.states import Outcome
from dealdesk.domain.values import MAX_NAME, check_text
from dealdesk.services.ports import Page, UnitOfWork


def create_account(uow: UnitOfWork, *, name: str, actor: Actor) -> Account:
    actor.require_may_create()
    with uow.transaction():
        at = uow.clock.now()
        account = Account(
            id=uuid4(), name=check_text(name, field="name", max_length=MAX_NAME), created_at=at, updated_at=at
        )
        uow.accounts.add(account)
        uow.audit.record([Change("account", account.id, "create", None, {"name": account.name})], by=actor.id, at=at)
        return account


def get_account(uow: UnitOfWork, account_id: UUID) -> Account:
    with uow.transaction(write=False):
        return uow.accounts.get(account_id)


def rename_account(uow: UnitOfWork, account_id: UUID, *, name: str, actor: Actor) -> Account:
    """Whoever may create accounts may correct their names; the change is audited."""
    actor.require_may_create()
    new_name = check_text(name, field="name", max_length=MAX_NAME)
    with uow.transaction():
        account = uow.accounts.get(account_id)
        if account.name == new_name:
            return account
        at = uow.clock.now()
        before = {"name": account.name}
        account.name, account.updated_at = new_name, at
        uow.accounts.save(account)
        uow.audit.record([Change("account", account.id, "edit", before, {"name": new_name})], by=actor.id, at=at)
        return account


def list_accounts(uow: UnitOfWork, *, limit: int, cursor: str | None) -> Page[Account]:
    with uow.transaction(write=False):
        return uow.accounts.list(limit=limit, cursor=cursor)


def create_competitor(uow: UnitOfWork, *, name: str, actor: Actor) -> Competitor:
    """Names are unique case-insensitively (a duplicate is refused)."""
    actor.require_manager("manage competitors")
    with uow.transaction():
        at = uow.clock.now()
        competitor = Competitor(
            id=uuid4(), name=check_text(name, field="name", max_length=MAX_NAME), created_at=at, updated_at=at
        )
        uow.competitors.add(competitor)
        uow.audit.record(
            [Change("competitor", competitor.id, "create", None, {"name": competitor.name})], by=actor.id, at=at
        )
        return competitor


@dataclass(frozen=True)
class CompetitorChanges:
    name: str | None = None
    active: bool | None = None


def update_competitor(uow: UnitOfWork, competitor_id: UUID, changes: CompetitorChanges, *, actor: Actor) -> Competitor:
    """Renaming or deactivating a competitor, audited. Names stay unique case-insensitively; past closes keep
    pointing at the same competitor, and a deactivated one is no longer chosen on a close."""
    actor.require_manager("manage competitors")
    new_name = check_text(changes.name, field="name", max_length=MAX_NAME) if changes.name is not None else None
    with uow.transaction():
        competitor = uow.competitors.get(competitor_id)
        before = _competitor_view(competitor)
        if new_name is not None:
            competitor.name = new_name
        if changes.active is not None:
            competitor.active = changes.active
        after = _competitor_view(competitor)
        if after == before:
            return competitor
        at = uow.clock.now()
        competitor.updated_at = at
        uow.competitors.save(competitor)
        uow.audit.record([Change("competitor", competitor.id, "edit", before, after)], by=actor.id, at=at)
        return competitor


def list_competitors(
    uow: UnitOfWork, *, active: bool | None = None, limit: int, cursor: str | None
) -> Page[Competitor]:
    with uow.transaction(write=False):
        return uow.competitors.list(active=active, limit=limit, cursor=cursor)


def _competitor_view(competitor: Competitor) -> dict[str, object]:
    return {"name": competitor.name, "active": competitor.active}


def create_close_reason(uow: UnitOfWork, *, outcome: Outcome, name: str, active: bool, actor: Actor) -> CloseReason:
    actor.require_manager("manage close reasons")
    with uow.transaction():
        at = uow.clock.now()
        reason = CloseReason(
            id=uuid4(),
            outcome=outcome,
            name=check_text(name, field="name", max_length=MAX_NAME),
            active=active,
            created_at=at,
            updated_at=at,
        )
        uow.close_reasons.add(reason)
        uow.audit.record([Change("close_reason", reason.id, "create", None, _reason_view(reason))], by=actor.id, at=at)
        return reason


@dataclass(frozen=True)
class CloseReasonChanges:
    name: str | None = None
    active: bool | None = None


def update_close_reason(uow: UnitOfWork, reason_id: UUID, changes: CloseReasonChanges, *, actor: Actor) -> CloseReason:
    """Renaming or retiring a reason; past closes keep pointing at it."""
    actor.require_manager("manage close reasons")
    with uow.transaction():
        reason = uow.close_reasons.find(reason_id)
        if reason is None:
            raise NotFound("close reason", reason_id)
        at = uow.clock.now()
        before = _reason_view(reason)
        if changes.name is not None:
            reason.name = check_text(changes.name, field="name", max_length=MAX_NAME)
        if changes.active is not None:
            reason.active = changes.active
        reason.updated_at = at
        uow.close_reasons.save(reason)
        uow.audit.record([Change("close_reason", reason.id, "edit", before, _reason_view(reason))], by=actor.id, at=at)
        return reason


def list_close_reasons(
    uow: UnitOfWork, *, outcome: Outcome | None, limit: int, cursor: str | None
) -> Page[CloseReason]:
    with uow.transaction(write=False):
        return uow.close_reasons.list(outcome=outcome, limit=limit, cursor=cursor)


def _reason_view(reason: CloseReason) -> dict[str, object]:
    return {"outcome": reason.outcome.value, "name": reason.name, "active": reason.active}
