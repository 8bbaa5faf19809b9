"""The close's statements on PostgreSQL, sent straight to psycopg: the one place that trades plainness for speed.

Why it exists. A close is the product's busiest write: a bearer-token look-up, the deal under its row lock with its
quotes and standing close, the close policy, and five kinds of write (quotes, deal, close record, audit rows, the
idempotency answer). Profiled under 16 clients, SQLAlchemy's per-execution work (execution context, parameter and
result set-up) cost about as much Python time as psycopg sending and reading the statement, and each statement sent
on its own is a round trip. So, on PostgreSQL only:
- each statement here is an ordinary Core statement, compiled once per set of parameter names with SQLAlchemy's
  public API, and run on the transaction's own psycopg connection, its values converted by the column types' own
  bind and result processors, so that rows look as they would through SQLAlchemy;
- a deal's load (lock, quotes, standing close, lines asked for) goes out as one psycopg pipeline: one round trip;
- a save's writes (db/writes.py) go out as one pipeline when the repository's `save` is called: one round trip.
  A batch of many deals sends each shape's updates as one UPDATE … FROM unnest(arrays), and from `COPY_FROM` rows
  its inserts as COPY;
- a transaction's BEGIN goes out with its first statement (`begin_with_first_statement`): in the hot path's first
  pipeline, or just before the first plain statement. psycopg, beginning on its own, waits for BEGIN's answer alone,
  even inside a pipeline: a round trip per transaction for nothing;
- the token look-up runs as a lone statement, outside any transaction (the unit of work's `one_statement`).

What it trades. Statements here bypass SQLAlchemy's engine: its events, its statement cache and its logging do not
see them (tests count them at the driver). A database error is raised as SQLAlchemy's DBAPIError subclass, as
`Connection.execute` would raise it, so the rest of the code handles one kind of error. Only statements of the
close, win and bulk close belong here; everything else, and SQLite always, takes the plain path."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import Engine, Select, Table, any_, bindparam, column, event, exc, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from dealdesk.db import tables as t
from dealdesk.db.types import driver_values
from dealdesk.db.writes import KEY, Steps, Write, WriteKind, grouped, parameters, statement_for

Processor = Callable[[Any], Any]
Row = dict[str, Any]
_REQUIRED = object()


@dataclass(frozen=True)
class _Sql:
    text: str
    binds: tuple[tuple[str, Any, Processor | None], ...]
    """(name, default value, bind processor) of every parameter the SQL names"""


class Statement:
    """One Core statement, compiled for PostgreSQL once per set of parameter names."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sql: dict[tuple[str, ...], _Sql] = {}
        self._results: tuple[tuple[str, Processor | None], ...] | None = None

    def bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The SQL text and its parameters, converted for the driver."""
        names = tuple(params)
        sql = self._sql.get(names)
        if sql is None:
            sql = self._sql[names] = self._compile(dialect, names)
        bound = {}
        for name, default, process in sql.binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the bind parameter {name!r}")
            # None goes through the processor too, as in SQLAlchemy: a JSON column stores None as JSON null.
            bound[name] = value if process is None else process(value)
        return sql.text, bound

    def _compile(self, dialect: Dialect, names: tuple[str, ...]) -> _Sql:
        assert isinstance(self.statement, ClauseElement)
        compiled = self.statement.compile(dialect=dialect, column_keys=list(names) or None)
        assert isinstance(compiled, SQLCompiler)
        binds = tuple(
            (
                name,
                _REQUIRED if bind.required else bind.effective_value,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name, bind in compiled.binds.items()
        )
        return _Sql(text=compiled.string, binds=binds)

    def rows(self, dialect: Dialect, cursor: psycopg.Cursor[Any]) -> list[Row]:
        """The cursor's rows by column name, each value converted as SQLAlchemy would convert it."""
        found = cursor.fetchall()
        results = self._results
        if results is None:  # processors depend on the type codes the database sends: made on the first run
            assert isinstance(self.statement, Select)
            results = self._results = tuple(
                (described.name, selected.type.dialect_impl(dialect).result_processor(dialect, described.type_code))
                for selected, described in zip(self.statement.selected_columns, cursor.description or (), strict=True)
            )
        return [
            {
                name: value if process is None else process(value)
                for (name, process), value in zip(results, row, strict=True)
            }
            for row in found
        ]


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), "the hot path serves PostgreSQL through psycopg only"
    return driver


