"""Writes kept back until the unit of work next reads, leaves a savepoint or commits, then sent together.

A close writes five statements (quotes, deal, close record, audit rows, idempotency answer); a bulk close writes
them for a hundred deals per batch. Sent one by one, each is a round trip to the database. Kept back, rows of the
same statement go out as one executemany, and on PostgreSQL every statement of the flush goes out in one pipeline:
one round trip for the lot.

Only writes whose order does not matter among themselves are kept back: UPDATEs of rows by primary key and INSERTs
of rows nothing else refers to yet. Every other statement, and every read, first flushes what is pending, so the
database sees the same effects in the same order as if each write had been sent at once. A second write to a row
that is already pending flushes first, so two writes of one row keep their order."""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Table, bindparam, column, exc, func, insert, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import Insert, Update

from dealdesk.db.direct import Direct

_UPDATES: dict[Table, Update] = {}
_INSERTS: dict[Table, Insert] = {}
KEY = "pk_"
"""Name of the primary-key parameter of a kept-back UPDATE (a column's own name is taken by its SET clause)."""


def _update_by_id(table: Table) -> Update:
    """UPDATE table SET <the columns given> WHERE id = :pk_ — built once per table: building costs more than
    running it."""
    statement = _UPDATES.get(table)
    if statement is None:
        statement = _UPDATES[table] = update(table).where(table.c.id == bindparam(KEY))
    return statement


_UNNEST_UPDATES: dict[tuple[str, tuple[str, ...]], Update] = {}


def _unnest(types: dict[str, Any]) -> Any:
    """unnest(:a, :b, …) AS v(a, b, …): rows from one array parameter per column."""
    return (
        func.unnest(*(bindparam(name, type_=postgresql.ARRAY(type_)) for name, type_ in types.items()))
        .table_valued(*(column(name, type_) for name, type_ in types.items()), name="v")
        .render_derived()
    )


def _update_from_arrays(table: Table, names: tuple[str, ...]) -> Update:
    """Many rows' updates as one statement on PostgreSQL, one array parameter per column:
    UPDATE table SET c = v.c … FROM unnest(:pk_, :c, …) AS v(pk_, c, …) WHERE table.id = v.pk_.
    An executemany sends, binds and runs one statement per row. Built once per table and set of columns."""
    statement = _UNNEST_UPDATES.get((table.name, names))
    if statement is None:
        rows = _unnest({KEY: table.c.id.type, **{name: table.c[name].type for name in names}})
        statement = _UNNEST_UPDATES[(table.name, names)] = (
            update(table).where(table.c.id == rows.c[KEY]).values({name: rows.c[name] for name in names})
        )
    return statement


_DIRECT: dict[Any, Direct] = {}


def _direct(statement: Any) -> Direct:
    """The statement as run straight on the driver (db/direct.py); kept-back statements are built once, so this
    compiles each once per set of columns."""
    found = _DIRECT.get(statement)
    if found is None:
        found = _DIRECT[statement] = Direct(statement)
    return found


COPY_FROM = 64
"""From this many rows, a kept-back INSERT goes out on PostgreSQL as COPY … FROM STDIN rather than an executemany
(a bulk close's close records and audit entries): the rows stream in one go instead of one statement each."""


def _copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY the rows into the table, each value made ready by its column type as an INSERT would."""
    names = list(rows[0])
    dialect = conn.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    with driver.cursor().copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None else process(value)
                    for value, process in zip(row.values(), processors, strict=True)
                ]
            )


def ready_rows(dialect: Dialect, table: Table, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows that all name the same columns, each value made ready for the driver by its column's type, as an INSERT
    through SQLAlchemy would make it (on SQLite; elsewhere the values are left as they are)."""
    if dialect.name != "sqlite" or not rows:
        return [tuple(row.values()) for row in rows]
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in rows[0]]
    return [
        tuple(
            value if process is None else process(value)
            for value, process in zip(row.values(), processors, strict=True)
        )
        for row in rows
    ]


