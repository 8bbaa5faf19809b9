"""The interleaved close benchmark still runs end to end: one short pair at one concurrency prints every row, the
wrk row included (wrk is a Debian package `./test` installs). No timing is asserted: the runs are a second long."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
SHORT = ("--seconds", "1", "--pairs", "2", "--clients", "4")


def run_bench(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench.<module> --url <the tests' PostgreSQL> …`, required to succeed."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", "--url", POSTGRES_URL, *arguments],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_one_short_pair_prints_the_api_and_wrk_figures_beside_both_pgbench_references() -> None:
    done = run_bench("close_pairs", *SHORT)
    rows = [[cell.strip() for cell in line.split("|")] for line in done.stdout.splitlines() if "|" in line]
    for kind in ("API close (asyncio client)", "API close (wrk)"):
        for reference in ("pgbench simple, product schema: tps", "pgbench simple, lean close: tps"):
            [row] = [row for row in rows if row[0] == f"{kind}, 4 client(s): req/s" and row[3] == reference]
            assert row[5].replace(".", "").isdigit(), row
        [latency] = [row for row in rows if row[0] == f"{kind}, 4 client(s): p50 / p99 ms"]
        assert " to " in latency[2], "two pairs give a spread"
