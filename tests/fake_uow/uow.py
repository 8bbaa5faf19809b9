"""The in-memory unit of work (cosmicpython's FakeUnitOfWork for dealdesk's ports).

Each transaction works on the store directly and keeps a deep copy of it from the start: a block that raises puts
the copy back, so a use case is all or nothing here as it is on a database (SPEC: never a partial write). As on the
database, repositories answer only inside `with uow.transaction():`, loaded aggregates are copies that change
nothing until saved, and quote lines come only for the quotes a use case asked them of.

Reports, screens' read models, Dataverse record reads, CSV moving, credentials and housekeeping are SQL through and
through (aggregates over many rows, keyset paging over joins, leases between processes): the fake does not
pretend to them, and a use case that asks for one fails with NotImplementedError naming the port. Their tests run on
the two engines only."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Generic, TypeVar

from dealdesk.services.ports import (
    Clock,
    CloseSummaries,
    CredentialStore,
    Housekeeping,
    MovingStore,
    ReportQueries,
    UnitOfWork,
    ViewQueries,
)
from dealdesk.services.record_queries import RecordQueries
from tests.fake_uow.aggregate import FakeCloses, FakeContracts, FakeOpportunities, FakeQuotes
from tests.fake_uow.data import FakeStore
from tests.fake_uow.idempotency import FakeIdempotency, FakeIdempotencyRuns
from tests.fake_uow.records import (
    FakeAccounts,
    FakeAudit,
    FakeClosePolicy,
    FakeCloseReasons,
    FakeCompetitors,
    FakeUsers,
)

T = TypeVar("T")


class LeftToTheDatabases(Generic[T]):
    """A port the fake does not pretend to: asking the fake for it fails, naming the port."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name
        self.port = typing.get_type_hints(getattr(UnitOfWork, name).fget)["return"].__name__

    def __get__(self, instance: object, owner: type | None = None) -> T:
        raise NotImplementedError(
            f"the fake unit of work has no {self.port} (uow.{self.attribute}): test this on the engines"
        )


class FakeUnitOfWork:
    housekeeping = LeftToTheDatabases[Housekeeping]()
    close_summaries = LeftToTheDatabases[CloseSummaries]()
    views = LeftToTheDatabases[ViewQueries]()
    reports = LeftToTheDatabases[ReportQueries]()
    credentials = LeftToTheDatabases[CredentialStore]()
    records = LeftToTheDatabases[RecordQueries]()
    moving = LeftToTheDatabases[MovingStore]()

    def __init__(self, clock: Clock, store: FakeStore | None = None) -> None:
        """Units of work made over one `store` share it, as SQL ones made over one engine share the database."""
        self.clock = clock
        self.store = FakeStore() if store is None else store
        self.committed = False
        """Whether a transaction of this unit of work has committed."""
        self._in_transaction = False
        self.quotes = FakeQuotes(self._current, self._now)
        self.closes = FakeCloses(self._current, self._now)
        self.contracts = FakeContracts(self._current, self._now)
        self.accounts = FakeAccounts(self._current, self._now)
        self.competitors = FakeCompetitors(self._current, self._now)
        self.close_reasons = FakeCloseReasons(self._current, self._now)
        self.users = FakeUsers(self._current, self._now)
        self.close_policy = FakeClosePolicy(self._current, self._now)
        self.audit = FakeAudit(self._current, self._now)
        self.idempotency = FakeIdempotency(self._current, self._now)
        self.opportunities = FakeOpportunities(
            self._current, self._now, audit=self.audit, idempotency=self.idempotency, close_policy=self.close_policy
        )
        self.idempotency_runs = FakeIdempotencyRuns(self._current, self._now)

    def _now(self) -> datetime:
        return self.clock.now()

    def _current(self) -> FakeStore:
        if not self._in_transaction:
            raise RuntimeError("no transaction: use `with uow.transaction():`")
        return self.store

    @contextmanager
    def transaction(self, *, write: bool = True, one_statement: bool = False) -> Iterator[None]:
        if self._in_transaction:
            raise RuntimeError("a unit of work runs one transaction at a time")
        self._in_transaction = True
        try:
            with self._all_or_nothing():
                yield
            self.committed = True
        finally:
            self._in_transaction = False
            self.opportunities.forget()

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        before = self.store.snapshot()
        try:
            yield
        except BaseException:
            self.store.restore(before)
            raise


UNSUPPORTED = {
    name: value.port for name, value in vars(FakeUnitOfWork).items() if isinstance(value, LeftToTheDatabases)
}
"""The unit of work's ports the fake leaves to the databases: attribute and protocol name."""
