"""Idempotency-Key answers and runs in memory, with the database's time rules: an answer lives a day, a run holds
its key by a lease that a repeat may take over once it lapsed."""

from __future__ import annotations

import contextlib
import math
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import uuid4

from dealdesk.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from dealdesk.services.ports import IdempotencyRequest, RunClaim, StoredAnswer
from tests.fake_uow.data import IdempotencyKey, InStore, StoredRun

IDEMPOTENCY_TTL = timedelta(hours=24)
"""As long as the database keeps an answer or a run (db/stores.py, db/idempotency_runs.py)."""
LEASE = timedelta(seconds=15)


def _key(request: IdempotencyRequest) -> IdempotencyKey:
    return request.user_id, request.scope, request.key


class FakeIdempotency(InStore):
    def find(self, request: IdempotencyRequest) -> tuple[str, StoredAnswer] | None:
        found = self._store().data.answers.get(_key(request))
        if found is None or found[2] <= self._now() - IDEMPOTENCY_TTL:
            return None
        return found[0], found[1]

    def remember(self, request: IdempotencyRequest, answer: StoredAnswer, *, at: datetime) -> None:
        """A live answer under the key stays (a concurrent request answered first); an expired one gives way."""
        answers = self._store().data.answers
        existing = answers.get(_key(request))
        if existing is None or existing[2] <= at - IDEMPOTENCY_TTL:
            answers[_key(request)] = (request.fingerprint, answer, at)


class FakeIdempotencyRuns(InStore):
    def claim(self, request: IdempotencyRequest) -> RunClaim:
        runs, now, owner = self._store().data.runs, self._now(), uuid4()
        run = runs.get(_key(request))
        if run is None or run.created_at <= now - IDEMPOTENCY_TTL:
            runs[_key(request)] = StoredRun(request.fingerprint, owner, now + LEASE, progress=None, created_at=now)
            return RunClaim(owner=owner, progress=None)
        if run.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body")
        if run.lease_until > now:
            raise _in_progress(run.lease_until - now)
        runs[_key(request)] = replace(run, owner=owner, lease_until=now + LEASE)
        return RunClaim(owner=owner, progress=run.progress)

    def _held(self, request: IdempotencyRequest, claim: RunClaim) -> StoredRun | None:
        run = self._store().data.runs.get(_key(request))
        return run if run is not None and run.owner == claim.owner else None

    def hold(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        run = self._held(request, claim)
        if run is None:
            raise _in_progress(LEASE)
        self._store().data.runs[_key(request)] = replace(run, lease_until=self._now() + LEASE)

    def record_progress(self, request: IdempotencyRequest, claim: RunClaim, progress: bytes) -> None:
        run = self._held(request, claim)
        if run is not None:
            self._store().data.runs[_key(request)] = replace(run, progress=progress)

    def finish(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        if self._held(request, claim) is not None:
            del self._store().data.runs[_key(request)]

    def kept_alive(self, request: IdempotencyRequest, claim: RunClaim) -> AbstractContextManager[None]:
        """Nothing to renew from elsewhere: one process, and every transaction that does part of the run holds it."""
        return contextlib.nullcontext()


def _in_progress(wait: timedelta) -> IdempotencyKeyInProgress:
    return IdempotencyKeyInProgress(
        "A request with this Idempotency-Key is still running; send it again later for its answer",
        retry_after=math.ceil(wait.total_seconds()),
    )
