"""dealdesk benchmarks against the raw-SQL ceiling: one command, one table, every figure beside its reference.

    .venv/bin/python -m bench.run            # full run, about 5 minutes on 2 cores (plus the 1M-close report bench)
    .venv/bin/python -m bench.run --quick    # tiny sizes: checks that every row is produced (CI smoke run)

See bench/README.md for what each row measures and the production server settings it uses."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench import bulk, pgbench_ref, seeding, server, sqlite_raw
from bench.seeding import BenchDb

DEFAULT_URL = os.environ.get(
    "DEALDESK_BENCH_POSTGRES_URL",
    os.environ.get("DEALDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
BENCH = Path(__file__).parent
NO_SYNC = "-c synchronous_commit=off"
SQLITE_WORKERS = 1


@dataclass(frozen=True)
class Sizes:
    single: int
    """closes at 1 client, per scenario"""
    per_client: int
    """closes per client at 16 clients, per scenario"""
    clients: int
    warmup: int
    bulk_small: int
    bulk_large: int
    report_closes: int
    report_runs: int
    workers: int


FULL = Sizes(
    single=300,
    per_client=250,
    clients=16,
    warmup=200,
    bulk_small=10_000,
    bulk_large=100_000,
    report_closes=1_000_000,
    report_runs=5,
    workers=2,
)
QUICK = Sizes(
    single=10,
    per_client=4,
    clients=16,
    warmup=8,
    bulk_small=100,
    bulk_large=1_000,
    report_closes=20_000,
    report_runs=1,
    workers=2,
)


# ------------------------------------------------------------------------------------------------ results
@dataclass
class Measure:
    """One scenario's outcome: throughput and latency percentiles (ms), or why it has none."""

    rate: float | None = None
    p50: float | None = None
    p99: float | None = None
    cpu_ms: float | None = None
    """CPU per operation of the process(es) under test"""
    extra: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Row:
    figure: str
    value: str
    reference: str
    ref_value: str
    ratio: str
    target: str = ""


