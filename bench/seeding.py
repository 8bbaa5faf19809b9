"""Benchmark databases: a fresh PostgreSQL schema (or SQLite file), migrated, with a manager and a bearer token,
filled set-based (one INSERT … SELECT per table over a number series) with deals ready to close.

Ids are deterministic, so that pgbench scripts and raw SQL can compute them from a number: deal n is
`0000000b-0000-4000-8000-<n as 12 hex digits>`, its quotes are numbers 2n and 2n + 1 of kind `c`.

Two shapes of deal:
- `mix`: odd n has an active and a draft quote (closed with `close_quotes`), even n a draft and a lost quote (a
  plain close succeeds: drafts do not block).
- `active_draft`: every deal has one active and one draft quote (the bulk-close data set)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, make_url, text

from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import upgrade
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services import auth

ACCOUNT, OPPORTUNITY, QUOTE, CLOSE = 0xA, 0xB, 0xC, 0xD
ACCOUNTS = 100
Shape = Literal["mix", "active_draft"]
STAMP = "2025-01-02 03:04:05"
VACUUMED = ("opportunities", "quotes", "quote_lines", "opportunity_closes", "audit_entries", "idempotency_keys")


def seeded_id(kind: int, number: int) -> uuid.UUID:
    return uuid.UUID(f"{kind:08x}-0000-4000-8000-{number:012x}")


def opportunity_id(n: int) -> uuid.UUID:
    return seeded_id(OPPORTUNITY, n)


def needs_close_quotes(n: int, shape: Shape = "mix") -> bool:
    """Whether deal n has an active quote, so that only `close_quotes` lets it close."""
    return shape == "active_draft" or n % 2 == 1


@dataclass
class BenchDb:
    url: str
    """SQLAlchemy URL the app and the CLI use (PostgreSQL: with the schema as search_path)."""
    dialect: str
    actor: Actor
    token: str
    schema: str | None = None
    admin_url: str | None = None
    path: Path | None = None
    options: str = ""
    """Extra PostgreSQL settings for every session, e.g. `-c synchronous_commit=off`."""

    def engine(self) -> Engine:
        return make_engine(Settings(database_url=self.url))

    def libpq(self) -> dict[str, str]:
        """Environment for pgbench / psql: connection and search_path."""
        assert self.admin_url is not None and self.schema is not None
        url = make_url(self.admin_url)
        env = {
            "PGHOST": url.host or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "postgres",
            "PGDATABASE": url.database or "postgres",
            "PGOPTIONS": f"-c search_path={self.schema} {self.options}".strip(),
        }
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return env


def with_search_path(url: str, schema: str, options: str = "") -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema} {options}'.strip())}"


def _migrate_and_add_user(url: str) -> tuple[Actor, str]:
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        upgrade(engine)
        issued = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "bench", Role.MANAGER, password=None)
    finally:
        engine.dispose()
    return issued.user.as_actor(), issued.token


def create_postgres(admin_url: str, label: str, *, options: str = "") -> BenchDb:
    schema = f"dd_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = with_search_path(admin_url, schema, options)
    actor, token = _migrate_and_add_user(url)
    return BenchDb(
        url=url, dialect="postgresql", actor=actor, token=token, schema=schema, admin_url=admin_url, options=options
    )


def create_sqlite(path: Path) -> BenchDb:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    actor, token = _migrate_and_add_user(url)
    return BenchDb(url=url, dialect="sqlite", actor=actor, token=token, path=path)


def drop(db: BenchDb) -> None:
    if db.dialect == "postgresql":
        assert db.admin_url is not None
        admin = create_engine(db.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
        finally:
            admin.dispose()
    elif db.path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db.path}{suffix}").unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ SQL dialects
class _Sql:
    """Literal expressions in each engine's storage format (SQLite: hex UUIDs, money in cents, text stamps)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def uid(self, kind: int, number: str) -> str:
        if self.pg:
            return f"('{kind:08x}-0000-4000-8000-' || lpad(to_hex(({number})::bigint), 12, '0'))::uuid"
        return f"printf('{kind:08x}000040008000%012x', {number})"

    def literal_uuid(self, value: uuid.UUID) -> str:
        return f"'{value}'::uuid" if self.pg else f"'{value.hex}'"

    def mod(self, a: str, b: int) -> str:
        return f"mod({a}, {b})" if self.pg else f"({a} % {b})"

    def money(self, expression: str) -> str:
        return f"({expression})::numeric(14, 2)" if self.pg else f"(({expression}) * 100)"

    def stamp(self) -> str:
        return f"'{STAMP}+00'::timestamptz" if self.pg else f"'{STAMP}.000000'"

    def day(self) -> str:
        return "'2025-01-02'::date" if self.pg else "'2025-01-02'"

    def numbers(self, first: int, count: int) -> str:
        if self.pg:
            return f"generate_series({first}, {first + count - 1}) AS s(n)"
        return "seq"

    def with_numbers(self, first: int, count: int) -> str:
        if self.pg:
            return ""
        return (
            f"WITH RECURSIVE seq(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM seq WHERE n < {first + count - 1}) "
        )


def _insert(sql: _Sql, table: str, values: dict[str, str], first: int, count: int) -> str:
    columns = ", ".join(values)
    expressions = ", ".join(values.values())
    if sql.pg:
        return f"INSERT INTO {table} ({columns}) SELECT {expressions} FROM {sql.numbers(first, count)}"
    return f"INSERT INTO {table} ({columns}) {sql.with_numbers(first, count)}SELECT {expressions} FROM seq"


