"""What the fake unit of work stores: plain dicts of domain objects, and keyset pages over them."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy
from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.errors import NotFound, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.records import Account, CloseReason, Competitor, Contract
from dealdesk.domain.users import User
from dealdesk.services.ports import AuditEntry, Page, StoredAnswer

T = TypeVar("T")

IdempotencyKey = tuple[UUID, str, str]
"""(user id, scope, key): what an Idempotency-Key is unique by."""


@dataclass
class StoredRun:
    """A request under an Idempotency-Key while it runs (the `idempotency_runs` row)."""

    fingerprint: str
    owner: UUID
    lease_until: datetime
    progress: bytes | None
    created_at: datetime


@dataclass
class FakeData:
    """Everything a database would hold, as domain objects. Opportunities are kept whole, with their quotes and
    every quote's lines, but without their close records, which live in `closes` as rows do.

    A stored object is never changed in place, only replaced by another (and never handed out, only copies of
    it): so a copy of each table, not of each object in it, is a snapshot a transaction can go back to."""

    opportunities: dict[UUID, Opportunity] = field(default_factory=dict)
    closes: dict[UUID, OpportunityClose] = field(default_factory=dict)
    contracts: dict[UUID, Contract] = field(default_factory=dict)
    accounts: dict[UUID, Account] = field(default_factory=dict)
    competitors: dict[UUID, Competitor] = field(default_factory=dict)
    close_reasons: dict[UUID, CloseReason] = field(default_factory=dict)
    users: dict[UUID, User] = field(default_factory=dict)
    audit: list[tuple[UUID | None, AuditEntry]] = field(default_factory=list)
    """(the deal it belongs to, the entry), in the order written."""
    answers: dict[IdempotencyKey, tuple[str, StoredAnswer, datetime]] = field(default_factory=dict)
    runs: dict[IdempotencyKey, StoredRun] = field(default_factory=dict)
    close_policy: ClosePolicy = NO_POLICY
    last_quote_number: int = 0


class FakeStore:
    """The fake's database: several units of work over one store see each other's commits, as over one engine."""

    def __init__(self) -> None:
        self.data = FakeData()
        self._cursors: dict[str, tuple[Any, ...]] = {}

    def snapshot(self) -> FakeData:
        data = self.data
        return dataclasses.replace(data, **{f.name: copy.copy(getattr(data, f.name)) for f in dataclasses.fields(data)})

    def restore(self, snapshot: FakeData) -> None:
        self.data = snapshot

    def page(
        self,
        items: Iterable[T],
        *,
        key: Callable[[T], tuple[Any, ...]],
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> Page[T]:
        """Items after the cursor in key order, as db/paging.py cuts them. A cursor is an opaque token naming the
        last key of the page it came with; one the store never gave out is refused as the database's lists do."""
        ordered = sorted(items, key=key, reverse=descending)
        if cursor is not None:
            after = self._cursors.get(cursor)
            if after is None:
                raise ValidationFailed.field("cursor", "is not a cursor this list gave out")
            ordered = [item for item in ordered if (key(item) < after if descending else key(item) > after)]
        chosen = [copy.deepcopy(item) for item in ordered[:limit]]
        next_cursor = None
        if len(ordered) > limit and chosen:
            next_cursor = uuid4().hex
            self._cursors[next_cursor] = key(chosen[-1])
        return Page(items=chosen, next_cursor=next_cursor)


Guard = Callable[[], FakeStore]
"""The store, once the unit of work has checked that a transaction is open (as the SQL one does)."""


class InStore:
    """A repository of the fake: it reaches the store only through the unit of work's transaction check, and the
    time through the unit of work's clock."""

    def __init__(self, store: Guard, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now


def found(records: Mapping[UUID, T], record_id: UUID, kind: str) -> T:
    """A copy of the record, or NotFound naming its kind, as the database's repositories answer."""
    record = records.get(record_id)
    if record is None:
        raise NotFound(kind, record_id)
    return copy.deepcopy(record)
