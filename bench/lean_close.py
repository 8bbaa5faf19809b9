"""The lean reference: the least a close can be in SQL, on a schema with nothing else in it.

Per transaction: BEGIN; lock the deal's row; (odd deals) close its active and draft quotes in one UPDATE; update the
deal; insert the close and one audit row; END. No foreign keys, no report indexes, no CHECKs, no token or
idempotency rows: what any system that closes deals must at least do. The product's own schema is the other
reference (bench/pgbench_ref.py), and the difference between the two is what its invariants and indexes cost."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import create_engine, text

from bench.seeding import OPPORTUNITY, QUOTE, BenchDb, with_search_path
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role

SCHEMA = """
CREATE TABLE opportunities (
    id uuid PRIMARY KEY, state text NOT NULL, status_reason text NOT NULL, estimated_revenue numeric(18, 2) NOT NULL,
    actual_revenue numeric(18, 2), actual_close_date date, version integer NOT NULL, updated_at timestamptz NOT NULL
);
CREATE TABLE quotes (
    id uuid PRIMARY KEY, opportunity_id uuid NOT NULL, state text NOT NULL, status_reason text NOT NULL,
    closed_on date, version integer NOT NULL, updated_at timestamptz NOT NULL
);
CREATE INDEX quotes_opportunity_id ON quotes (opportunity_id);
CREATE TABLE opportunity_closes (
    id uuid PRIMARY KEY, opportunity_id uuid NOT NULL, outcome text NOT NULL, status_reason text NOT NULL,
    close_date date NOT NULL, actual_revenue numeric(18, 2) NOT NULL, closed_at timestamptz NOT NULL
);
CREATE TABLE audit_entries (
    id uuid PRIMARY KEY, at timestamptz NOT NULL, record_id uuid NOT NULL, action text NOT NULL, after jsonb
);
"""


def _uid(kind: int, number: str) -> str:
    return f"('{kind:08x}-0000-4000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"


def create(admin_url: str) -> BenchDb:
    """A schema of its own holding the lean tables (dropped by `seeding.drop`)."""
    schema = f"dd_bench_lean_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'SET search_path TO "{schema}"'))
            conn.exec_driver_sql(SCHEMA)
    finally:
        engine.dispose()
    return BenchDb(
        url=with_search_path(admin_url, schema),
        dialect="postgresql",
        actor=Actor(id=uuid.UUID(int=0), name="nobody", role=Role.MANAGER),  # the lean tables have no users
        token="",
        schema=schema,
        admin_url=admin_url,
    )


def seed(db: BenchDb, first: int, count: int) -> None:
    """Deals first … first + count - 1, open, each with an active and a draft quote (odd) or a draft only."""
    numbers = f"generate_series({first}, {first + count - 1}) AS n"
    engine = create_engine(db.url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO opportunities SELECT {_uid(OPPORTUNITY, 'n')}, 'open', 'in_progress', "
                f"1000 + mod(n, 5000), NULL, NULL, 3, now() FROM {numbers}"
            )
            conn.exec_driver_sql(
                f"INSERT INTO quotes SELECT {_uid(QUOTE, '2 * n')}, {_uid(OPPORTUNITY, 'n')}, "
                f"CASE WHEN mod(n, 2) = 1 THEN 'active' ELSE 'draft' END, 'open', NULL, 2, now() FROM {numbers}"
            )
            conn.exec_driver_sql(
                f"INSERT INTO quotes SELECT {_uid(QUOTE, '2 * n + 1')}, {_uid(OPPORTUNITY, 'n')}, 'draft', "
                f"'in_progress', NULL, 2, now() FROM {numbers}"
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE opportunities, quotes, opportunity_closes, audit_entries")
    finally:
        engine.dispose()


def script(*, close_date: date, first: int, per_client: int) -> str:
    """pgbench script: client c closes deals first + c * per_client, first + c * per_client + 1, … in order."""
    d = close_date.isoformat()
    opp = _uid(OPPORTUNITY, ":k::bigint")
    return (
        "\n".join(
            [
                "\\set n :n + 1",
                f"\\set k {first} + :client_id * {per_client} + :n - 1",
                "BEGIN;",
                f"SELECT state FROM opportunities WHERE id = {opp} FOR UPDATE;",
                "\\if :k % 2 = 1",
                f"UPDATE quotes SET state = 'closed', status_reason = 'lost', closed_on = '{d}', "
                f"version = version + 1, updated_at = now() WHERE opportunity_id = {opp} "
                "AND state IN ('active', 'draft');",
                f"UPDATE opportunities SET state = 'lost', status_reason = 'out_sold', actual_revenue = 0, "
                f"actual_close_date = '{d}', version = version + 3, updated_at = now() WHERE id = {opp};",
                f"INSERT INTO opportunity_closes VALUES (gen_random_uuid(), {opp}, 'lost', 'out_sold', '{d}', 0, "
                "now());",
                "\\else",
                f"UPDATE opportunities SET state = 'won', status_reason = 'won', actual_revenue = estimated_revenue, "
                f"actual_close_date = '{d}', version = version + 1, updated_at = now() WHERE id = {opp};",
                f"INSERT INTO opportunity_closes SELECT gen_random_uuid(), id, 'won', 'won', '{d}', estimated_revenue, "
                f"now() FROM opportunities WHERE id = {opp};",
                "\\endif",
                f"INSERT INTO audit_entries VALUES (gen_random_uuid(), now(), {opp}, 'close', "
                '\'{"state": "closed"}\');',
                "END;",
            ]
        )
        + "\n"
    )
