"""The win/loss report over a million close records on PostgreSQL: how long the report service takes next to the
raw aggregate query.

    .venv/bin/python -m bench.report_bench                    # 1,000,000 closes, 7 timed runs per scenario
    .venv/bin/python -m bench.report_bench --closes 200000 --runs 5 --explain
    .venv/bin/python -m bench.report_bench --keep             # then --schema NAME to time it again without seeding

It migrates a fresh schema, fills it set-based (INSERT … SELECT generate_series, one statement per table, checked
against the columns of db/tables.py), vacuums and analyses it as autovacuum would, then times each scenario by median,
the two taking turns: the report service end to end (`services.reports.win_loss`: currencies and default currency,
the grouped scans, the reopened count, names, building the report) against the raw aggregate query alone (the one
GROUP BY over a currency's standing closes in the range that holds every figure of the report, in a transaction with
the report's planner settings). The schema is dropped at the end unless --keep or --schema.

The data: 3 years of closes ending today, in the order they were written, 70 % USD / 20 % EUR / 10 % HKD, 40 % won,
12 competitors (on 60 % of closes), 10 close reasons (on half), 50 owners, 2,000 accounts; one close in ten was ended
by a reopen (its deal closed again later), so 900,000 of the 1,000,000 closes stand. Every second deal has a quote
closed as lost (60 % of them to a competitor), for the report's `quotes_by_competitor`."""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text

from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import upgrade
from dealdesk.db.reports import POSTGRESQL_REPORT_SETTINGS
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.services import housekeeping, reports
from dealdesk.services.reports import ReportFilter

