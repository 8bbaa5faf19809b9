"""PostgreSQL's plans for the Dataverse collection reads the two clients send, over 1,000,000 opportunities.

    .venv/bin/python -m bench.dataverse_explain [--opportunities N] [--closes N]

Seeds a schema of its own (`dd_explain_…`, dropped at the end) with N opportunities (default 1,000,000) by
set-based SQL, then resolves each query exactly as the Dataverse adapter does (web/api/dataverse/query.py) and runs
`EXPLAIN (ANALYZE, BUFFERS)` on the very statement db/record_reads.py would run. Then it times the close's UPDATE of
the opportunity row with and without `ix_opportunities_lower_name` (migration 0011), each round in a transaction
rolled back, counting HOT updates. docs/dataverse.md keeps the output of one run. Needs PostgreSQL
(`DEALDESK_BENCH_POSTGRES_URL`, else `DEALDESK_TEST_POSTGRES_URL`, else the local `test` database)."""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import upgrade
from dealdesk.db.record_reads import SqlRecordReads
from dealdesk.services.record_queries import RecordQuery
from dealdesk.web.api.dataverse.entities import OPPORTUNITY
from dealdesk.web.api.dataverse.query import after, collection_request, preferences, skiptoken

POSTGRES_URL = os.environ.get(
    "DEALDESK_BENCH_POSTGRES_URL",
    os.environ.get("DEALDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)

SEED = """
INSERT INTO users (id, name, role, active, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'owner', 'sales', true, now(), now());
INSERT INTO accounts (id, name, created_at, updated_at)
SELECT md5('account' || i)::uuid, 'Account ' || i, now(), now() FROM generate_series(1, 10000) AS i;
INSERT INTO opportunities (id, name, account_id, currency, estimated_revenue, owner_id, state, status_reason,
                           actual_revenue, actual_close_date, version, created_at, updated_at)
SELECT md5('opportunity' || i)::uuid,
       CASE WHEN i % 1000 = 0 THEN 'Pilot ' || i WHEN i % 100 = 0 THEN 'Lab rollout ' || i ELSE 'Deal ' || i END,
       md5('account' || (i % 10000 + 1))::uuid,
       CASE WHEN i % 10 = 0 THEN 'HKD' ELSE 'USD' END,
       (i % 100000)::numeric,
       '00000000-0000-0000-0000-000000000001',
       CASE WHEN i % 20 < 12 THEN 'open' WHEN i % 20 < 17 THEN 'won' ELSE 'lost' END,
       CASE WHEN i % 20 < 12 THEN 'in_progress' WHEN i % 20 < 17 THEN 'won' ELSE 'canceled' END,
       CASE WHEN i % 20 < 12 THEN NULL ELSE (i % 100000)::numeric END,
       CASE WHEN i % 20 < 12 THEN NULL ELSE date '2024-01-01' + (i % 700) END,
       1,
       timestamptz '2023-01-01' + make_interval(secs => i * 90),
       timestamptz '2023-01-01' + make_interval(secs => i * 90)
FROM generate_series(1, :count) AS i;
"""


def shapes(account_id: str, opportunity_id: str) -> list[tuple[str, dict[str, str], int]]:
    """(what sends it, query options, Prefer: odata.maxpagesize) — the reads of tests/moving_in/
    test_dataverse_clients.py, at the page sizes those clients ask for."""
    return [
        (
            "dataverse-api: read one (a filter on the key)",
            {"$filter": f"opportunityid eq {opportunity_id}", "$select": "name,statecode"},
            5000,
        ),
        (
            "dataverse-api: open deals whose name contains a word, page 1",
            {"$filter": "statecode eq 0 and contains(name,'rollout')", "$select": "name"},
            2,
        ),
        (
            "dataverse-api: the same, page 2 (keyset after page 1)",
            {"$filter": "statecode eq 0 and contains(name,'rollout')", "$select": "name", "next": "1"},
            2,
        ),
        (
            "PowerPlatform-Dataverse-Client: names starting with a prefix, by name descending, page 1",
            {"$filter": "startswith(name,'Pilot')", "$select": "name", "$orderby": "name desc"},
            2,
        ),
        (
            "PowerPlatform-Dataverse-Client: the same, page 2",
            {"$filter": "startswith(name,'Pilot')", "$select": "name", "$orderby": "name desc", "next": "1"},
            2,
        ),
        ("one account's deals", {"$filter": f"_parentaccountid_value eq {account_id}"}, 5000),
        (
            "won deals closed since a date, 500 a page",
            {"$filter": "statecode eq 1 and actualclosedate ge 2025-06-01"},
            500,
        ),
        ("everything, default order, page 1000 deep (keyset)", {"$select": "name", "next": "1000"}, 100),
    ]


@contextmanager
def seeded_schema(count: int) -> Iterator[tuple[Engine, float]]:
    schema = f"dd_explain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(Settings(database_url=url))
    try:
        upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in SEED.split(";"):
                if statement.strip():
                    conn.execute(text(statement), {"count": count})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        yield engine, time.perf_counter() - started
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def explain(conn: Connection, statement: Any) -> str:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, compiled.params).all()
    return "\n".join(row[0] for row in rows)


CLOSE_UPDATE = """
UPDATE opportunities SET state = 'won', status_reason = 'won', actual_revenue = estimated_revenue,
       actual_close_date = date '2026-01-01', version = version + 1, updated_at = now()
WHERE id = %(id)s
"""
"""The columns a close changes on the opportunity row (db/opportunity_store.py writes only the changed ones)."""


UPDATE_COUNTS = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'opportunities'::regclass"


def close_path(engine: Engine, count: int) -> list[str]:
    """Per-close time of `count` close-shaped UPDATEs with the name index and without it (dropped inside the
    rolled-back transaction), alternating twice, and how many of them were HOT updates."""
    with engine.connect() as conn:
        ids = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT id FROM opportunities WHERE state = 'open' ORDER BY id LIMIT %(n)s", {"n": count * 4}
            )
        ]
    lines = []
    for round_, (label, drop) in enumerate([("with", False), ("without", True), ("with", False), ("without", True)]):
        chunk = ids[round_ * count : (round_ + 1) * count]
        with engine.connect() as conn:
            transaction = conn.begin()
            if drop:
                conn.exec_driver_sql("DROP INDEX ix_opportunities_lower_name")
            before = conn.exec_driver_sql(UPDATE_COUNTS).one()
            started = time.perf_counter()
            for opportunity_id in chunk:
                conn.exec_driver_sql(CLOSE_UPDATE, {"id": opportunity_id})
            seconds = time.perf_counter() - started
            after_ = conn.exec_driver_sql(UPDATE_COUNTS).one()
            updated, hot = after_[0] - before[0], after_[1] - before[1]
            transaction.rollback()
        lines.append(
            f"{label} ix_opportunities_lower_name: {count:,} closes, {seconds / count * 1000:.3f} ms each, "
            f"{hot} of {updated} HOT"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--closes", type=int, default=2_000, help="close-shaped UPDATEs timed per round")
    args = parser.parse_args()
    with seeded_schema(args.opportunities) as (engine, seconds):
        print(f"seeded {args.opportunities:,} opportunities in {seconds:.1f} s\n")
        reads = SqlRecordReads(lambda: connection)
        with engine.connect() as connection:
            account_id = str(connection.exec_driver_sql("SELECT account_id FROM opportunities LIMIT 1").scalar())
            opportunity_id = str(
                connection.exec_driver_sql("SELECT id FROM opportunities OFFSET 4242 LIMIT 1").scalar()
            )
            for title, params, page_size in shapes(account_id, opportunity_id):
                pages = int(params.pop("next", "0"))
                request = collection_request(OPPORTUNITY, params, preferences(f"odata.maxpagesize={page_size}"))
                query = request.query
                for _ in range(pages):  # walk to the page asked for, as a client following nextLink does
                    page = reads.query(query)
                    if not page.more:
                        break
                    last = page.rows[-1]
                    order = [key.source for key in query.order]
                    token = skiptoken((*(last[source] for source in order), last["id"]))
                    query = RecordQuery(query.kind, query.where, query.order, query.limit, after(token, len(order) + 1))
                filter_text = params.get("$filter", "(none)")
                print(
                    f"### {title}\n\n$filter={filter_text}  $orderby={params.get('$orderby', '(default)')}  "
                    f"page size {page_size}\n\n```"
                )
                print(explain(connection, reads.page_statement(query, connection)))
                print("```\n")
        print("### the close's UPDATE of the opportunity row\n\n```")
        print("\n".join(close_path(engine, args.closes)))
        print("```")


if __name__ == "__main__":
    main()