def seed_statements(dialect: str, owner: uuid.UUID, first: int, count: int, shape: Shape) -> list[str]:
    """Deals first..first+count-1, two quotes each with one line; accounts once (first == 1)."""
    sql = _Sql(dialect)
    stamps = {"created_at": sql.stamp(), "updated_at": sql.stamp()}
    statements = []
    if first == 1:
        statements.append(
            _insert(sql, "accounts", {"id": sql.uid(ACCOUNT, "n"), "name": "'Account ' || n", **stamps}, 1, ACCOUNTS)
        )
    statements.append(
        _insert(
            sql,
            "opportunities",
            {
                "id": sql.uid(OPPORTUNITY, "n"),
                "name": "'Deal ' || n",
                "account_id": sql.uid(ACCOUNT, f"{sql.mod('n', ACCOUNTS)} + 1"),
                "currency": "'USD'",
                "estimated_revenue": sql.money(f"1000 + {sql.mod('n', 5000)}"),
                "owner_id": sql.literal_uuid(owner),
                "state": "'open'",
                "status_reason": "'in_progress'",
                "version": "3",
                **stamps,
            },
            first,
            count,
        )
    )
    # Quote 2n: active (or draft on even deals of the mix); quote 2n + 1: draft (or lost on even deals).
    odd = f"{sql.mod('n', 2)} = 1"
    first_state = "'active'" if shape == "active_draft" else f"CASE WHEN {odd} THEN 'active' ELSE 'draft' END"
    first_reason = "'open'" if shape == "active_draft" else f"CASE WHEN {odd} THEN 'open' ELSE 'in_progress' END"
    second_state = "'draft'" if shape == "active_draft" else f"CASE WHEN {odd} THEN 'draft' ELSE 'closed' END"
    second_reason = (
        "'in_progress'" if shape == "active_draft" else f"CASE WHEN {odd} THEN 'in_progress' ELSE 'lost' END"
    )
    second_closed_on = "NULL" if shape == "active_draft" else f"CASE WHEN {odd} THEN NULL ELSE {sql.day()} END"
    for offset, state, reason, closed_on in (
        (0, first_state, first_reason, "NULL"),
        (1, second_state, second_reason, second_closed_on),
    ):
        statements.append(
            _insert(
                sql,
                "quotes",
                {
                    "id": sql.uid(QUOTE, f"2 * n + {offset}"),
                    "opportunity_id": sql.uid(OPPORTUNITY, "n"),
                    "currency": "'USD'",
                    "number": f"'B-' || (2 * n + {offset})",
                    "revision": "0",
                    "name": f"'Quote {offset} of deal ' || n",
                    "state": state,
                    "status_reason": reason,
                    "total_amount": sql.money(f"500 + {sql.mod('n', 1000)}"),
                    "line_count": "1",
                    "closed_on": closed_on,
                    "version": "2",
                    **stamps,
                },
                first,
                count,
            )
        )
        statements.append(
            _insert(
                sql,
                "quote_lines",
                {
                    "quote_id": sql.uid(QUOTE, f"2 * n + {offset}"),
                    "position": "0",
                    "description": "'Consulting days'",
                    "quantity": sql.money("1"),
                    "unit_price": sql.money(f"500 + {sql.mod('n', 1000)}"),
                    "amount": sql.money(f"500 + {sql.mod('n', 1000)}"),
                },
                first,
                count,
            )
        )
    return statements


def seed(db: BenchDb, first: int, count: int, shape: Shape = "mix") -> float:
    """Seconds taken to add deals first..first+count-1 (and analyse the tables, as autovacuum would)."""
    started = time.perf_counter()
    engine = db.engine()
    try:
        with engine.begin() as conn:
            if db.dialect == "postgresql":
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                if conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
                    # The rows satisfy their foreign keys by construction: skip the per-row checks.
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in seed_statements(db.dialect, db.actor.id, first, count, shape):
                conn.exec_driver_sql(statement)
        analyse(db, engine)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def analyse(db: BenchDb, engine: Engine | None = None) -> None:
    """Fresh statistics and a vacuumed heap between runs, so each scenario starts from the same footing."""
    own = engine is None
    engine = engine or db.engine()
    try:
        if db.dialect == "postgresql":
            # Only this schema's tables: a bare VACUUM would visit every schema of the database.
            names = ", ".join(f'"{db.schema}".{name}' for name in VACUUMED)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM ANALYZE {names}")
        else:
            assert db.path is not None
            raw = sqlite3.connect(db.path, isolation_level=None)
            try:
                raw.execute("ANALYZE")
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
    finally:
        if own:
            engine.dispose()


def count_open(db: BenchDb, first: int, count: int) -> int:
    """How many of deals first..first+count-1 are still open (a run must leave none)."""
    sql = _Sql(db.dialect)
    ids = f"SELECT {sql.uid(OPPORTUNITY, 'n')} FROM {sql.numbers(first, count)}"
    if not sql.pg:
        ids = f"{sql.with_numbers(first, count)}SELECT {sql.uid(OPPORTUNITY, 'n')} FROM seq"
    engine = db.engine()
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM opportunities WHERE state = 'open' AND id IN ({ids})"
                ).scalar_one()
            )
    finally:
        engine.dispose()
