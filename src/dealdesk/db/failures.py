"""Database failures that are no fault of the request, as the refusals a client can act on (SPEC §7, §12).

SQLite's writer held past the busy timeout (a long import, say) is Busy; a database that cannot be reached, or that
dropped the connection mid-request, is DatabaseUnavailable. Both tell the client to retry after a while; neither is
a 500. Everything else (a schema that was never migrated, a broken constraint) stays what it is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import exc

from dealdesk.domain.errors import Busy, DatabaseUnavailable, RetryLater

BUSY_RETRY_AFTER_S = 2
UNAVAILABLE_RETRY_AFTER_S = 5
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def as_retry_later(error: BaseException) -> RetryLater | None:
    """The refusal a database failure means to a client, or None if it is not one of those."""
    if isinstance(error, exc.TimeoutError):  # every pooled connection is in use
        return Busy("Every database connection is in use; try again shortly", retry_after=BUSY_RETRY_AFTER_S)
    if not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return None
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        message = str(original).lower()
        if any(text in message for text in _SQLITE_BUSY):
            return Busy(
                "Another writer held the database past the busy timeout (a large import?); try again shortly",
                retry_after=BUSY_RETRY_AFTER_S,
            )
        if any(text in message for text in _SQLITE_UNREACHABLE):
            return DatabaseUnavailable("The database file cannot be opened", retry_after=UNAVAILABLE_RETRY_AFTER_S)
        return None
    if isinstance(original, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
        return Busy("The database is busy; try again shortly", retry_after=BUSY_RETRY_AFTER_S)
    if error.connection_invalidated or isinstance(original, psycopg.OperationalError | psycopg.InterfaceError):
        return DatabaseUnavailable("The database cannot be reached", retry_after=UNAVAILABLE_RETRY_AFTER_S)
    return None


@contextmanager
def retry_later_on_database_failures() -> Iterator[None]:
    """Raise the block's database failures as Busy or DatabaseUnavailable (with the original as their cause)."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        refusal = as_retry_later(error)
        if refusal is None:
            raise
        raise refusal from error
