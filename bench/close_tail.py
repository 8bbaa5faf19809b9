"""Where the close's latency tail comes from: `wrk` closing deals at 16 clients, with the whole distribution and what
the kernel and the server's garbage collector did meanwhile.

    .venv/bin/python -m bench.close_tail                            # 3 runs of 10 s, as `dealdesk serve` runs
    .venv/bin/python -m bench.close_tail --switch-interval 0.0005   # the workers' GIL switch interval (default 5 ms)
    .venv/bin/python -m bench.close_tail --pool-size 24 --no-sync   # a larger pool; synchronous_commit=off

Each run prints requests/s, p50, p90, p99, p99.9 and max (bench/close.lua), the client connections each worker holds,
the kernel's TCP counters over the run (new connections, retransmitted segments, tail-loss probes), and each
worker's garbage collections by generation: count, total and longest pause. The collector's pauses are recorded by
a `sitecustomize` module put on the server's PYTHONPATH for this bench only; `--switch-interval` goes the same way."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

from bench import seeding, server
from bench.close_pairs import Deals, _api_loadgen, wrk_closes
from bench.run import DEFAULT_URL

TCP_COUNTERS = ("TcpActiveOpens", "TcpRetransSegs", "TcpExtTCPLossProbes")
PERCENTILES = ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")

PROBE = """
import gc, json, os, sys, time
_started = [0.0]
_written = [0.0]
_pauses = {0: [], 1: [], 2: []}
def _write():
    with open(os.path.join(os.environ["BENCH_GC_DIR"], f"{os.getpid()}.json"), "w") as out:
        json.dump(_pauses, out)
def _timed(phase, info):
    now = time.perf_counter()
    if phase == "start":
        _started[0] = now
        return
    _pauses[info["generation"]].append(now - _started[0])
    if now - _written[0] > 0.5:  # a worker ends with os._exit: no atexit, so the record is kept up to date
        _written[0] = now
        _write()
gc.callbacks.append(_timed)
if os.environ.get("BENCH_SWITCH_INTERVAL"):
    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
"""


def tcp_counters() -> dict[str, int]:
    out = subprocess.run(["nstat", "-az", *TCP_COUNTERS], capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line and not line.startswith("#")}


def clients_per_worker(srv: server.Server) -> list[int]:
    """Established connections to the server's port, by the worker process that holds them."""
    command = ["ss", "-tnpH", "state", "established", f"( sport = :{srv.port} )"]
    pids = [
        int(pid) for pid in re.findall(r"pid=(\d+)", subprocess.run(command, capture_output=True, text=True).stdout)
    ]
    return [pids.count(worker) for worker in srv.workers]


def gc_pauses(directory: Path, workers: list[int]) -> list[str]:
    """Per worker: count / total ms / longest ms of its collections since it started, by generation."""
    lines = []
    for worker in workers:
        path = directory / f"{worker}.json"
        if not path.exists():
            lines.append(f"worker {worker} wrote no record")
            continue
        pauses = json.loads(path.read_text())
        lines.append(
            "  ".join(
                f"gen{gen} {len(p)} / {1000 * sum(p):.1f} / {1000 * max(p, default=0):.1f} ms"
                for gen, p in sorted(pauses.items())
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--switch-interval", type=float, help="the workers' sys.setswitchinterval, in seconds")
    parser.add_argument("--pool-size", type=int, help="DEALDESK_POOL_SIZE for the server")
    parser.add_argument("--no-sync", action="store_true", help="synchronous_commit=off for the server's sessions")
    args = parser.parse_args()

    today = date.today() - timedelta(days=1)
    db = seeding.create_postgres(args.url, "tail", options="-c synchronous_commit=off" if args.no_sync else "")
    try:
        with tempfile.TemporaryDirectory(prefix="dd_tail_") as work_dir:
            work = Path(work_dir)
            (work / "sitecustomize.py").write_text(PROBE)
            (work / "gc").mkdir()
            os.environ["PYTHONPATH"] = os.pathsep.join([str(work), os.environ.get("PYTHONPATH", "")])
            os.environ["BENCH_GC_DIR"] = str(work / "gc")
            if args.switch_interval is not None:
                os.environ["BENCH_SWITCH_INTERVAL"] = str(args.switch_interval)
            if args.pool_size is not None:
                os.environ["DEALDESK_POOL_SIZE"] = str(args.pool_size)
            deals = Deals(db)
            srv = server.start(db.url, workers=args.workers, log=work / "serve.log")
            try:
                _api_loadgen(srv, db, deals, args.clients, 2, today)  # warm-up
                print("req/s | p50 / p90 / p99 / p99.9 / max ms | clients per worker | TCP counters over the run")
                for _ in range(args.runs):
                    before = tcp_counters()
                    split: list[int] = []
                    sampler = threading.Timer(
                        args.seconds / 2, lambda found=split: found.extend(clients_per_worker(srv))
                    )
                    sampler.start()
                    result = wrk_closes(srv, db, deals, args.clients, args.seconds, today)
                    sampler.join()
                    after = tcp_counters()
                    rate = result["requests"] / (result["duration_us"] / 1e6)
                    cuts = " / ".join(
                        f"{result[k] / 1000:.0f}" for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")
                    )
                    delta = {name: after.get(name, 0) - before.get(name, 0) for name in TCP_COUNTERS}
                    print(f"{rate:.0f} | {cuts} | {split} | {delta}", flush=True)
            finally:
                srv.stop()
            print("garbage collections per worker (count / total / longest pause):")
            for line in gc_pauses(work / "gc", srv.workers):
                print(f"  {line}")
    finally:
        seeding.drop(db)


if __name__ == "__main__":
    main()
