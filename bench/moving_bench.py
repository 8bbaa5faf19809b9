"""Peak memory of CSV import and export at 100,000 and 1,000,000 accounts: it should stay flat.

    .venv/bin/python -m bench.moving_bench                         # SQLite, 100k and 1M rows
    .venv/bin/python -m bench.moving_bench --rows 100000 250000 --postgres postgresql+psycopg://postgres@127.0.0.1/test

Each measurement runs in a fresh Python process (so its peak resident set size is that operation's alone): the
import of a generated accounts file into a new, migrated database through `services.importing.import_csv` (all rows
checked, then written in one transaction, audited), then the export of those accounts back to a file through
`services.exporting.export_csv`. It prints the resident set size after start-up, the peak during the operation,
their difference and the time taken. PostgreSQL runs in a schema of its own, dropped at the end."""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

CREATED_AT = "2024-05-01T08:00:00+00:00"


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
    if operation == "import":
        with path.open(encoding="utf-8-sig", newline="") as source:
            report = importing.import_csv(uow, Kind.ACCOUNTS, source, actor=actor)
        assert report.ok and report.written, report.problems[:5]
        rows = report.created
    else:
        with path.open("w", encoding="utf-8", newline="") as out:
            rows = exporting.export_csv(uow, Kind.ACCOUNTS, out)
    seconds = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"rows": rows, "before": before, "peak": _rss_mib(), "seconds": seconds}))


def measure(operation: str, url: str, path: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.moving_bench", "--child", operation, url, str(path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


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
    parser.add_argument("--child", nargs=3, metavar=("OPERATION", "URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        operation, url, file = args.child
        child(operation, url, Path(file))
        return
    print(f"{'engine':<10} {'rows':>9} {'operation':<8} {'RSS before':>11} {'peak':>9} {'growth':>8} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for rows in args.rows:
            source = folder / f"accounts-{rows}.csv"
            write_accounts(source, rows)
            engines: list[tuple[str, str, str | None]] = [("sqlite", f"sqlite:///{folder / f'bench-{rows}.db'}", None)]
            if args.postgres:
                made, schema_url = _postgres_schema(args.postgres)
                engines.append(("postgresql", schema_url, made))
            for name, url, schema in engines:
                try:
                    for operation, path in (("import", source), ("export", folder / f"out-{name}-{rows}.csv")):
                        result = measure(operation, url, path)
                        assert result["rows"] == rows, result
                        print(
                            f"{name:<10} {rows:>9,} {operation:<8} {result['before']:>8.1f} MiB "
                            f"{result['peak']:>5.1f} MiB {result['peak'] - result['before']:>5.1f} MiB "
                            f"{result['seconds']:>8.1f}",
                            flush=True,
                        )
                finally:
                    if schema is not None and args.postgres:
                        _drop_schema(args.postgres, schema)


if __name__ == "__main__":
    main()