def percentile(values: list[int], fraction: float) -> float:
    """Nearest-rank percentile of microsecond latencies, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index] / 1000


def from_latencies(count: int, seconds: float, latencies: list[int], cpu_s: float | None = None) -> Measure:
    return Measure(
        rate=count / seconds if seconds else None,
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        cpu_ms=cpu_s * 1000 / count if cpu_s is not None and count else None,
    )


def guarded(label: str, action: Callable[[], Measure]) -> Measure:
    try:
        return action()
    except Exception as error:  # one failed scenario must not hide the others
        print(f"  ! {label} failed: {error}", file=sys.stderr, flush=True)
        traceback.print_exc(file=sys.stderr)
        return Measure(error=f"{type(error).__name__}: {str(error)[:80]}")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Numbers:
    """Hands out ranges of seeded deal numbers; each scenario closes its own."""

    def __init__(self) -> None:
        self.next = 1
        self.taken: list[tuple[int, int]] = []

    def take(self, count: int) -> int:
        first = self.next
        self.next += count
        self.taken.append((first, count))
        return first


# ------------------------------------------------------------------------------------------------ scenarios
def pgbench_scenario(
    pgbench: str | None, db: BenchDb, numbers: Numbers, clients: int, per_client: int, protocol: str, close_date: date
) -> Measure:
    if pgbench is None:
        return Measure(error="pgbench not found")
    first = numbers.take(clients * per_client)
    result = pgbench_ref.run(
        pgbench, db, clients=clients, per_client=per_client, first=first, close_date=close_date, protocol=protocol
    )
    left = seeding.count_open(db, first, clients * per_client)
    if result.failed or left:
        raise RuntimeError(f"pgbench: {result.failed} failed transactions, {left} deals left open")
    return Measure(rate=result.tps, p50=percentile(result.latencies_us, 0.5), p99=percentile(result.latencies_us, 0.99))


def http_scenario(
    srv: server.Server, db: BenchDb, numbers: Numbers, clients: int, count: int, close_date: date
) -> Measure:
    first = numbers.take(count)
    cpu_before = srv.cpu_seconds()
    result = run_loadgen(srv, db, first, count, clients, close_date)
    server_cpu = srv.cpu_seconds() - cpu_before
    if result["ok"] != count:
        raise RuntimeError(f"only {result['ok']} of {count} closes answered 200: {result['statuses']}")
    left = seeding.count_open(db, first, count)
    if left:
        raise RuntimeError(f"{left} deals left open")
    measure = from_latencies(count, result["wall_s"], result["latencies_us"], server_cpu)
    measure.extra["loadgen_cpu_pct"] = 100 * result["cpu_s"] / result["wall_s"]
    measure.extra["loadgen_cpu_ms"] = 1000 * result["cpu_s"] / count
    return measure


def service_scenario(
    db: BenchDb, numbers: Numbers, processes: int, threads: int, per_process: int, warmup: int, close_date: date
) -> Measure:
    children = []
    for _ in range(processes):
        first = numbers.take(per_process + warmup)
        command = [
            sys.executable,
            "-m",
            "bench.service_load",
            "--url",
            db.url,
            "--token",
            db.token,
            "--first",
            str(first),
            "--count",
            str(per_process + warmup),
            "--warmup",
            str(warmup),
            "--threads",
            str(threads),
            "--close-date",
            close_date.isoformat(),
        ]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=BENCH.parent)
        children.append((child, first))
    for child, _ in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("service_load did not get ready")
    for child, _ in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child, _ in children:
        out, _ = child.communicate(timeout=900)
        results.append(json.loads(out.strip().splitlines()[-1]))
    errors = sum(r["error_count"] for r in results)
    if errors:
        raise RuntimeError(f"{errors} closes failed, e.g. {results[0]['errors'] or results[-1]['errors']}")
    for _child, first in children:
        if seeding.count_open(db, first, per_process + warmup):
            raise RuntimeError("deals left open")
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    latencies = [latency for r in results for latency in r["latencies_us"]]
    return from_latencies(len(latencies), wall, latencies, sum(r["cpu_s"] for r in results))


def sqlite_raw_scenario(db: BenchDb, numbers: Numbers, count: int, close_date: date) -> Measure:
    assert db.path is not None
    first = numbers.take(count)
    seconds, latencies = sqlite_raw.run(db.path, first=first, count=count, user=db.actor.id, close_date=close_date)
    if seeding.count_open(db, first, count):
        raise RuntimeError("deals left open")
    cpu = None
    return from_latencies(count, seconds, latencies, cpu)


@contextmanager
def running_server(url: str, workers: int, work: Path, name: str) -> Iterator[server.Server]:
    srv = server.start(url, workers=workers, log=work / f"uvicorn_{name}.log")
    try:
        yield srv
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------------ sections
@dataclass
class CloseFigures:
    api: dict[int, Measure] = field(default_factory=dict)
    service: dict[int, Measure] = field(default_factory=dict)
    simple: dict[int, Measure] = field(default_factory=dict)
    prepared: dict[int, Measure] = field(default_factory=dict)
    raw: Measure | None = None
    rss_warm_kb: list[int] = field(default_factory=list)
    rss_peak_kb: list[int] = field(default_factory=list)


def postgres_closes(
    url: str, sizes: Sizes, work: Path, close_date: date, *, options: str = "", levels: tuple[int, ...] = (1, 16)
) -> CloseFigures:
    figures = CloseFigures()
    db = seeding.create_postgres(url, "close", options=options)
    numbers = Numbers()
    per_level = {1: sizes.single, sizes.clients: sizes.per_client * sizes.clients}
    total = sum(per_level[c] for c in levels) * 4 + sizes.warmup * 4 + 64
    try:
        log(f"PostgreSQL{' (' + options + ')' if options else ''}: seeding {total:,} deals")
        seeding.seed(db, 1, total)
        pgbench = pgbench_ref.find_pgbench()
        with running_server(db.url, sizes.workers, work, f"pg{'_nosync' if options else ''}") as srv:
            warm = numbers.take(sizes.warmup * 2)
            run_loadgen(srv, db, warm, sizes.warmup * 2, sizes.clients, close_date)
            figures.rss_warm_kb = srv.peak_rss_kb()
            for clients in levels:
                per_client = per_level[clients] // clients
                log(f"  pgbench simple, {clients} client(s)")
                figures.simple[clients] = guarded(
                    "pgbench simple",
                    partial(pgbench_scenario, pgbench, db, numbers, clients, per_client, "simple", close_date),
                )
                log(f"  pgbench prepared, {clients} client(s)")
                figures.prepared[clients] = guarded(
                    "pgbench prepared",
                    partial(pgbench_scenario, pgbench, db, numbers, clients, per_client, "prepared", close_date),
                )
                seeding.analyse(db)
                processes = 1 if clients == 1 else sizes.workers
                log(f"  service layer, {clients} thread(s) in {processes} process(es)")
                figures.service[clients] = guarded(
                    "service",
                    partial(
                        service_scenario,
                        db,
                        numbers,
                        processes,
                        max(1, clients // processes),
                        per_level[clients] // processes,
                        sizes.warmup // 4,
                        close_date,
                    ),
                )
                seeding.analyse(db)
                log(f"  HTTP API, {clients} client(s)")
                figures.api[clients] = guarded(
                    "http", partial(http_scenario, srv, db, numbers, clients, per_level[clients], close_date)
                )
                seeding.analyse(db)
            figures.rss_peak_kb = srv.peak_rss_kb()
    finally:
        seeding.drop(db)
    return figures


def run_loadgen(
    srv: server.Server, db: BenchDb, first: int, count: int, clients: int, close_date: date
) -> dict[str, Any]:
    """bench/loadgen.py closing deals first … first + count - 1 at `clients` concurrency; its JSON summary."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(srv.port),
            "--token",
            db.token,
            "--first",
            str(first),
            "--count",
            str(count),
            "--concurrency",
            str(clients),
            "--close-date",
            close_date.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH.parent,
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def sqlite_closes(sizes: Sizes, work: Path, close_date: date) -> CloseFigures:
    figures = CloseFigures()
    db = seeding.create_sqlite(work / "bench.db")
    numbers = Numbers()
    per_level = {1: sizes.single, sizes.clients: sizes.per_client * sizes.clients}
    total = sum(per_level.values()) * 2 + per_level[sizes.clients] + sizes.warmup * 4 + 64
    try:
        log(f"SQLite: seeding {total:,} deals")
        seeding.seed(db, 1, total)
        log("  raw sqlite3, one writer")
        figures.raw = guarded(
            "sqlite raw", partial(sqlite_raw_scenario, db, numbers, per_level[sizes.clients], close_date)
        )
        # One worker: SQLite has one writer, and its threads take turns in-process (see bench/README.md).
        with running_server(db.url, SQLITE_WORKERS, work, "sqlite") as srv:
            run_loadgen(srv, db, numbers.take(sizes.warmup * 2), sizes.warmup * 2, sizes.clients, close_date)
            figures.rss_warm_kb = srv.peak_rss_kb()
            for clients in (1, sizes.clients):
                processes = SQLITE_WORKERS
                log(f"  service layer, {clients} thread(s) in {processes} process(es)")
                figures.service[clients] = guarded(
                    "service",
                    partial(
                        service_scenario,
                        db,
                        numbers,
                        processes,
                        max(1, clients // processes),
                        per_level[clients] // processes,
                        sizes.warmup // 4,
                        close_date,
                    ),
                )
                log(f"  HTTP API, {clients} client(s)")
                figures.api[clients] = guarded(
                    "http", partial(http_scenario, srv, db, numbers, clients, per_level[clients], close_date)
                )
            figures.rss_peak_kb = srv.peak_rss_kb()
    finally:
        seeding.drop(db)
    return figures


@dataclass
class BulkFigures:
    small: bulk.BulkRun | None = None
    large: bulk.BulkRun | None = None
    set_based_s: float | None = None
    export_small: bulk.ExportRun | None = None
    export_large: bulk.ExportRun | None = None
    copy_out_s: float | None = None
    errors: list[str] = field(default_factory=list)


def bulk_closes(url: str, sizes: Sizes, work: Path, close_date: date) -> BulkFigures:
    figures = BulkFigures()
    for count, slot in ((sizes.bulk_small, "small"), (sizes.bulk_large, "large")):
        db = seeding.create_postgres(url, f"bulk{count}")
        try:
            log(f"bulk close: seeding {count:,} deals (an active and a draft quote each)")
            seeding.seed(db, 1, count, shape="active_draft")
            log(f"  dealdesk bulk-close, {count:,} rows")
            run = bulk.run_cli(db, count, work, close_date=close_date)
            left = seeding.count_open(db, 1, count)
            if run.closed != count or left:
                figures.errors.append(f"bulk-close {count}: {run.closed} closed, {run.refused} refused, {left} open")
            setattr(figures, slot, run)
            log(f"  dealdesk export quotes, {2 * count:,} rows")
            exported = bulk.run_export(db, "quotes", work)
            if exported.rows != 2 * count:
                figures.errors.append(f"export {count}: {exported.rows} quotes written, {2 * count} expected")
            setattr(figures, f"export_{slot}", exported)
            if slot == "large":
                log(f"  COPY quotes TO STDOUT reference, {2 * count:,} rows")
                figures.copy_out_s = bulk.run_copy_out(db, "quotes", work)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            figures.errors.append(f"bulk-close {count}: {error}")
        finally:
            seeding.drop(db)
    db = seeding.create_postgres(url, "bulkref")
    try:
        log(f"  set-based SQL reference, {sizes.bulk_large:,} rows")
        seeding.seed(db, 1, sizes.bulk_large, shape="active_draft")
        figures.set_based_s = bulk.run_set_based(db, sizes.bulk_large, close_date=close_date)
        if seeding.count_open(db, 1, sizes.bulk_large):
            figures.errors.append("set-based reference left deals open")
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        figures.errors.append(f"set-based reference: {error}")
    finally:
        seeding.drop(db)
    return figures


def report_rows(url: str, sizes: Sizes) -> list[Row]:
    """Rows of bench/report_bench.py (someone else's), when it exists: its table is read by its header."""
    script = BENCH / "report_bench.py"
    label = f"win/loss report, {sizes.report_closes:,} closes"
    if not script.exists():
        return [Row(label, "not run", "bench/report_bench.py is absent", "", "")]
    log(f"win/loss report bench over {sizes.report_closes:,} closes")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.report_bench",
            "--url",
            url,
            "--closes",
            str(sizes.report_closes),
            "--runs",
            str(sizes.report_runs),
        ],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
        check=False,
    )
    if done.returncode != 0:
        tail = " ".join(line.strip() for line in (done.stderr or done.stdout).strip().splitlines()[-2:])
        return [Row(label, "error", tail[-90:], "", "")]
    rows = []
    header: list[str] | None = None
    for line in done.stdout.splitlines():
        cells = [cell for cell in re.split(r"\s{2,}", line.strip()) if cell]
        if cells and cells[0] == "scenario":
            header = cells
        elif header and line.startswith("-"):
            continue
        elif header and len(cells) == len(header):
            found = dict(zip(header, cells, strict=True))
            rows.append(
                Row(
                    f"report ({sizes.report_closes:,} closes): {found['scenario']}: ms",
                    found.get("report ms", "?"),
                    "its raw grouped SQL query: ms",
                    found.get("raw ms", "?"),
                    found.get("ratio", ""),
                    f"<= 300 ms {found.get(header[-1], '')}".strip(),
                )
            )
        elif header and rows:
            break
    return rows or [Row(label, "no rows", done.stdout.strip()[-80:], "", "")]


