"""Engine construction. SQLite gets WAL, foreign keys, a busy timeout and write transactions that take the
write lock up front; PostgreSQL runs through psycopg 3 with a connection pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from dealdesk.config import Settings
from dealdesk.db import hot_path
from dealdesk.db.dead_connections import drop_dead_connections

WRITE_OPTION = "dealdesk_write"
UNICODE_LOWER = "dealdesk_lower"


class WriterTurns:
    """SQLite's one writer, as a lock that this process's threads queue on.

    SQLite lets a second writer wait by sleeping and retrying, 1 ms then longer and longer up to 100 ms at a time,
    so under load a writer may sleep long after the lock was freed. Threads of one process take turns here instead
    and start the moment it is free; between processes the busy timeout still applies."""

    def __init__(self, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    @contextmanager
    def turn(self) -> Iterator[None]:
        acquired = self._lock.acquire(timeout=self._timeout_s)  # if not, SQLite's own busy timeout decides
        try:
            yield
        finally:
            if acquired:
                self._lock.release()


_WRITERS: WeakKeyDictionary[Engine, WriterTurns] = WeakKeyDictionary()


def writer_turns(engine: Engine) -> WriterTurns | None:
    """The engine's writer queue on SQLite; None on PostgreSQL, where row locks serialise writers."""
    return _WRITERS.get(engine)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000})
        _configure_sqlite(engine, settings)
        _WRITERS[engine] = WriterTurns(settings.sqlite_busy_timeout_ms / 1000)
        return engine
    engine = create_engine(url, pool_size=settings.pool_size, max_overflow=settings.pool_size)
    drop_dead_connections(engine)
    hot_path.send_begin_before_plain_statements(engine)
    return engine


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's own implicit transactions would start them lazily and
        # deferred, which turns concurrent writers into "database is locked" errors instead of a queue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; searches must ignore case in every script, as PostgreSQL does.
        dbapi_connection.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
