"""A pooled PostgreSQL connection that the server has closed is dropped before it is used, without a round trip.

When PostgreSQL ends a connection (a restart, a failover, `pg_terminate_backend`, an idle timeout), it sends a last
message and closes the socket; the client learns of it only when it next uses the connection, and that request
fails. SQLAlchemy's `pool_pre_ping` would find out with a `SELECT 1` at every checkout: a round trip on every
transaction, two per API request. An idle connection in the pool has nothing to read, so a socket that is readable
(or closed) at checkout is a dead connection: one `poll()` system call tells, and the pool replaces it with a fresh
one. What this cannot see (a peer that vanished without closing, a failover behind a proxy that keeps the socket
open) fails on first use and is answered 503 `database_unavailable` (db/failures.py); the pool then starts afresh."""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event, exc


def is_closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection was closed from the other end (or has anything unexpected to read)."""
    if dbapi_connection.closed:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def drop_dead_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if is_closed_by_server(dbapi_connection):
            # The pool discards this connection and checks out another (SQLAlchemy's documented way to do this).
            raise exc.DisconnectionError("the database closed this pooled connection")
