"""The benchmark runner still runs end to end: `python -m bench.run --quick` prints its table with every row.

No timing is asserted (sizes are tiny and CI machines vary); what breaks here is the runner itself, or a change that
makes a benchmarked path fail (every scenario checks that each deal it closed is closed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    "PG API close, 1 client: req/s",
    "PG API close, 1 client: p50 / p99 ms",
    "PG service layer (no HTTP), 1 client: closes/s",
    "PG API close, 16 clients: req/s",
    "PG API close, 16 clients: p50 / p99 ms",
    "PG service layer (no HTTP), 16 clients: closes/s",
    "PG API server CPU per close, 16 clients: ms",
    "PG load generator CPU, 16 clients: % of a core",
    "PG server peak RSS per worker after the runs: MB",
    "PG no-sync API close, 16 clients: req/s",
    "PG no-sync service layer (no HTTP), 16 clients: closes/s",
    "SQLite API close, 1 client: req/s",
    "SQLite API close, 16 clients: req/s",
    "SQLite API close, 16 clients: p50 / p99 ms",
    "SQLite service layer, 16 clients: closes/s",
    "SQLite server peak RSS per worker after the runs: MB",
    "bulk-close CLI, 1,000 deals: s",
    "bulk-close CLI, 100 deals: s",
    "bulk-close peak RSS, 1,000 deals: MB",
    "export CLI, quotes, 2,000 rows: s",
    "export CLI peak RSS, 2,000 quotes: MB",
]
REFERENCES = [
    "pgbench simple, 16 clients: tps",
    "pgbench -M prepared, 16 clients: tps",
    "raw sqlite3, 1 writer: tx/s",
    "set-based SQL, 1,000 deals: s",
    "COPY quotes TO STDOUT (csv) into a file: s",
    "peak RSS, 200 quotes: MB",
]


@pytest.fixture(scope="module")
def table() -> str:
    env = {**os.environ, "DEALDESK_BENCH_POSTGRES_URL": POSTGRES_URL}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_quick_run_prints_every_figure_beside_its_reference(table: str) -> None:
    lines = table.splitlines()
    for row in ROWS:
        matching = [line for line in lines if line.startswith(row)]
        assert matching, f"no row {row!r} in:\n{table}"
        measured = matching[0].split("|")[1].strip()
        assert measured and measured != "n/a", f"row {row!r} has no figure: {matching[0]}"
    for reference in REFERENCES:
        assert reference in table, f"no reference {reference!r} in:\n{table}"


def test_the_table_says_what_the_pgbench_reference_leaves_out(table: str) -> None:
    assert "no bearer-token" in table
    assert "no idempotency row" in table


def test_the_win_loss_report_row_is_there_when_its_bench_exists(table: str) -> None:
    if (ROOT / "bench" / "report_bench.py").exists():
        assert "report" in table.lower()
