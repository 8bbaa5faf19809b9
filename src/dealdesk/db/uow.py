"""The unit of work: one connection and one transaction per use case."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from dealdesk.db import hot_path
from dealdesk.db.close_policy_store import SqlClosePolicy
from dealdesk.db.close_summaries import SqlCloseSummaries
from dealdesk.db.credentials import SqlCredentials
from dealdesk.db.engine import WRITE_OPTION, writer_turns
from dealdesk.db.failures import retry_later_on_database_failures
from dealdesk.db.housekeeping import SqlHousekeeping
from dealdesk.db.idempotency_runs import SqlIdempotencyRuns
from dealdesk.db.moving import SqlMoving
from dealdesk.db.opportunity_store import SqlOpportunities
from dealdesk.db.record_reads import SqlRecordReads
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
from dealdesk.services.ports import Clock, IdempotencyRequest, RunClaim

IDEMPOTENCY_LEASE = timedelta(seconds=15)
"""How long a run under an Idempotency-Key holds its key without renewing it: a retry after a crash waits this long
at most. The run renews it every third of that."""

log = logging.getLogger("dealdesk.db")


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
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        on_close: Callable[[str], None] | None = None,
        idempotency_lease: timedelta = IDEMPOTENCY_LEASE,
    ) -> None:
        """`on_close(outcome)` is told of every opportunity close once its transaction has committed."""
        self._engine = engine
        self._on_close = on_close
        self._idempotency_lease = idempotency_lease
        self._writer_turns = writer_turns(engine)
        self._connection: Connection | None = None
        self._audit_seq = itertools.count()
        """Numbers every audit entry of this unit of work, whichever repository writes it."""
        self.clock = clock

    # Repositories are made when first used: a request uses a few of them, and two units of work (the token look-up
    # and the change itself).
    @cached_property
    def opportunities(self) -> SqlOpportunities:
        return SqlOpportunities(
            self._current, audit_seq=self._audit_seq, close_policy=self.close_policy, idempotency=self.idempotency
        )

    @cached_property
    def quotes(self) -> SqlQuotes:
        return SqlQuotes(self._current)

    @cached_property
    def closes(self) -> SqlCloses:
        return SqlCloses(self._current)

    @cached_property
    def accounts(self) -> SqlAccounts:
        return SqlAccounts(self._current)

    @cached_property
    def competitors(self) -> SqlCompetitors:
        return SqlCompetitors(self._current)

    @cached_property
    def close_reasons(self) -> SqlCloseReasons:
        return SqlCloseReasons(self._current)

    @cached_property
    def contracts(self) -> SqlContracts:
        return SqlContracts(self._current)

    @cached_property
    def audit(self) -> SqlAudit:
        return SqlAudit(self._current, seq=self._audit_seq)

    @cached_property
    def idempotency(self) -> SqlIdempotency:
        return SqlIdempotency(self._current, self.clock.now)

    @cached_property
    def idempotency_runs(self) -> SqlIdempotencyRuns:
        return SqlIdempotencyRuns(self._current, self.clock.now, self._idempotency_lease, self._renewing)

    @contextmanager
    def _renewing(self, request: IdempotencyRequest, claim: RunClaim) -> Iterator[None]:
        """Renew a run's lease every third of its length, in a unit of work of its own, while the block runs."""
        stop = threading.Event()

        def renew() -> None:
            renewer = SqlUnitOfWork(self._engine, self.clock, idempotency_lease=self._idempotency_lease)
            while not stop.wait(self._idempotency_lease.total_seconds() / 3):
                try:
                    with renewer.transaction():
                        renewer.idempotency_runs.renew(request, claim)
                except Exception:  # the run's own transactions fail too then, and say why
                    log.warning("could not renew the lease of Idempotency-Key %r", request.key, exc_info=True)

        thread = threading.Thread(target=renew, name="idempotency-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    @cached_property
    def housekeeping(self) -> SqlHousekeeping:
        return SqlHousekeeping(self._current)

    @cached_property
    def close_summaries(self) -> SqlCloseSummaries:
        return SqlCloseSummaries(self._current)

    @cached_property
    def users(self) -> SqlUsers:
        return SqlUsers(self._current, self.clock.now)

    @cached_property
    def views(self) -> SqlViews:
        return SqlViews(self._current)

    @cached_property
    def reports(self) -> SqlReports:
        return SqlReports(self._current)

    @cached_property
    def records(self) -> SqlRecordReads:
        return SqlRecordReads(self._current)

    @cached_property
    def credentials(self) -> SqlCredentials:
        return SqlCredentials(self._current)

    @cached_property
    def close_policy(self) -> SqlClosePolicy:
        return SqlClosePolicy(self._current)

    @cached_property
    def moving(self) -> SqlMoving:
        return SqlMoving(self._current)

    def _current(self) -> Connection:
        """The transaction's connection."""
        if self._connection is None:
            raise RuntimeError("no transaction: use `with uow.transaction():`")
        return self._connection

    @contextmanager
    def transaction(self, *, write: bool = True, one_statement: bool = False) -> Iterator[None]:
        if self._connection is not None:
            raise RuntimeError("a unit of work runs one transaction at a time")
        with ExitStack() as turn:
            if write and self._writer_turns is not None:
                turn.enter_context(self._writer_turns.turn())
            with self._run(write=write, one_statement=one_statement and not write):
                yield

    @contextmanager
    def _run(self, *, write: bool, one_statement: bool) -> Iterator[None]:
        with retry_later_on_database_failures(), self._engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: write})
            if hot_path.serves(connection):
                # BEGIN goes out with the first statement. One statement alone (the bearer-token look-up of every
                # API request) needs no BEGIN and no COMMIT: two round trips fewer.
                hot_path.begin_with_first_statement(connection, transaction=not one_statement)
            try:
                with connection.begin():
                    self._connection = connection
                    yield
                if self._on_close is not None and "opportunities" in self.__dict__:
                    for outcome in self.opportunities.new_close_outcomes:
                        self._on_close(outcome)
            finally:
                self._connection = None
                hot_path.forget_begin(connection)
                if "opportunities" in self.__dict__:  # made only if used
                    self.opportunities.forget()
