"""Deleting what has expired: web sessions, sign-in rate-limit counters, idempotency keys and runs.

Each call deletes at most `limit` rows, chosen by their primary keys, so that a caller can prune in short
transactions: SQLite's one writer is never held for long, however much has piled up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy import Column, Table, delete, select, tuple_
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t

_EXPIRY: Final[dict[str, tuple[Table, Column[datetime]]]] = {
    "sessions": (t.web_sessions, t.web_sessions.c.expires_at),
    "rate_limits": (t.rate_limits, t.rate_limits.c.window_start),
    "idempotency_keys": (t.idempotency_keys, t.idempotency_keys.c.created_at),
    "idempotency_runs": (t.idempotency_runs, t.idempotency_runs.c.created_at),
}
"""Each kind of expiring row, with the time it is judged by."""


class SqlHousekeeping:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def prune(self, kind: str, *, before: datetime, limit: int) -> int:
        table, stamp = _EXPIRY[kind]
        key = tuple_(*table.primary_key.columns)
        some = select(*table.primary_key.columns).where(stamp < before).limit(limit)
        if self._conn().dialect.name == "postgresql":
            some = some.with_for_update(skip_locked=True)  # two servers pruning at once skip each other's rows
        deleted = self._conn().execute(delete(table).where(key.in_(some)).returning(*table.primary_key.columns))
        return len(deleted.all())
