"""Bulk close on PostgreSQL: `dealdesk bulk-close FILE.csv --close-quotes lost` (the real CLI, as a child process,
for its wall time and peak RSS), against the same changes made set-based, one SQL statement per table."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.seeding import BenchDb, opportunity_id


@dataclass(frozen=True)
class BulkRun:
    rows: int
    seconds: float
    peak_rss_kb: int
    closed: int
    refused: int


def write_ids(path: Path, count: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id"])
        for n in range(1, count + 1):
            writer.writerow([opportunity_id(n)])


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "dealdesk"
    if script.exists():
        return [str(script)]
    found = shutil.which("dealdesk")
    return [found] if found else [sys.executable, "-c", "from dealdesk.cli import main; main()"]


def run_cli(db: BenchDb, count: int, work: Path, *, close_date: date) -> BulkRun:
    source = work / f"bulk_{count}.csv"
    results = work / f"bulk_{count}.results.csv"
    write_ids(source, count)
    command = [
        *_cli(),
        "bulk-close",
        str(source),
        "--outcome",
        "lost",
        "--reason",
        "canceled",
        "--close-quotes",
        "lost",
        "--date",
        close_date.isoformat(),
        "--results",
        str(results),
    ]
    env = {**os.environ, "DEALDESK_DATABASE_URL": db.url, "DEALDESK_DEFAULT_USER": db.actor.name}
    started = time.perf_counter()
    with (work / f"bulk_{count}.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    closed = refused = 0
    if results.exists():
        with results.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row["ok"] == "true":
                    closed += 1
                else:
                    refused += 1
    if process.returncode not in (0, 1):
        raise RuntimeError(
            f"bulk-close exited {process.returncode}: {(work / f'bulk_{count}.log').read_text()[-2000:]}"
        )
    return BulkRun(rows=count, seconds=seconds, peak_rss_kb=usage.ru_maxrss, closed=closed, refused=refused)


@dataclass(frozen=True)
class ExportRun:
    rows: int
    seconds: float
    peak_rss_kb: int


def run_export(db: BenchDb, kind: str, work: Path) -> ExportRun:
    """`dealdesk export KIND FILE` as a child process: its wall time, peak RSS and the data rows it wrote."""
    target = work / f"export_{kind}_{db.schema}.csv"
    env = {**os.environ, "DEALDESK_DATABASE_URL": db.url, "DEALDESK_DEFAULT_USER": db.actor.name}
    started = time.perf_counter()
    with (work / f"export_{kind}.log").open("wb") as log:
        command = [*_cli(), "export", kind, str(target)]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"export exited {status}: {(work / f'export_{kind}.log').read_text()[-2000:]}")
    with target.open(newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    target.unlink()
    return ExportRun(rows=rows, seconds=seconds, peak_rss_kb=usage.ru_maxrss)


def run_copy_out(db: BenchDb, table: str, work: Path) -> float:
    """Seconds for PostgreSQL's own `COPY table TO STDOUT (FORMAT csv, HEADER)` into a file: the export's ceiling."""
    target = work / f"copy_{table}.csv"
    started = time.perf_counter()
    with (
        psycopg.connect(_libpq_url(db), options=f"-c search_path={db.schema}") as conn,
        target.open("wb") as out,
        conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT csv, HEADER)") as copy,
    ):
        for block in copy:
            out.write(block)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def _libpq_url(db: BenchDb) -> str:
    assert db.admin_url is not None
    url = make_url(db.admin_url)
    password = f":{url.password}" if url.password else ""
    host = f"{url.host or '127.0.0.1'}:{url.port or 5432}"
    return f"postgresql://{url.username or 'postgres'}{password}@{host}/{url.database}"


def set_based_statements(user: str, close_date: str) -> list[str]:
    """The whole bulk close as one statement per table, over the ids loaded into `bulk_ids`."""
    lost_quote = '{"state": "closed", "status_reason": "lost"}'
    return [
        # Quotes: every active and draft quote of the listed open deals closes as lost.
        "UPDATE quotes q SET state = 'closed', status_reason = 'lost', "
        f"closed_on = '{close_date}', version = q.version + 1, updated_at = now() "
        "FROM bulk_ids b JOIN opportunities o ON o.id = b.id AND o.state = 'open' "
        "WHERE q.opportunity_id = b.id AND q.state IN ('active', 'draft')",
        # Deals: lost/canceled; the version counts the quote changes and the close.
        "UPDATE opportunities o SET state = 'lost', status_reason = 'canceled', actual_revenue = 0, "
        f"actual_close_date = '{close_date}', version = o.version + 3, updated_at = now() "
        "FROM bulk_ids b WHERE o.id = b.id AND o.state = 'open'",
        # Close records.
        "INSERT INTO opportunity_closes (id, opportunity_id, outcome, status_reason, close_date, actual_revenue, "
        "currency, owner_id, account_id, closed_by, closed_at, opportunity_created_on, created_at, updated_at) "
        f"SELECT gen_random_uuid(), o.id, 'lost', 'canceled', '{close_date}', 0, o.currency, o.owner_id, "
        f"o.account_id, '{user}', now(), o.created_at::date, now(), now() "
        "FROM bulk_ids b JOIN opportunities o ON o.id = b.id",
        # Audit: one entry per closed quote, per deal and per close record.
        "INSERT INTO audit_entries (id, seq, at, user_id, record_type, record_id, opportunity_id, action, before, "
        "after) "
        f"SELECT gen_random_uuid(), 0, now(), '{user}'::uuid, 'quote', q.id, q.opportunity_id, 'close', "
        f"'{{\"state\": \"active\"}}'::jsonb, '{lost_quote}'::jsonb "
        "FROM bulk_ids b JOIN quotes q ON q.opportunity_id = b.id "
        f"UNION ALL SELECT gen_random_uuid(), 2, now(), '{user}'::uuid, 'opportunity', b.id, b.id, 'close', "
        '\'{"state": "open"}\'::jsonb, \'{"state": "lost"}\'::jsonb FROM bulk_ids b '
        f"UNION ALL SELECT gen_random_uuid(), 3, now(), '{user}'::uuid, 'opportunity_close', c.id, b.id, 'create', "
        'NULL::jsonb, \'{"outcome": "lost"}\'::jsonb '
        "FROM bulk_ids b JOIN opportunity_closes c ON c.opportunity_id = b.id",
    ]


def run_set_based(db: BenchDb, count: int, *, close_date: date) -> float:
    """Seconds for: load the ids (COPY), then one statement per table, in one transaction."""
    started = time.perf_counter()
    with psycopg.connect(_libpq_url(db), options=f"-c search_path={db.schema}") as conn:
        conn.execute("CREATE TEMP TABLE bulk_ids (id uuid PRIMARY KEY) ON COMMIT DROP")
        with conn.cursor().copy("COPY bulk_ids (id) FROM STDIN") as copy:
            for n in range(1, count + 1):
                copy.write_row((opportunity_id(n),))
        for statement in set_based_statements(str(db.actor.id), close_date.isoformat()):
            conn.execute(statement)
        conn.commit()
    return time.perf_counter() - started
