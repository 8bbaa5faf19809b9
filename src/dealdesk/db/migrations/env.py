"""Alembic environment: runs against the engine the caller hands over (see dealdesk.db.migrate).

On SQLite, changing a table's constraints means rebuilding it (batch mode: copy, drop, rename). With foreign keys
on, dropping a table that others refer to would check or cascade against the copy's rows, so they are off while
migrations run (a pragma that only works outside a transaction), and every key is checked before the end."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from dealdesk.db.tables import metadata

engine = context.config.attributes["engine"]


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    driver: Any = connection.connection.driver_connection
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _dangling_keys(connection: Connection) -> list[str]:
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    return [f"{table} rowid {rowid}: names no row of {parent}" for table, rowid, parent, _fk in rows]


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    keys_were_on = sqlite and connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    if sqlite:
        connection.rollback()  # reading the pragma began a transaction; the pragma is changed outside one
        _sqlite_foreign_keys(connection, on=False)
    try:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (dangling := _dangling_keys(connection)):
                raise RuntimeError("migrations left rows naming missing records:\n" + "\n".join(dangling))
    finally:
        if sqlite:
            connection.rollback()
            _sqlite_foreign_keys(connection, on=keys_were_on)
