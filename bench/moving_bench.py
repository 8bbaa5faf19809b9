"""Peak memory of CSV import and export at 100,000 and 1,000,000 accounts (it should stay flat), and how long an
import holds SQLite's one writer.

    .venv/bin/python -m bench.moving_bench                         # SQLite, 100k and 1M rows
    .venv/bin/python -m bench.moving_bench --rows 100000 250000 --postgres postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python -m bench.moving_bench --rows 100000 --repeat 3 --import-only

Each measurement runs in a fresh Python process (so its peak resident set size is that operation's alone): the
import of a generated accounts file into a new, migrated database through `services.importing.import_csv` (all rows
checked, then written in one transaction, audited), then the export of those accounts back to a file through
`services.exporting.export_csv`. It prints the resident set size after start-up, the peak during the operation,
their difference and the time taken — for an import, split into the check pass (a read transaction) and the write
pass (the only part that holds the writer). On SQLite another process meanwhile writes a row every 20 ms, each in
its own BEGIN IMMEDIATE transaction with a 600 s busy timeout, and the longest it waited is printed ("worst write"):
what a user's change waits while the import runs. PostgreSQL runs in a schema of its own, dropped at the end."""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

CREATED_AT = "2024-05-01T08:00:00+00:00"
PROBE_TIMEOUT_S = 600


def _rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def write_accounts(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "created_at"])
        for number in range(rows):
            writer.writerow([f"ACC-{number:07d}", f"Account {number:07d} Holdings Ltd", CREATED_AT])


def child(operation: str, url: str, path: Path) -> None:
    """One measured operation, in this process; prints a JSON line."""
    from dealdesk.config import Settings
    from dealdesk.db.engine import make_engine
    from dealdesk.db.migrate import upgrade
    from dealdesk.db.uow import SqlUnitOfWork, SystemClock
    from dealdesk.services import exporting, importing
    from dealdesk.services.moving import Kind

    settings = Settings(database_url=url)
    engine = make_engine(settings)
    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    if operation == "import":
        upgrade(engine)
    with uow.transaction():
        actor = uow.users.ensure("bench", "admin")
    before = _current_rss_mib()
    started = time.perf_counter()
    checked = started

    def on_checked() -> None:
        nonlocal checked
        checked = time.perf_counter()

    # A checkout from before imports checked first has no such hook (its check and write are one transaction).
    hooks: dict[str, Any] = (
        {"on_checked": on_checked} if "on_checked" in inspect.signature(importing.import_csv).parameters else {}
    )
    if operation == "import":
        with path.open(encoding="utf-8-sig", newline="") as source:
            report = importing.import_csv(uow, Kind.ACCOUNTS, source, actor=actor, **hooks)
        assert report.ok and report.written, report.problems[:5]
        rows = report.created
    else:
        with path.open("w", encoding="utf-8", newline="") as out:
            rows = exporting.export_csv(uow, Kind.ACCOUNTS, out)
    ended = time.perf_counter()
    engine.dispose()
    result = {"rows": rows, "before": before, "peak": _rss_mib(), "seconds": ended - started}
    print(json.dumps(result | {"check": checked - started, "write": ended - checked}))


def probe(database: Path, stop: Path) -> None:
    """Another writer: a one-row write transaction every 20 ms until `stop` exists; prints the longest wait."""
    connection = sqlite3.connect(database, timeout=PROBE_TIMEOUT_S, isolation_level=None)
    worst = 0.0
    while not stop.exists():
        started = time.perf_counter()
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE quote_numbers SET last_number = last_number")
            connection.execute("COMMIT")
        except sqlite3.OperationalError:  # waited the whole timeout: counted as that long, then tried again
            pass
        worst = max(worst, time.perf_counter() - started)
        time.sleep(0.02)
    connection.close()
    print(json.dumps({"worst": worst}))


def measure(operation: str, url: str, path: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.moving_bench", "--child", operation, url, str(path)]
    if operation != "import" or not url.startswith("sqlite:///"):
        return _last_json(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    database = Path(url.removeprefix("sqlite:///"))
    if not database.exists():
        _migrate(url)
    stop = database.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    probe_command = [sys.executable, "-m", "bench.moving_bench", "--probe", str(database), str(stop)]
    prober = subprocess.Popen(probe_command, stdout=subprocess.PIPE, text=True)
    try:
        result = _last_json(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    finally:
        stop.touch()
        out, _ = prober.communicate(timeout=120)
    return result | _last_json(out)


def _last_json(output: str) -> dict[str, float]:
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def _migrate(url: str) -> None:
    from dealdesk.config import Settings
    from dealdesk.db.engine import make_engine
    from dealdesk.db.migrate import upgrade

    engine = make_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()


def _postgres_schema(url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"dd_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    joiner = "&" if "?" in url else "?"
    return schema, f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", help="Also measure on this PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--repeat", type=int, default=1, help="Measure each size this many times")
    parser.add_argument("--import-only", action="store_true", help="Leave out the exports")
    parser.add_argument("--child", nargs=3, metavar=("OPERATION", "URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--probe", nargs=2, metavar=("DATABASE", "STOP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        operation, url, file = args.child
        child(operation, url, Path(file))
        return
    if args.probe:
        probe(Path(args.probe[0]), Path(args.probe[1]))
        return
    print(
        f"{'engine':<10} {'rows':>9} {'operation':<8} {'RSS before':>11} {'peak':>9} {'growth':>8} {'seconds':>8} "
        f"{'check':>7} {'write':>7} {'worst write':>11}"
    )
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for rows in args.rows:
            source = folder / f"accounts-{rows}.csv"
            write_accounts(source, rows)
            for run in range(args.repeat):
                _measure_all(args, folder, source, rows, run)


def _measure_all(args: argparse.Namespace, folder: Path, source: Path, rows: int, run: int) -> None:
    engines: list[tuple[str, str, str | None]] = [("sqlite", f"sqlite:///{folder / f'bench-{rows}-{run}.db'}", None)]
    if args.postgres:
        made, schema_url = _postgres_schema(args.postgres)
        engines.append(("postgresql", schema_url, made))
    for name, url, schema in engines:
        operations = [("import", source)]
        if not args.import_only:
            operations.append(("export", folder / f"out-{name}-{rows}.csv"))
        try:
            for operation, path in operations:
                result = measure(operation, url, path)
                assert result["rows"] == rows, result
                passes = f" {result['check']:>7.1f} {result['write']:>7.1f}" if operation == "import" else " " * 16
                worst = f" {result['worst']:>9.2f} s" if "worst" in result else ""
                print(
                    f"{name:<10} {rows:>9,} {operation:<8} {result['before']:>8.1f} MiB "
                    f"{result['peak']:>5.1f} MiB {result['peak'] - result['before']:>5.1f} MiB "
                    f"{result['seconds']:>8.1f}{passes}{worst}",
                    flush=True,
                )
        finally:
            if schema is not None and args.postgres:
                _drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
