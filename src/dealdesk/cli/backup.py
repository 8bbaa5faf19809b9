"""`dealdesk db backup FILE`: an online copy of a SQLite database; on PostgreSQL, a pointer to pg_dump."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dealdesk.cli.refusals import EXIT_USAGE, err
from dealdesk.config import Settings
from dealdesk.db.backup import DatabaseMissing, NotSqlite, backup_sqlite

EXIT_DATABASE = 3
PG_DUMP_HINT = (
    "this database is PostgreSQL: back it up with PostgreSQL's own tools, e.g.\n"
    "  pg_dump --format=custom --file=dealdesk.dump 'postgresql://USER@HOST:5432/DB'\n"
    "and restore with pg_restore (README: Backup and restore)"
)


def backup_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where the copy goes (a new file)")],
) -> None:
    """Copy the SQLite database to FILE while it is in use (SQLite's online backup). Not for PostgreSQL."""
    settings = Settings()
    if file.exists():
        err.print(f"[bold red]bad usage[/]: {file} exists; choose a new file")
        raise typer.Exit(EXIT_USAGE)
    try:
        pages = backup_sqlite(settings.database_url, file, busy_timeout_s=settings.sqlite_busy_timeout_ms / 1000)
    except NotSqlite:
        err.print(f"[bold red]bad usage[/]: {PG_DUMP_HINT}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except DatabaseMissing as error:
        err.print(f"[bold red]database_error[/]: {error}")
        raise typer.Exit(EXIT_DATABASE) from None
    err.print(f"backed up {pages} pages to {file}")