DEFAULT_URL = os.environ.get(
    "DEALDESK_BENCH_POSTGRES_URL",
    os.environ.get("DEALDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
OWNERS, ACCOUNTS, COMPETITORS, REASONS_PER_OUTCOME, DAYS = 50, 2_000, 12, 5, 3 * 365
BUDGET_MS = 300.0


def _id(kind: int, number: str) -> str:
    """A deterministic UUID per table and row number (SQL expression): `kind` keeps tables apart."""
    return f"('{kind:08x}-0000-4000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"


def _pick(of: str, salt: int, choices: int) -> str:
    """A pseudo-random but repeatable number in [0, choices) for row `of` (PostgreSQL's own integer hash)."""
    return f"(abs(hashint8({of} * 16 + {salt})) % {choices})"


def _insert(table_name: str, count: int, values: Mapping[str, str], *, where: str = "true") -> str:
    """INSERT … SELECT over generate_series(1, count) AS n. Checked against db/tables.py: every column named exists
    and every NOT NULL column is given (nullable ones left out are NULL)."""
    table = tables.metadata.tables[table_name]
    unknown = set(values) - set(table.c.keys())
    missing = {column.name for column in table.c if not column.nullable} - set(values)
    assert not unknown and not missing, f"{table_name}: unknown columns {unknown}, missing NOT NULL columns {missing}"
    columns = ", ".join(values)
    expressions = ",\n  ".join(f"{expression} AS {column}" for column, expression in values.items())
    series = f"generate_series(1, {count}::bigint) AS n"
    return f"INSERT INTO {table_name} ({columns})\nSELECT\n  {expressions}\nFROM {series}\nWHERE {where}"


def seed_statements(closes: int) -> list[str]:
    """One set-based statement per table, close records in the order they were written (close dates rise with n,
    a few back-dated by up to 6 days), as a real table grows.

    Close n with n % 10 = 0 was ended by a reopen; its deal closed again five records later (n + 5), with an
    outcome of its own. Every other close is its deal's only one. So each deal has one standing close (I2) and
    deal k's currency, owner and account are the same on both of its closes."""
    deal = "(CASE WHEN n % 10 = 5 AND n > 5 THEN n - 5 ELSE n END)"
    last_close = f"(CASE WHEN n % 10 = 0 AND n + 5 <= {closes} THEN n + 5 ELSE n END)"
    reopened = f"(n % 10 = 0 AND n + 5 <= {closes})"

    def won(row: str) -> str:
        return f"({_pick(row, 1, 10)} < 4)"

    def status(row: str) -> str:
        return f"(CASE WHEN {won(row)} THEN 'won' WHEN {_pick(row, 2, 3)} = 0 THEN 'canceled' ELSE 'out_sold' END)"

    def currency(of_deal: str) -> str:
        share = _pick(of_deal, 3, 10)
        return f"(CASE WHEN {share} < 7 THEN 'USD' WHEN {share} < 9 THEN 'EUR' ELSE 'HKD' END)"

    def owner(of_deal: str) -> str:
        return _id(1, f"1 + {_pick(of_deal, 4, OWNERS)}")

    def account(of_deal: str) -> str:
        return _id(2, f"1 + {_pick(of_deal, 5, ACCOUNTS)}")

    day = f"(current_date - {DAYS} + ((n - 1) * {DAYS} / {closes})::int - {_pick('n', 6, 7)}::int)"
    stamp = "(now() - interval '4 years')"
    stamps = {"created_at": stamp, "updated_at": stamp}
    closed_at = f"({day} + interval '15 hours')"
    reason = _pick("n", 9, REASONS_PER_OUTCOME)
    won_reason, lost_reason = _id(4, f"1 + {reason}"), _id(4, f"{1 + REASONS_PER_OUTCOME} + {reason}")
    competitor = _id(3, f"1 + {_pick('n', 13, COMPETITORS)}")
    return [
        _insert(
            "users",
            OWNERS,
            {"id": _id(1, "n"), "name": "'owner ' || n", "role": "'sales'", "active": "true", **stamps},
        ),
        _insert("accounts", ACCOUNTS, {"id": _id(2, "n"), "name": "'Account ' || n", **stamps}),
        _insert(
            "competitors",
            COMPETITORS,
            {
                "id": _id(3, "n"),
                "name": "'Competitor ' || n",
                "name_key": "'competitor ' || n",
                "active": "true",
                **stamps,
            },
        ),
        _insert(
            "close_reasons",
            2 * REASONS_PER_OUTCOME,
            {
                "id": _id(4, "n"),
                "outcome": f"(CASE WHEN n <= {REASONS_PER_OUTCOME} THEN 'won' ELSE 'lost' END)",
                "name": "'Reason ' || n",
                "active": "true",
                **stamps,
            },
        ),
        _insert(
            "opportunities",
            closes,
            {
                "id": _id(5, "n"),
                "name": "'Deal ' || n",
                "account_id": account("n"),
                "currency": currency("n"),
                "estimated_revenue": f"(1000 + {_pick('n', 7, 99000)})::numeric(14, 2)",
                "owner_id": owner("n"),
                "state": f"(CASE WHEN {won(last_close)} THEN 'won' ELSE 'lost' END)",
                "status_reason": status(last_close),
                "actual_revenue": "0",
                "actual_close_date": "current_date",
                "version": "1",
                **stamps,
            },
            where=f"n = {deal}",
        ),
        _insert(
            "opportunity_closes",
            closes,
            {
                "id": _id(6, "n"),
                "opportunity_id": _id(5, deal),
                "outcome": f"(CASE WHEN {won('n')} THEN 'won' ELSE 'lost' END)",
                "status_reason": status("n"),
                "close_reason_id": f"(CASE WHEN {_pick('n', 8, 2)} = 0 THEN NULL WHEN {won('n')} THEN {won_reason} "
                f"ELSE {lost_reason} END)",
                "close_date": day,
                "actual_revenue": f"(CASE WHEN {won('n')} THEN 1000 + {_pick('n', 7, 99000)} "
                f"WHEN {_pick('n', 10, 5)} = 0 THEN {_pick('n', 11, 50000)} ELSE 0 END)::numeric(14, 2)",
                "currency": currency(deal),
                "competitor_id": f"(CASE WHEN {_pick('n', 12, 5)} < 2 THEN NULL ELSE {competitor} END)",
                "owner_id": owner(deal),
                "account_id": account(deal),
                "closed_by": owner(deal),
                "closed_at": closed_at,
                "reopened_at": f"(CASE WHEN {reopened} THEN {closed_at} + interval '2 days' END)",
                "reopened_by": f"(CASE WHEN {reopened} THEN {owner(deal)} END)",
                "opportunity_created_on": f"({day} - {_pick('n', 14, 180)}::int)",
                "created_at": closed_at,
                "updated_at": closed_at,
            },
        ),
        _insert(
            "quotes",
            closes,
            {
                "id": _id(7, "n"),
                "opportunity_id": _id(5, "n"),
                "number": "'Q-' || lpad(n::text, 7, '0')",
                "revision": "0",
                "name": "'Offer ' || n",
                "state": "'closed'",
                "status_reason": "'lost'",
                "total_amount": f"(1000 + {_pick('n', 15, 99000)})::numeric(14, 2)",
                "line_count": "1",
                "closed_on": day,
                "competitor_id": f"(CASE WHEN {_pick('n', 16, 5)} < 2 THEN NULL ELSE {competitor} END)",
                "currency": currency("n"),
                "version": "2",
                **stamps,
            },
            where=f"n = {deal} AND n % 2 = 0",
        ),
    ]


def raw_query(where: ReportFilter) -> str:
    """The standing closes of one currency grouped once by everything the report shows, with nothing around it."""
    conditions = ["reopened_at IS NULL", "currency = :currency"]
    conditions += [f"{column} {operator} :{name}" for column, operator, name in _RAW_FILTERS if getattr(where, name)]
    return (
        "SELECT outcome, status_reason, close_reason_id, competitor_id,\n"
        "       date_trunc('month', close_date::timestamp) AS month,\n"
        "       count(*), sum(actual_revenue), sum(close_date - opportunity_created_on)\n"
        f"FROM opportunity_closes\nWHERE {' AND '.join(conditions)}\nGROUP BY 1, 2, 3, 4, 5"
    )


_RAW_FILTERS = [
    ("close_date", ">=", "date_from"),
    ("close_date", "<=", "date_to"),
    ("owner_id", "=", "owner_id"),
    ("account_id", "=", "account_id"),
]


def _seeded_id(kind: int, number: int) -> uuid.UUID:
    """The id `_id(kind, number)` gave a seeded row."""
    return uuid.UUID(f"{kind:08x}-0000-4000-8000-{number:012x}")


@dataclass(frozen=True)
class Scenario:
    name: str
    where: ReportFilter


def scenarios(today: date) -> list[Scenario]:
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        Scenario("all 3 years, default currency", ReportFilter()),
        Scenario("last 12 months, EUR", ReportFilter(currency="EUR", date_from=today - timedelta(days=365))),
        Scenario("year to date", ReportFilter(date_from=date(today.year, 1, 1), date_to=today)),
        Scenario("this quarter", ReportFilter(date_from=quarter_start, date_to=today)),
        Scenario("all 3 years, one owner", ReportFilter(owner_id=_seeded_id(1, 7))),
        Scenario("all 3 years, one account", ReportFilter(account_id=_seeded_id(2, 42))),
    ]


def _timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _medians_ms(report: Callable[[], object], raw: Callable[[], object], runs: int) -> tuple[float, float]:
    """Both warmed up once, then run in turns, so both see the same cache and the same neighbours' load."""
    report()
    raw()
    timings = [(_timed_ms(report), _timed_ms(raw)) for _ in range(runs)]
    return statistics.median(t for t, _ in timings), statistics.median(t for _, t in timings)


def _raw_parameters(where: ReportFilter, currency: str) -> dict[str, Any]:
    values = {name: getattr(where, name) for _, _, name in _RAW_FILTERS if getattr(where, name)}
    return {"currency": currency, **values}


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def seed(engine: Engine, closes: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        if conn.execute(text("SELECT current_setting('is_superuser') = 'on'")).scalar_one():
            # The rows are consistent by construction: skip the per-row foreign key triggers (3x faster).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in seed_statements(closes):
            began = time.perf_counter()
            conn.execute(text(statement))
            print(f"  {statement.split()[2]:20} {time.perf_counter() - began:6.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _raw_report(engine: Engine, query: str, parameters: dict[str, Any]) -> object:
    """The raw query in a transaction of its own, planned with the same settings as the report's."""
    with engine.begin() as conn:
        conn.execute(POSTGRESQL_REPORT_SETTINGS)
        return conn.execute(text(query), parameters).fetchall()


def explain(engine: Engine, query: str, parameters: dict[str, Any]) -> str:
    with engine.begin() as conn:
        conn.execute(POSTGRESQL_REPORT_SETTINGS)
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + query), parameters)
        return "\n".join(row[0] for row in rows)


def run(url: str, closes: int, runs: int, *, reuse: str | None, keep: bool, show_plans: bool, unsummed: bool) -> None:
    schema = reuse or f"dd_report_bench_{uuid.uuid4().hex[:8]}"
    keep = keep or reuse is not None
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    if reuse is None:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    settings = Settings(database_url=_with_search_path(url, schema))
    engine = make_engine(settings)
    try:
        upgrade(engine)
        if reuse is None:
            print(f"schema {schema}: seeding {closes:,} close records …", flush=True)
            print(f"seeded and vacuumed in {seed(engine, closes):.1f} s\n", flush=True)
        uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
        if unsummed:
            with engine.begin() as conn:
                for table in ("close_summary_months", "close_summaries", "close_owner_summaries"):
                    conn.execute(text(f"DELETE FROM {table}"))
            print("no month summed: the report groups every close, as before any server has summed the past months\n")
        else:
            started = time.perf_counter()
            summed = housekeeping.sum_past_months(uow)
            took = time.perf_counter() - started
            print(f"summed {summed} past months in {took:.1f} s, as servers do in the background\n")
        header = f"{'scenario':34} {'closes':>9} {'report ms':>10} {'raw ms':>8} {'ratio':>6}  ≤ {BUDGET_MS:.0f} ms"
        print(header)
        print("-" * len(header))
        plans = []
        for scenario in scenarios(uow.clock.today()):
            report = reports.win_loss(uow, scenario.where)
            assert report.currency is not None
            query, parameters = raw_query(scenario.where), _raw_parameters(scenario.where, report.currency)
            report_ms, raw_ms = _medians_ms(
                partial(reports.win_loss, uow, scenario.where), partial(_raw_report, engine, query, parameters), runs
            )
            if show_plans:
                plans.append(f"-- {scenario.name}\n{explain(engine, query, parameters)}")
            counted = report.won_count + report.lost_count
            verdict = "yes" if report_ms <= BUDGET_MS else "NO"
            figures = f"{counted:>9,} {report_ms:>10.1f} {raw_ms:>8.1f} {report_ms / raw_ms:>6.2f}"
            print(f"{scenario.name:34} {figures}  {verdict}", flush=True)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"\n{os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
        for plan in plans:
            print("\n" + plan)
    finally:
        engine.dispose()
        if keep:
            print(f"\nkept schema {schema}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (postgresql+psycopg://…)")
    parser.add_argument("--closes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per scenario (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the schema for a look with psql")
    parser.add_argument("--schema", help="time a schema kept from an earlier run again, without seeding")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the raw query")
    parser.add_argument("--unsummed", action="store_true", help="drop the months' sums: time the report without them")
    arguments = parser.parse_args()
    run(
        arguments.url,
        arguments.closes,
        arguments.runs,
        reuse=arguments.schema,
        keep=arguments.keep,
        show_plans=arguments.explain,
        unsummed=arguments.unsummed,
    )


if __name__ == "__main__":
    main()