@contextmanager
def _as_sqlalchemy_errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:  # raised by the driver (a pipeline raises when it syncs), outside SQLAlchemy
        raise exc.DBAPIError.instance(None, None, error, psycopg.Error) from error


def serves(conn: Connection) -> bool:
    """Whether the hot path serves this connection's database (PostgreSQL); elsewhere the plain path does."""
    return conn.dialect.name == "postgresql"


# ---------------------------------------------------------------------------------------------- BEGIN
_BEGIN_PENDING = "dealdesk_begin_pending"
"""Key in the connection's `info`: the transaction has not sent its BEGIN yet."""


def begin_with_first_statement(conn: Connection, *, transaction: bool = True) -> None:
    """Run the connection's next transaction in autocommit at the driver (SQLAlchemy's public
    `isolation_level="AUTOCOMMIT"`, restored when the connection goes back to the pool), its BEGIN sent with its
    first statement: the first pipeline here carries it, and `send_begin_before_plain_statements` sends it before
    a first statement of the plain path. psycopg then sends no BEGIN of its own, and its commit() and rollback()
    still end the transaction that the server has open (they look at the server's transaction status).
    `transaction=False`: statements that each stand alone, with no BEGIN at all (the token look-up)."""
    conn.execution_options(isolation_level="AUTOCOMMIT")
    conn.info[_BEGIN_PENDING] = transaction


def forget_begin(conn: Connection) -> None:
    """The transaction is over: a BEGIN never sent (it ran no statement) is not sent later."""
    if not conn.invalidated:
        conn.info.pop(_BEGIN_PENDING, None)


def _take_begin(conn: Connection) -> bool:
    return bool(conn.info.pop(_BEGIN_PENDING, False))


def send_begin_before_plain_statements(engine: Engine) -> None:
    """A transaction whose first statement takes the plain path sends BEGIN just before it, as psycopg would."""

    @event.listens_for(engine, "before_cursor_execute")
    def _begin(conn: Connection, *_: Any) -> None:
        if _take_begin(conn):
            with _as_sqlalchemy_errors():
                _driver(conn).execute(b"BEGIN")


def read(conn: Connection, statement: Statement, params: Mapping[str, Any]) -> Sequence[Mapping[Any, Any]]:
    """One statement's rows by column name: straight from psycopg on PostgreSQL, through SQLAlchemy elsewhere."""
    if not serves(conn):
        return [row._mapping for row in conn.execute(statement.statement, dict(params))]
    return read_together(conn, (statement, params))[0]


def read_together(conn: Connection, *reads: tuple[Statement, Mapping[str, Any]]) -> list[list[Row]]:
    """Several statements in one round trip, run in order (the first may take the lock the others read under)."""
    driver = _driver(conn)
    begin = _take_begin(conn)
    cursors = []
    with _as_sqlalchemy_errors():
        with driver.pipeline() if len(reads) > 1 or begin else nullcontext():
            if begin:
                driver.execute(b"BEGIN")
            for statement, params in reads:
                cursor = driver.cursor()
                cursor.execute(*statement.bound(conn.dialect, params))
                cursors.append(cursor)
        return [statement.rows(conn.dialect, cursor) for (statement, _), cursor in zip(reads, cursors, strict=True)]


