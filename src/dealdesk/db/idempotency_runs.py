"""Requests under an Idempotency-Key while they run (SPEC §7): one row per key, claimed with a lease.

The lease is a time, not a lock: a run renews it every few seconds from a connection of its own, and inside each
transaction that does part of the run (which then holds the row until it commits). A repeat while the lease is live
is told to come back later; a repeat after it lapsed (the server running it died) takes the key over, with a
compare-and-set, so that only one repeat does, and resumes from the progress the dead run committed. Whether a write
hit its row is read from RETURNING: psycopg reports no rowcount for these statements here."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.writes import IDEMPOTENCY_TTL
from dealdesk.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from dealdesk.services.ports import IdempotencyRequest, RunClaim

_runs = t.idempotency_runs.c


def _this_key(request: IdempotencyRequest) -> ColumnElement[bool]:
    return (_runs.user_id == request.user_id) & (_runs.scope == request.scope) & (_runs.key == request.key)


class SqlIdempotencyRuns:
    def __init__(
        self,
        connection: Callable[[], Connection],
        now: Callable[[], datetime],
        lease: timedelta,
        renewing: Callable[[IdempotencyRequest, RunClaim], AbstractContextManager[None]],
    ) -> None:
        self._conn = connection
        self._now = now
        self._lease = lease
        self._renewing = renewing

    def claim(self, request: IdempotencyRequest) -> RunClaim:
        conn, now, owner = self._conn(), self._now(), uuid4()
        row = conn.execute(select(t.idempotency_runs).where(_this_key(request))).first()
        if row is not None and row.created_at <= now - IDEMPOTENCY_TTL:
            conn.execute(delete(t.idempotency_runs).where(_this_key(request)))
            row = None
        if row is None:
            dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
            claimed = conn.execute(
                dialect.insert(t.idempotency_runs)
                .values(
                    user_id=request.user_id,
                    scope=request.scope,
                    key=request.key,
                    fingerprint=request.fingerprint,
                    lease_owner=owner,
                    lease_until=now + self._lease,
                    progress=None,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(_runs.lease_owner)
            ).first()
            if claimed is not None:
                return RunClaim(owner=owner, progress=None)
            row = conn.execute(select(t.idempotency_runs).where(_this_key(request))).first()  # a racing claim won
            if row is None:
                raise self._in_progress(self._lease)
        if row.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body")
        if row.lease_until > now:
            raise self._in_progress(row.lease_until - now)
        taken = conn.execute(
            update(t.idempotency_runs)
            .where(_this_key(request), _runs.lease_owner == row.lease_owner, _runs.lease_until == row.lease_until)
            .values(lease_owner=owner, lease_until=now + self._lease)
            .returning(_runs.lease_owner)
        ).first()
        if taken is None:  # another repeat took it over first
            raise self._in_progress(self._lease)
        return RunClaim(owner=owner, progress=None if row.progress is None else bytes(row.progress))

    def hold(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        if not self.renew(request, claim):
            raise self._in_progress(self._lease)

    def renew(self, request: IdempotencyRequest, claim: RunClaim) -> bool:
        """Push the lease on; False if the run lost the key (its lease lapsed and a repeat took it over)."""
        renewed = (
            self._conn()
            .execute(
                update(t.idempotency_runs)
                .where(_this_key(request), _runs.lease_owner == claim.owner)
                .values(lease_until=self._now() + self._lease)
                .returning(_runs.lease_owner)
            )
            .first()
        )
        return renewed is not None

    def record_progress(self, request: IdempotencyRequest, claim: RunClaim, progress: bytes) -> None:
        self._conn().execute(
            update(t.idempotency_runs)
            .where(_this_key(request), _runs.lease_owner == claim.owner)
            .values(progress=progress)
        )

    def finish(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        self._conn().execute(delete(t.idempotency_runs).where(_this_key(request), _runs.lease_owner == claim.owner))

    def kept_alive(self, request: IdempotencyRequest, claim: RunClaim) -> AbstractContextManager[None]:
        return self._renewing(request, claim)

    @staticmethod
    def _in_progress(wait: timedelta) -> IdempotencyKeyInProgress:
        return IdempotencyKeyInProgress(
            "A request with this Idempotency-Key is still running; send it again later for its answer",
            retry_after=math.ceil(wait.total_seconds()),
        )
