"""The close through the API against pgbench, in interleaved pairs long enough to mean something on a noisy machine.

    .venv/bin/python -m bench.close_pairs                          # 3 pairs of 10 s runs at 1 and 16 clients
    .venv/bin/python -m bench.close_pairs --seconds 2 --pairs 1    # a quick look (too short to quote)

For each concurrency, each pair runs, one after the other on the same warm server and database: the API driven by
bench/loadgen.py (asyncio, closed loop), pgbench running the product's close transaction on the product's schema
(bench/pgbench_ref.py, `-M simple`), the API driven by `wrk` with bench/close.lua (a C load generator, so the
figure does not depend on the Python client), and pgbench running the lean close on a lean schema
(bench/lean_close.py). Every figure in the table is the median of the pairs with its spread (lowest to highest), and
each ratio is the median of the per-pair ratios, so that a burst of noise hits one pair, not the comparison.
Each run checks afterwards that the deals it reports as closed are closed."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bench import lean_close, pgbench_ref, seeding, server
from bench.run import DEFAULT_URL, percentile
from bench.seeding import BenchDb

BENCH = Path(__file__).parent
MAX_RATE = {"api": 1500, "pgbench": 8000}
"""Generous upper bounds (per second, all clients together) used to size each run's range of seeded deals."""


@dataclass
class Run:
    rate: float
    p50: float
    p99: float


@dataclass
class Series:
    """One kind of run at one concurrency, once per pair."""

    runs: list[Run] = field(default_factory=list)

    def median(self, pick: Callable[[Run], float]) -> float:
        return statistics.median(pick(run) for run in self.runs)

    def spread(self, pick: Callable[[Run], float], label: str = "") -> str:
        values = [pick(run) for run in self.runs]
        return f"{label}{min(values):,.1f} to {max(values):,.1f}" if len(values) > 1 else ""


class Deals:
    """Hands out ranges of seeded deal numbers, seeding more as runs need them."""

    def __init__(self, db: BenchDb, *, lean: bool = False) -> None:
        self.db, self.lean, self.next = db, lean, 1

    def take(self, count: int) -> int:
        first = self.next
        if self.lean:
            lean_close.seed(self.db, first, count)
        else:
            seeding.seed(self.db, first, count)
        self.next += count
        return first


def _api_loadgen(srv: server.Server, db: BenchDb, deals: Deals, clients: int, seconds: float, today: date) -> Run:
    count = math.ceil(seconds * MAX_RATE["api"])
    first = deals.take(count)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            *("--port", str(srv.port), "--token", db.token, "--first", str(first), "--count", str(count)),
            *("--concurrency", str(clients), "--close-date", today.isoformat(), "--seconds", str(seconds)),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH.parent,
    )
    result = json.loads(done.stdout)
    if result["ok"] != result["requests"]:
        raise RuntimeError(f"loadgen: not every close answered 200: {result['statuses']}")
    closed = count - seeding.count_open(db, first, count)
    if closed != result["ok"]:
        raise RuntimeError(f"loadgen: {result['ok']} closes answered 200 but {closed} deals are closed")
    latencies = result["latencies_us"]
    return Run(result["ok"] / result["wall_s"], percentile(latencies, 0.5), percentile(latencies, 0.99))


def _api_wrk(srv: server.Server, db: BenchDb, deals: Deals, clients: int, seconds: float, today: date) -> Run:
    result = wrk_closes(srv, db, deals, clients, seconds, today)
    return Run(result["requests"] / (result["duration_us"] / 1e6), result["p50_us"] / 1000, result["p99_us"] / 1000)