# ---------------------------------------------------------------------------------------------- the deal
_opp = t.opportunities
_quotes = t.quotes
_closes = t.opportunity_closes
_ID = bindparam("id", type_=_opp.c.id.type)
_IDS = bindparam("ids", type_=postgresql.ARRAY(_opp.c.id.type))
_DEAL = select(_opp).where(_opp.c.id == _ID)
_GET = Statement(_DEAL)
_LOCK = Statement(_DEAL.with_for_update())
_QUOTES = Statement(
    select(_quotes).where(_quotes.c.opportunity_id == _ID).order_by(_quotes.c.number, _quotes.c.revision)
)
_STANDING_CLOSE = Statement(select(_closes).where(_closes.c.opportunity_id == _ID, _closes.c.reopened_at.is_(None)))
_LINES = Statement(
    select(t.quote_lines)
    .where(t.quote_lines.c.quote_id == any_(_IDS))
    .order_by(t.quote_lines.c.quote_id, t.quote_lines.c.position)
)
_LOCK_MANY = Statement(select(_opp).where(_opp.c.id == any_(_IDS)).order_by(_opp.c.id).with_for_update())
_QUOTES_OF_MANY = Statement(
    select(_quotes).where(_quotes.c.opportunity_id == any_(_IDS)).order_by(_quotes.c.number, _quotes.c.revision)
)
_STANDING_CLOSES_OF_MANY = Statement(
    select(_closes).where(_closes.c.opportunity_id == any_(_IDS), _closes.c.reopened_at.is_(None))
)


@dataclass
class DealRows:
    """The rows of one or more deals as loaded: the deals, their quotes, standing closes and the lines asked for."""

    opportunities: Sequence[Mapping[Any, Any]]
    quotes: Sequence[Mapping[Any, Any]] = ()
    standing_closes: Sequence[Mapping[Any, Any]] = ()
    lines: Sequence[Mapping[Any, Any]] = ()
    also: Sequence[Sequence[Mapping[Any, Any]]] = ()
    """The rows of each read asked for besides, in order."""


def load_deal(
    conn: Connection,
    opportunity_id: UUID,
    *,
    lock: bool,
    lines_of: Sequence[UUID],
    also: Sequence[tuple[Statement, Mapping[str, Any]]] = (),
) -> DealRows:
    """One deal (under its row lock if `lock`), and the reads `also` after it, in one round trip."""
    key = {"id": opportunity_id}
    reads: list[tuple[Statement, Mapping[str, Any]]] = [
        (_LOCK if lock else _GET, key),
        (_QUOTES, key),
        (_STANDING_CLOSE, key),
        (_LINES, {"ids": list(lines_of)}),
    ]
    if not lines_of:
        reads.pop()
    found = read_together(conn, *reads, *also)
    deal, quotes, standing_close = found[:3]
    lines = found[3] if lines_of else []
    return DealRows(deal, quotes, standing_close, lines, also=found[len(reads) :])


def lock_deals(conn: Connection, opportunity_ids: Sequence[UUID]) -> DealRows:
    """Several deals under their row locks, taken in id order, with their quotes in one round trip; the standing
    closes of those not open in a second one, only if there are any (a bulk close's batch is mostly open deals)."""
    ids = {"ids": list(opportunity_ids)}
    deals, quotes = read_together(conn, (_LOCK_MANY, ids), (_QUOTES_OF_MANY, ids))
    closed = [row["id"] for row in deals if row["state"] != "open"]
    closes = read_together(conn, (_STANDING_CLOSES_OF_MANY, {"ids": closed}))[0] if closed else []
    return DealRows(deals, quotes, closes)


# ---------------------------------------------------------------------------------------------- the close policy
_policy = t.close_policy.c
CLOSE_POLICY = Statement(
    select(
        _policy.require_close_reason_won,
        _policy.require_close_reason_lost,
        _policy.require_competitor_when_out_sold,
        _policy.require_description_when_lost,
    ).where(_policy.id == 1)
)


# ---------------------------------------------------------------------------------------------- the bearer token
_u = t.users.c
_tok = t.api_tokens.c
TOKEN_ACTOR = Statement(
    select(_u.id, _u.name, _u.role)
    .join_from(t.api_tokens, t.users, _tok.user_id == _u.id)
    .where(
        _tok.digest == bindparam("digest"),
        _tok.revoked_at.is_(None),
        _tok.expires_at > bindparam("now", type_=_tok.expires_at.type),
        _u.active.is_(True),
    )
)


