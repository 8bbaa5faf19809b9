"""Accounts, competitors, close reasons, users, the close policy and the audit log, in memory."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.errors import Duplicate
from dealdesk.domain.records import Account, Change, CloseReason, Competitor
from dealdesk.domain.states import Outcome, Role
from dealdesk.domain.users import User
from dealdesk.services.ports import AuditEntry, Page
from tests.fake_uow.data import InStore, found


class FakeAccounts(InStore):
    def add(self, account: Account) -> None:
        self._store().data.accounts[account.id] = copy.deepcopy(account)

    def get(self, account_id: UUID) -> Account:
        return found(self._store().data.accounts, account_id, "account")

    def exists(self, account_id: UUID) -> bool:
        return account_id in self._store().data.accounts

    def list(self, *, limit: int, cursor: str | None) -> Page[Account]:
        store = self._store()
        accounts = store.data.accounts.values()
        return store.page(accounts, key=lambda a: (a.name, a.id), descending=False, limit=limit, cursor=cursor)

    def save(self, account: Account) -> None:
        self._store().data.accounts[account.id] = copy.deepcopy(account)


class FakeCompetitors(InStore):
    """Names are unique case-insensitively, as the database's `name_key` column keeps them."""

    def _refuse_taken(self, competitor: Competitor) -> None:
        key = competitor.name.casefold()
        for other in self._store().data.competitors.values():
            if other.id != competitor.id and other.name.casefold() == key:
                raise Duplicate(f"A competitor named {competitor.name!r} already exists")

    def add(self, competitor: Competitor) -> None:
        self._refuse_taken(competitor)
        self._store().data.competitors[competitor.id] = copy.deepcopy(competitor)

    def exists(self, competitor_id: UUID) -> bool:
        return competitor_id in self._store().data.competitors

    def find(self, competitor_id: UUID) -> Competitor | None:
        return copy.deepcopy(self._store().data.competitors.get(competitor_id))

    def list(self, *, active: bool | None = None, limit: int, cursor: str | None) -> Page[Competitor]:
        store = self._store()
        found = [c for c in store.data.competitors.values() if active is None or c.active is active]
        return store.page(found, key=lambda c: (c.name.casefold(), c.id), descending=False, limit=limit, cursor=cursor)

    def get(self, competitor_id: UUID) -> Competitor:
        return found(self._store().data.competitors, competitor_id, "competitor")

    def save(self, competitor: Competitor) -> None:
        self._refuse_taken(competitor)
        self._store().data.competitors[competitor.id] = copy.deepcopy(competitor)


class FakeCloseReasons(InStore):
    def add(self, reason: CloseReason) -> None:
        self._store().data.close_reasons[reason.id] = copy.deepcopy(reason)

    def find(self, reason_id: UUID) -> CloseReason | None:
        return copy.deepcopy(self._store().data.close_reasons.get(reason_id))

    def save(self, reason: CloseReason) -> None:
        self._store().data.close_reasons[reason.id] = copy.deepcopy(reason)

    def list(self, *, outcome: Outcome | None, limit: int, cursor: str | None) -> Page[CloseReason]:
        store = self._store()
        found = [r for r in store.data.close_reasons.values() if outcome is None or r.outcome is outcome]
        return store.page(found, key=lambda r: (r.name, r.id), descending=False, limit=limit, cursor=cursor)


class FakeUsers(InStore):
    def ensure(self, name: str, role: str) -> Actor:
        user = self.find(name)
        if user is None:
            at = self._now()
            user = User(uuid4(), name, Role(role), None, active=True, created_at=at, updated_at=at)
            self.add(user)
        return user.as_actor()

    def add(self, user: User) -> None:
        if self.find(user.name) is not None:
            raise Duplicate(f"A user named {user.name!r} already exists")
        self._store().data.users[user.id] = copy.deepcopy(user)

    def find(self, name: str) -> User | None:
        found = [u for u in self._store().data.users.values() if u.name == name]
        return copy.deepcopy(found[0]) if found else None

    def get(self, user_id: UUID) -> User | None:
        return copy.deepcopy(self._store().data.users.get(user_id))

    def list(self) -> Sequence[User]:
        return sorted(copy.deepcopy(list(self._store().data.users.values())), key=lambda u: u.name)

    def page(self, *, limit: int, cursor: str | None) -> Page[User]:
        store = self._store()
        users = store.data.users.values()
        return store.page(users, key=lambda u: (u.name, u.id), descending=False, limit=limit, cursor=cursor)

    def set_active(self, user_id: UUID, active: bool, *, at: datetime) -> None:
        self._change(user_id, active=active, updated_at=at)

    def set_password_hash(self, user_id: UUID, password_hash: str, *, at: datetime) -> None:
        self._change(user_id, password_hash=password_hash, updated_at=at)

    def _change(self, user_id: UUID, **changes: Any) -> None:
        users = self._store().data.users
        if user_id in users:
            users[user_id] = dataclasses.replace(users[user_id], **changes)


class FakeClosePolicy(InStore):
    def get(self) -> ClosePolicy:
        return self._store().data.close_policy

    def save(self, policy: ClosePolicy, *, at: datetime) -> None:
        self._store().data.close_policy = policy


def _as_json(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a JSON column gives back: a Change must hold only what JSON can (the database would refuse the rest)."""
    return None if document is None else dict(json.loads(json.dumps(document)))


class FakeAudit(InStore):
    def record(self, changes: Sequence[Change], *, by: UUID, at: datetime, opportunity_id: UUID | None = None) -> None:
        self._store().data.audit.extend(
            (
                opportunity_id,
                AuditEntry(
                    uuid4(), at, by, c.record_type, c.record_id, c.action, _as_json(c.before), _as_json(c.after)
                ),
            )
            for c in changes
        )

    def list_for(self, record_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        return self._page(lambda deal, entry: entry.record_id == record_id, limit=limit, cursor=cursor)

    def list_for_opportunity(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        return self._page(lambda deal, entry: deal == opportunity_id, limit=limit, cursor=cursor)

    def _page(
        self, keep: Callable[[UUID | None, AuditEntry], bool], *, limit: int, cursor: str | None
    ) -> Page[AuditEntry]:
        """Newest first; entries of one moment in the reverse of the order they were written."""
        store = self._store()
        written = [(seq, entry) for seq, (deal, entry) in enumerate(store.data.audit) if keep(deal, entry)]
        page = store.page(written, key=lambda item: (item[1].at, item[0]), descending=True, limit=limit, cursor=cursor)
        return Page(items=[entry for _, entry in page.items], next_cursor=page.next_cursor)