def wrk_closes(
    srv: server.Server, db: BenchDb, deals: Deals, clients: int, seconds: float, today: date
) -> dict[str, int]:
    """`wrk` closing seeded deals for `seconds` (bench/close.lua): its JSON line, checked against the database."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    threads = min(2, clients)
    per_thread = math.ceil(seconds * MAX_RATE["api"] / threads)
    first = deals.take(per_thread * threads)
    done = subprocess.run(
        [
            wrk,
            *(f"--threads={threads}", f"--connections={clients}", f"--duration={round(seconds)}s", "--timeout=10s"),
            *("--script", str(BENCH / "close.lua"), f"http://127.0.0.1:{srv.port}"),
            *("--", str(first), str(per_thread), db.token, today.isoformat()),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["non_2xx"] or result["socket_errors"]:
        raise RuntimeError(f"wrk: {result['non_2xx']} answers were not 2xx, {result['socket_errors']} socket errors")
    closed = per_thread * threads - seeding.count_open(db, first, per_thread * threads)
    if closed < result["requests"]:  # wrk may stop with requests in flight: those close without being counted
        raise RuntimeError(f"wrk: {result['requests']} requests answered but only {closed} deals are closed")
    return result


def _pgbench(pgbench: str, db: BenchDb, deals: Deals, clients: int, seconds: float, today: date, *, lean: bool) -> Run:
    per_client = math.ceil(seconds * MAX_RATE["pgbench"] / clients) + 100
    first = deals.take(per_client * clients)
    script = lean_close.script(close_date=today, first=first, per_client=per_client) if lean else None
    result = pgbench_ref.run(
        pgbench,
        db,
        clients=clients,
        per_client=per_client,
        first=first,
        close_date=today,
        protocol="simple",
        seconds=seconds,
        text=script,
    )
    if result.failed:
        raise RuntimeError(f"pgbench: {result.failed} failed transactions")
    left = seeding.count_open(db, first, per_client * clients)  # the lean tables name deals the same way
    if per_client * clients - left < result.transactions:
        raise RuntimeError(f"pgbench: {result.transactions} transactions but fewer deals closed")
    latencies = result.latencies_us
    return Run(result.tps, percentile(latencies, 0.5), percentile(latencies, 0.99))


KINDS = ("api", "pgbench", "wrk", "lean")
LABELS = {
    "api": "API close (asyncio client)",
    "pgbench": "pgbench simple, product schema",
    "wrk": "API close (wrk)",
    "lean": "pgbench simple, lean close",
}


def measure(
    url: str, *, seconds: float, pairs: int, levels: tuple[int, ...], workers: int
) -> dict[int, dict[str, Series]]:
    pgbench = pgbench_ref.find_pgbench()
    if pgbench is None:
        raise SystemExit("pgbench not found")
    today = date.today() - timedelta(days=1)
    db = seeding.create_postgres(url, "pairs")
    lean = lean_close.create(url)
    series: dict[int, dict[str, Series]] = {level: {kind: Series() for kind in KINDS} for level in levels}
    try:
        deals, lean_deals = Deals(db), Deals(lean, lean=True)
        with tempfile.TemporaryDirectory(prefix="dd_pairs_") as work:
            srv = server.start(db.url, workers=workers, log=Path(work) / "serve.log")
            try:
                _log("warming up the server (2 s)")
                _api_loadgen(srv, db, deals, max(levels), 2, today)
                for level in levels:
                    for pair in range(1, pairs + 1):
                        for kind in KINDS:
                            _log(f"{level} client(s), pair {pair}: {LABELS[kind]}, {seconds:g} s")
                            if kind == "api":
                                run = _api_loadgen(srv, db, deals, level, seconds, today)
                            elif kind == "wrk":
                                run = _api_wrk(srv, db, deals, level, seconds, today)
                            else:
                                run = _pgbench(
                                    pgbench, lean if kind == "lean" else db, lean_deals if kind == "lean" else deals,
                                    level, seconds, today, lean=kind == "lean",
                                )  # fmt: skip
                            series[level][kind].runs.append(run)
            finally:
                srv.stop()
    finally:
        seeding.drop(lean)
        seeding.drop(db)
    return series


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(series: dict[int, dict[str, Series]]) -> list[str]:
    rows = [("figure", "median", "spread", "reference", "median", "ratio", "target")]

    def ratio(level: int, kind: str, reference: str, pick: Callable[[Run], float]) -> float:
        pairs = zip(series[level][kind].runs, series[level][reference].runs, strict=True)
        return statistics.median(pick(a) / pick(b) for a, b in pairs)

    rate: Callable[[Run], float] = lambda run: run.rate  # noqa: E731
    for level, kinds in series.items():
        target = ">= 0.40" if level == 1 else ">= 0.30"
        for kind in ("api", "wrk"):
            s = kinds[kind]
            for reference, goal in (("pgbench", target), ("lean", "" if level == 1 else ">= 0.25")):
                r = kinds[reference]
                value = ratio(level, kind, reference, rate)
                rows.append(
                    (
                        f"{LABELS[kind]}, {level} client(s): req/s",
                        f"{s.median(rate):,.0f}",
                        s.spread(rate),
                        f"{LABELS[reference]}: tps",
                        f"{r.median(rate):,.0f}",
                        f"{value:.2f}",
                        f"{goal} {'MET' if goal and value >= float(goal.split()[1]) else 'MISSED' if goal else ''}",
                    )
                )
            tail = statistics.median(run.p99 / run.p50 for run in s.runs)
            goal = "<= 2.5" if level > 1 else ""
            rows.append(
                (
                    f"{LABELS[kind]}, {level} client(s): p50 / p99 ms",
                    f"{s.median(lambda run: run.p50):.1f} / {s.median(lambda run: run.p99):.1f}",
                    s.spread(lambda run: run.p99, "p99 "),
                    "p99 / p50",
                    "",
                    f"{tail:.2f}",
                    f"{goal} {'MET' if tail <= 2.5 else 'MISSED'}" if goal else "",
                )
            )
        for reference in ("pgbench", "lean"):
            r = kinds[reference]
            rows.append(
                (
                    f"{LABELS[reference]}, {level} client(s): p50 / p99 ms",
                    f"{r.median(lambda run: run.p50):.1f} / {r.median(lambda run: run.p99):.1f}",
                    r.spread(rate, "tps "),
                    "",
                    "",
                    "",
                    "",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of every run (default 10)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--clients", default="1,16", help="concurrency levels, comma separated")
    parser.add_argument("--workers", type=int, default=2, help="dealdesk serve worker processes")
    args = parser.parse_args()
    levels = tuple(int(level) for level in args.clients.split(","))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    series = measure(args.url, seconds=args.seconds, pairs=args.pairs, levels=levels, workers=args.workers)
    print(
        f"dealdesk close pairs: {args.pairs} pair(s) of {args.seconds:g} s runs, {os.cpu_count()} CPUs, "
        f"dealdesk serve --workers {args.workers}, load average {load_before:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after, {time.perf_counter() - started:.0f} s"
    )
    print()
    print("\n".join(table(series)))


if __name__ == "__main__":
    main()
