"""The statements of every close, run on PostgreSQL straight on the psycopg connection.

Profiled under 16 clients, SQLAlchemy's per-execution work (execution context, parameter construction, result
set-up) cost about as much Python time as psycopg sending and reading the statement. A `Direct` statement is a
Core statement compiled once per set of parameter names; each run converts the parameters with the column types'
own bind processors, executes the SQL text on the driver connection in the current transaction, and converts the
results with the types' result processors. On SQLite it simply runs through SQLAlchemy.

Only plain statements qualify: no expanding IN lists. Database errors come out as SQLAlchemy's DBAPIError
subclasses, as they would from `Connection.execute`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
_REQUIRED = object()


class DirectRow(dict[str, Any]):
    """A result row: by column name as `row.name`, `row["name"]` or `row._mapping["name"]`, like SQLAlchemy's."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> DirectRow:
        return self


@dataclass
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Any, Processor | None], ...]
    """(name, default value, bind processor) of every parameter the SQL names"""
    columns: tuple[tuple[str, Any], ...]
    """(name, type) of every selected column, in order"""
    results: tuple[tuple[str, Processor | None], ...] | None = None
    """(name, result processor) of every selected column, made on the first run (processors depend on the type
    codes the database sends)"""


def _compile(statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> _Compiled:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect, column_keys=list(names) or None)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise NotImplementedError(f"column defaults computed in Python cannot run direct: {statement}")
    binds = tuple(
        (
            name,
            _REQUIRED if bind.required else bind.effective_value,
            bind.type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name, bind in compiled.binds.items()
    )
    columns = tuple((column.keyname, column.type) for column in compiled._result_columns)
    return _Compiled(sql=compiled.string, binds=binds, columns=columns)


def _result_processors(
    compiled: _Compiled, dialect: Dialect, description: Sequence[Any]
) -> tuple[tuple[str, Processor | None], ...]:
    compiled.results = tuple(
        (name, type_.dialect_impl(dialect).result_processor(dialect, column.type_code))
        for (name, type_), column in zip(compiled.columns, description, strict=True)
    )
    return compiled.results


@contextmanager
def _wrapped(statement: Executable, params: Any) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:
        raise exc.DBAPIError.instance(str(statement), params, error, psycopg.Error) from error


class Direct:
    """One Core statement, compiled once per dialect and parameter names, run without SQLAlchemy's engine on
    PostgreSQL."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _for(self, conn: Connection, params: Mapping[str, Any]) -> _Compiled:
        key = (conn.dialect.name, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, conn.dialect, key[1])
        return found

    @staticmethod
    def _bound(compiled: _Compiled, params: Mapping[str, Any]) -> dict[str, Any]:
        bound = {}
        for name, default, process in compiled.binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the bind parameter {name!r}")
            # None goes through the processor too, as in SQLAlchemy: a JSON column stores None as JSON null.
            bound[name] = value if process is None else process(value)
        return bound

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every result row (SQLAlchemy rows on SQLite, DirectRows on PostgreSQL: both read by column name)."""
        driver = conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            return list(conn.execute(self.statement, dict(params)))
        compiled = self._for(conn, params)
        bound = self._bound(compiled, params)
        with _wrapped(self.statement, bound):
            cursor = driver.execute(compiled.sql, bound)
            found = cursor.fetchall()
        results = compiled.results
        if results is None:  # the description is built anew on each call: read it once
            results = _result_processors(compiled, conn.dialect, cursor.description or ())
        return [
            DirectRow(
                (name, value if process is None else process(value))
                for (name, process), value in zip(results, row, strict=True)
            )
            for row in found
        ]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (an executemany), for writes."""
        driver = conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            conn.execute(self.statement, [dict(p) for p in params])
            return
        compiled = self._for(conn, params[0])
        bound = [self._bound(compiled, p) for p in params]
        cursor = driver.cursor()  # left open: in a pipeline its results arrive at the sync
        with _wrapped(self.statement, bound[0]):
            if len(bound) == 1:
                cursor.execute(compiled.sql, bound[0])
            else:
                cursor.executemany(compiled.sql, bound)