# ---------------------------------------------------------------------------------------------- Idempotency-Key
_idem = t.idempotency_keys.c
IDEMPOTENCY_ANSWER = Statement(
    select(_idem.fingerprint, _idem.status_code, _idem.body).where(
        _idem.user_id == bindparam("user_id"),
        _idem.scope == bindparam("scope"),
        _idem.key == bindparam("key"),
        _idem.created_at > bindparam("fresh_after", type_=_idem.created_at.type),
    )
)


# ---------------------------------------------------------------------------------------------- writes
COPY_FROM = 64
"""From this many rows of one shape, an insert goes out as COPY … FROM STDIN rather than one statement per row
(a bulk close's close records and audit entries)."""

_WRITES: dict[tuple[Any, ...], Statement] = {}


def _write_statement(first: Write, names: tuple[str, ...], dialect: Dialect, *, many: bool) -> Statement:
    key = (*first.shape, many)
    found = _WRITES.get(key)
    if found is None:
        if many:
            found = _WRITES[key] = Statement(_update_from_arrays(first.table, names))
        else:
            found = _WRITES[key] = Statement(statement_for(first, dialect))
    return found


def _update_from_arrays(table: Table, names: tuple[str, ...]) -> Any:
    """Many rows' updates as one statement, one array parameter per column:
    UPDATE table SET c = v.c … FROM unnest(:pk_, :c, …) AS v(pk_, c, …) WHERE table.id = v.pk_."""
    types = {KEY: table.c.id.type, **{name: table.c[name].type for name in names}}
    rows = (
        func.unnest(*(bindparam(name, type_=postgresql.ARRAY(type_)) for name, type_ in types.items()))
        .table_valued(*(column(name, type_) for name, type_ in types.items()), name="v")
        .render_derived()
    )
    return update(table).where(table.c.id == rows.c[KEY]).values({name: rows.c[name] for name in names})


def send(conn: Connection, steps: Steps) -> None:
    """Every write now, in one round trip (after a COPY per large insert). Inserts sent by COPY go first: a save
    sends that many rows of one shape only for a batch of deals that already exist (their close records and audit
    entries), which refer to nothing else the same send writes."""
    groups = list(grouped(steps))
    if not groups:
        return
    driver = _driver(conn)
    dialect = conn.dialect
    begin = _take_begin(conn)
    with _as_sqlalchemy_errors():
        for first, rows in groups:
            if first.kind is WriteKind.INSERT and len(rows) >= COPY_FROM:
                if begin:  # COPY cannot run in a pipeline
                    driver.execute(b"BEGIN")
                    begin = False
                _copy(driver, dialect, first.table, rows)
        with driver.pipeline():
            if begin:
                driver.execute(b"BEGIN")
            for first, rows in groups:
                if first.kind is WriteKind.INSERT and len(rows) >= COPY_FROM:
                    continue
                params = [parameters(first, row) for row in rows]
                cursor = driver.cursor()  # left open: in a pipeline its results arrive at the sync
                if first.kind is WriteKind.UPDATE and len(params) > 1:
                    names = tuple(name for name in params[0] if name != KEY)
                    arrays = {name: [p[name] for p in params] for name in params[0]}
                    cursor.execute(*_write_statement(first, names, dialect, many=True).bound(dialect, arrays))
                    continue
                statement = _write_statement(first, tuple(params[0]), dialect, many=False)
                bound = [statement.bound(dialect, p) for p in params]
                if len(bound) == 1:
                    cursor.execute(*bound[0])
                else:
                    cursor.executemany(bound[0][0], [values for _, values in bound])


def _copy(driver: psycopg.Connection[Any], dialect: Dialect, table: Table, rows: list[Mapping[str, Any]]) -> None:
    """COPY the rows into the table, each value made ready by its column type as an INSERT would make it."""
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in rows[0])
    with driver.cursor().copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
        for values in driver_values(dialect, table, rows):
            copy.write_row(values)
