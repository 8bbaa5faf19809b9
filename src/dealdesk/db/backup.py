"""An online copy of a SQLite database: SQLite's backup API copies it page by page while servers keep reading and
writing it, and the copy is a consistent snapshot (WAL included). PostgreSQL has its own tools (pg_dump)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PAGES_PER_STEP = 1024
"""Pages copied per step; between steps writers get their turn, so a large backup does not stall the servers."""


class NotSqlite(Exception):
    """The database is not a SQLite file."""


class DatabaseMissing(Exception):
    """The SQLite file named by the URL does not exist (or cannot be opened)."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise NotSqlite(url.get_backend_name())
    if not url.database or url.database == ":memory:":
        raise DatabaseMissing("an in-memory database has nothing to back up")
    return Path(url.database)


def backup_sqlite(database_url: str, target: Path, *, busy_timeout_s: float = 30.0) -> int:
    """Copy the database to `target` (a new file); answers the number of pages copied."""
    source_path = sqlite_path(database_url)
    if not source_path.is_file():
        raise DatabaseMissing(f"no SQLite database at {source_path}")
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=busy_timeout_s)
    except sqlite3.Error as error:
        raise DatabaseMissing(str(error)) from error
    copied = 0
    try:
        destination = sqlite3.connect(target)
        try:

            def progress(_status: int, remaining: int, total: int) -> None:
                nonlocal copied
                copied = total - remaining

            source.backup(destination, pages=PAGES_PER_STEP, progress=progress)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            destination.close()
    finally:
        source.close()
    return copied