def insert_ready(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows made ready by `ready_rows`, as one executemany. On SQLite straight on the driver: SQLAlchemy's
    per-row parameter handling cost a large import several times what SQLite took to store the rows, all of it
    while holding the one writer. Elsewhere a plain INSERT."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(_insert_into(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    try:
        driver.executemany(sql, rows)
    except sqlite3.Error as error:  # as SQLAlchemy would raise it, so callers see one kind of database error
        raise exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


def _insert_into(table: Table) -> Insert:
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table)
    return statement


class BatchedWrites:
    """The writes kept back in the current transaction of one unit of work."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, tuple[Any, list[dict[str, Any]], Table | None, Table | None]] = {}
        self._rows: set[tuple[str, Hashable]] = set()
        self._conn: Connection | None = None

    def begin(self, conn: Connection) -> None:
        self.clear()
        self._conn = conn

    def end(self) -> None:
        self.clear()
        self._conn = None

    @property
    def dialect_name(self) -> str:
        """The database's dialect ("postgresql", "sqlite"), found without sending what is kept back."""
        if self._conn is None:
            raise RuntimeError("no transaction: use `with uow.transaction():`")
        return self._conn.dialect.name

    def update(self, table: Table, row_id: Any, changes: dict[str, Any]) -> None:
        """UPDATE table SET changes WHERE id = row_id."""
        self.add(
            (table.name, "update", *changes),
            _update_by_id(table),
            {KEY: row_id, **changes},
            row=(table.name, row_id),
            updates=table,
        )

    def insert(self, table: Table, rows: list[dict[str, Any]], *, tracked: bool = True) -> None:
        """INSERT new rows (by `id`) that no other pending write refers to; `tracked=False` for rows that are never
        written again in the same transaction (audit entries)."""
        statement = _insert_into(table)
        for row in rows:
            self.add(
                (table.name, "insert", *row),
                statement,
                row,
                row=(table.name, row["id"]) if tracked else None,
                inserts=table,
            )

    def add(
        self,
        key: Hashable,
        statement: Any,
        parameters: dict[str, Any],
        *,
        row: tuple[str, Hashable] | None,
        updates: Table | None = None,
        inserts: Table | None = None,
    ) -> None:
        """Keep back one execution of `statement`; executions with the same `key` go out as one executemany.
        `row` names the row written, if a later write of it must wait for this one; `updates` is the table of an
        UPDATE by id and `inserts` that of a plain INSERT, so that many of them can go out as one statement."""
        if self._conn is None:
            raise RuntimeError("no transaction: use `with uow.transaction():`")
        if row is not None:
            if row in self._rows:
                self.flush()
            self._rows.add(row)
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = (statement, [parameters], updates, inserts)
        else:
            group[1].append(parameters)

    def clear(self) -> None:
        self._groups.clear()
        self._rows.clear()

    def flush(self) -> None:
        conn = self._conn
        if not self._groups or conn is None:
            return
        groups = list(self._groups.values())
        self.clear()
        if conn.dialect.name != "postgresql":
            for statement, parameters, _, inserted in groups:
                if inserted is None:
                    conn.execute(statement, parameters)
                else:
                    insert_ready(conn, inserted, list(parameters[0]), ready_rows(conn.dialect, inserted, parameters))
            return
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            for _, parameters, _, inserted in groups:
                if inserted is not None and len(parameters) >= COPY_FROM:
                    _copy_rows(conn, inserted, parameters)
            with driver.pipeline():
                for statement, parameters, updated, inserted in groups:
                    if updated is not None and len(parameters) > 1:
                        arrays = {name: [row[name] for row in parameters] for name in parameters[0]}
                        _direct(_update_from_arrays(updated, tuple(n for n in arrays if n != KEY))).run(conn, [arrays])
                    elif inserted is None or len(parameters) < COPY_FROM:
                        _direct(statement).run(conn, parameters)
        except psycopg.Error as error:  # raised when the pipeline syncs, outside SQLAlchemy's own wrapping
            raise exc.DBAPIError.instance(None, None, error, psycopg.Error) from error