# ------------------------------------------------------------------------------------------------ the table
def _f(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or a != a or b != b:
        return "n/a"
    return f"{a / b:.2f}"


def _rate(m: Measure | None) -> str:
    if m is None:
        return "n/a"
    return m.error if m.error else _f(m.rate)


def _lat(m: Measure | None) -> str:
    if m is None or m.error:
        return "n/a"
    return f"{_f(m.p50, 1)} / {_f(m.p99, 1)}"


def _met(ok: bool | None) -> str:
    return "" if ok is None else (" MET" if ok else " MISSED")


def close_rows(
    title: str, f: CloseFigures, clients: int, *, levels: tuple[int, ...] = (1, 16), targets: bool = False
) -> list[Row]:
    rows = []
    for c in levels:
        n = clients if c != 1 else 1
        api, svc, simple, prepared = f.api.get(n), f.service.get(n), f.simple.get(n), f.prepared.get(n)
        who = f"{n} client{'s' if n > 1 else ''}"
        api_rate = api.rate if api and not api.error else None
        simple_rate = simple.rate if simple and not simple.error else None
        ok = None
        if targets and n > 1 and api_rate is not None and simple_rate is not None:
            ok = api_rate >= 0.30 * simple_rate
        rows.append(
            Row(
                f"{title} API close, {who}: req/s",
                _rate(api),
                f"pgbench simple, {who}: tps",
                _rate(simple),
                _ratio(api_rate, simple_rate),
                (">= 0.30" + _met(ok)) if targets and n > 1 else "",
            )
        )
        rows.append(
            Row(
                f"{title} API close, {who}: req/s",
                _rate(api),
                f"pgbench -M prepared, {who}: tps",
                _rate(prepared),
                _ratio(api_rate, prepared.rate if prepared and not prepared.error else None),
            )
        )
        p99_ok = api.p99 < 50 if targets and n > 1 and api and not api.error and api.p99 is not None else None
        rows.append(
            Row(
                f"{title} API close, {who}: p50 / p99 ms",
                _lat(api),
                f"pgbench simple, {who}: p50 / p99 ms",
                _lat(simple),
                _ratio(api.p99 if api else None, simple.p99 if simple else None),
                ("p99 < 50 ms" + _met(p99_ok)) if targets and n > 1 else "",
            )
        )
        rows.append(
            Row(
                f"{title} service layer (no HTTP), {who}: closes/s",
                _rate(svc),
                f"pgbench simple, {who}: tps",
                _rate(simple),
                _ratio(svc.rate if svc and not svc.error else None, simple_rate),
            )
        )
        rows.append(
            Row(
                f"{title} service layer, {who}: p50 / p99 ms",
                _lat(svc),
                f"pgbench simple, {who}: p50 / p99 ms",
                _lat(simple),
                _ratio(svc.p99 if svc else None, simple.p99 if simple else None),
            )
        )
        rows.append(
            Row(
                f"{title} API server CPU per close, {who}: ms",
                _f(api.cpu_ms if api else None, 2),
                f"service-layer CPU per close, {who}: ms",
                _f(svc.cpu_ms if svc else None, 2),
                _ratio(api.cpu_ms if api else None, svc.cpu_ms if svc else None),
            )
        )
        if api and not api.error:
            rows.append(
                Row(
                    f"{title} load generator CPU, {who}: % of a core",
                    _f(api.extra.get("loadgen_cpu_pct"), 1),
                    "its CPU per request: ms",
                    _f(api.extra.get("loadgen_cpu_ms"), 3),
                    "",
                )
            )
    return rows


def sqlite_rows(f: CloseFigures, clients: int) -> list[Row]:
    rows = []
    raw = f.raw
    raw_rate = raw.rate if raw and not raw.error else None
    for n in (1, clients):
        api, svc = f.api.get(n), f.service.get(n)
        who = f"{n} client{'s' if n > 1 else ''}"
        rows.append(
            Row(
                f"SQLite API close, {who}: req/s",
                _rate(api),
                "raw sqlite3, 1 writer: tx/s",
                _rate(raw),
                _ratio(api.rate if api and not api.error else None, raw_rate),
            )
        )
        rows.append(
            Row(
                f"SQLite API close, {who}: p50 / p99 ms",
                _lat(api),
                "raw sqlite3, 1 writer: p50 / p99 ms",
                _lat(raw),
                _ratio(api.p99 if api else None, raw.p99 if raw else None),
            )
        )
        rows.append(
            Row(
                f"SQLite service layer, {who}: closes/s",
                _rate(svc),
                "raw sqlite3, 1 writer: tx/s",
                _rate(raw),
                _ratio(svc.rate if svc and not svc.error else None, raw_rate),
            )
        )
    return rows


def memory_rows(label: str, f: CloseFigures) -> list[Row]:
    peak = max(f.rss_peak_kb) / 1024 if f.rss_peak_kb else None
    warm = max(f.rss_warm_kb) / 1024 if f.rss_warm_kb else None
    return [
        Row(
            f"{label} server peak RSS per worker after the runs: MB",
            _f(peak, 1),
            "after warm-up: MB",
            _f(warm, 1),
            _ratio(peak, warm),
            "flat",
        )
    ]


def _flat_rss_row(figure: str, large_kb: int | None, reference: str, small_kb: int | None) -> Row:
    """Peak RSS at the large size beside the small one: memory is flat when 10x the rows costs <= 25 % more."""
    large, small = (kb / 1024 if kb else None for kb in (large_kb, small_kb))
    flat = large / small <= 1.25 if large and small else None
    return Row(figure, _f(large, 1), reference, _f(small, 1), _ratio(large, small), "flat (<= 1.25)" + _met(flat))


def bulk_rows(f: BulkFigures, sizes: Sizes) -> list[Row]:
    large, small = f.large, f.small
    large_s = large.seconds if large else None
    ok = large_s < 60 if large_s is not None and sizes.bulk_large >= 100_000 else None
    rows = [
        Row(
            f"bulk-close CLI, {sizes.bulk_large:,} deals: s",
            _f(large_s, 1),
            f"set-based SQL, {sizes.bulk_large:,} deals: s",
            _f(f.set_based_s, 1),
            _ratio(large_s, f.set_based_s),
            "< 60 s" + _met(ok),
        ),
        Row(
            f"bulk-close CLI, {sizes.bulk_small:,} deals: s",
            _f(small.seconds if small else None, 1),
            f"{sizes.bulk_large:,} deals, scaled to {sizes.bulk_small:,}: s",
            _f(large_s * sizes.bulk_small / sizes.bulk_large if large_s else None, 1),
            _ratio(
                small.seconds if small else None, large_s * sizes.bulk_small / sizes.bulk_large if large_s else None
            ),
        ),
    ]
    rows.append(
        _flat_rss_row(
            f"bulk-close peak RSS, {sizes.bulk_large:,} deals: MB",
            large.peak_rss_kb if large else None,
            f"peak RSS, {sizes.bulk_small:,} deals: MB",
            small.peak_rss_kb if small else None,
        )
    )
    exported, exported_small = f.export_large, f.export_small
    rows.append(
        Row(
            f"export CLI, quotes, {2 * sizes.bulk_large:,} rows: s",
            _f(exported.seconds if exported else None, 1),
            "COPY quotes TO STDOUT (csv) into a file: s",
            _f(f.copy_out_s, 1),
            _ratio(exported.seconds if exported else None, f.copy_out_s),
        )
    )
    rows.append(
        _flat_rss_row(
            f"export CLI peak RSS, {2 * sizes.bulk_large:,} quotes: MB",
            exported.peak_rss_kb if exported else None,
            f"peak RSS, {2 * sizes.bulk_small:,} quotes: MB",
            exported_small.peak_rss_kb if exported_small else None,
        )
    )
    for error in f.errors:
        rows.append(Row("bulk-close error", error[:60], "", "", ""))
    return rows


def print_table(rows: list[Row]) -> None:
    headers = Row("figure", "measured", "reference (same run, same machine)", "reference", "ratio", "target")
    columns = list(
        zip(*[(r.figure, r.value, r.reference, r.ref_value, r.ratio, r.target) for r in [headers, *rows]], strict=True)
    )
    widths = [max(len(cell) for cell in column) for column in columns]
    align = ["<", ">", "<", ">", ">", "<"]

    def line(r: Row) -> str:
        cells = (r.figure, r.value, r.reference, r.ref_value, r.ratio, r.target)
        return " | ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, align, widths, strict=True)).rstrip()

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: every row, no meaningful figures")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (a fresh schema per section is used)")
    parser.add_argument("--workers", type=int, help="uvicorn worker processes (default 2)")
    parser.add_argument("--bulk", type=int, help="deals in the large bulk close (default 100,000)")
    parser.add_argument("--report-closes", type=int, help="closes for bench/report_bench.py (default 1,000,000)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["postgres", "nosync", "sqlite", "bulk", "report"],
        help="leave a section out",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.workers:
        sizes = Sizes(**{**sizes.__dict__, "workers": args.workers})
    if args.bulk:
        sizes = Sizes(**{**sizes.__dict__, "bulk_large": args.bulk, "bulk_small": max(1, args.bulk // 10)})
    if args.report_closes:
        sizes = Sizes(**{**sizes.__dict__, "report_closes": args.report_closes})
    close_date = datetime.now(UTC).date() - timedelta(days=1)
    started = time.perf_counter()
    load_before = os.getloadavg()
    rows: list[Row] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="dd_bench_") as tmp:
        work = Path(tmp)
        if "postgres" not in args.skip:
            pg = postgres_closes(args.url, sizes, work, close_date)
            rows += close_rows("PG", pg, sizes.clients, targets=True)
            rows += memory_rows("PG", pg)
            failed |= _any_error(pg)
        if "nosync" not in args.skip:
            nosync = postgres_closes(args.url, sizes, work, close_date, options=NO_SYNC, levels=(sizes.clients,))
            rows += close_rows("PG no-sync", nosync, sizes.clients, levels=(sizes.clients,))
            failed |= _any_error(nosync)
        if "sqlite" not in args.skip:
            lite = sqlite_closes(sizes, work, close_date)
            rows += sqlite_rows(lite, sizes.clients)
            rows += memory_rows("SQLite", lite)
            failed |= _any_error(lite)
        if "bulk" not in args.skip:
            bulk_figures = bulk_closes(args.url, sizes, work, close_date)
            rows += bulk_rows(bulk_figures, sizes)
            failed |= bool(bulk_figures.errors)
        if "report" not in args.skip:
            rows += report_rows(args.url, sizes)
    print()
    print(
        f"dealdesk bench ({'quick' if args.quick else 'full'}) on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} "
        f"after, {time.perf_counter() - started:.0f} s"
    )
    command = "dealdesk " + " ".join(server.serve_command(0, sizes.workers)[1:]).replace("--port 0 ", "")
    print(f"server: {command} (SQLite: --workers {SQLITE_WORKERS})")
    print()
    print_table(rows)
    print()
    print("Notes:")
    print(
        "- pgbench runs the same transaction as raw SQL (row lock, read quotes, close quotes in one UPDATE, update the"
    )
    print("  deal, insert the close record and the audit rows) but does less than a request must: no bearer-token")
    print("  lookup, no idempotency row (every API request sends an Idempotency-Key), no JSON in or out, no HTTP.")
    print("- Closes are half plain won closes, half one-step 'close quotes and close' (lost, close_quotes=lost).")
    print("- 'PG no-sync' runs both sides with synchronous_commit=off: without the WAL flush per commit it shows the")
    print("  CPU-bound ceiling; the PG rows above it are the durable production setting.")
    print("- Ratio is measured / reference (for latencies: p99 / p99). Timings on a shared machine are noisy.")
    return 1 if failed else 0


def _any_error(f: CloseFigures) -> bool:
    measures = [*f.api.values(), *f.service.values(), *f.simple.values(), *f.prepared.values(), f.raw]
    return any(m is not None and m.error is not None and m.error != "pgbench not found" for m in measures)


if __name__ == "__main__":
    sys.exit(main())
