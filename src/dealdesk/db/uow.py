"""The unit of work: one connection and one transaction per use case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from dealdesk.db.credentials import SqlCredentials
from dealdesk.db.engine import WRITE_OPTION
from dealdesk.db.opportunity_store import SqlOpportunities
from dealdesk.db.reports import SqlReports
from dealdesk.db.stores import (
    SqlAccounts,
    SqlAudit,
    SqlCloseReasons,
    SqlCloses,
    SqlCompetitors,
    SqlContracts,
    SqlIdempotency,
    SqlQuotes,
    SqlUsers,
)
from dealdesk.db.views import SqlViews
from dealdesk.services.ports import Clock


class SystemClock:
    """Real time; 'today' is the date in the business time zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(self._zone).date()

    def date_of(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()


class SqlUnitOfWork:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self.clock = clock
        self.opportunities = SqlOpportunities(self._current)
        self.quotes = SqlQuotes(self._current)
        self.closes = SqlCloses(self._current)
        self.accounts = SqlAccounts(self._current)
        self.competitors = SqlCompetitors(self._current)
        self.close_reasons = SqlCloseReasons(self._current)
        self.contracts = SqlContracts(self._current)
        self.audit = SqlAudit(self._current)
        self.idempotency = SqlIdempotency(self._current, clock.now)
        self.users = SqlUsers(self._current, clock.now)
        self.views = SqlViews(self._current)
        self.reports = SqlReports(self._current)
        self.credentials = SqlCredentials(self._current)

    def _current(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("no transaction: use `with uow.transaction():`")
        return self._connection

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        if self._connection is not None:
            raise RuntimeError("a unit of work runs one transaction at a time")
        with self._engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: write})
            try:
                with connection.begin():
                    self._connection = connection
                    yield
            finally:
                self._connection = None
                self.opportunities.forget()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self._current().begin_nested():
            yield
