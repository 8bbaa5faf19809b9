"""bench/close_tail.py runs end to end: one short run prints the latency distribution, the clients each worker
holds, the TCP counters and each worker's garbage collections."""

from __future__ import annotations

from tests.bench_smoke.test_close_pairs import run_bench


def test_one_short_run_prints_the_distribution_the_split_the_tcp_counters_and_the_collections() -> None:
    done = run_bench("close_tail", "--runs", "1", "--seconds", "2")
    lines = done.stdout.splitlines()
    [run] = [line for line in lines if line.count("|") == 3 and not line.startswith("req/s")]
    rate, cuts, split, counters = (cell.strip() for cell in run.split("|"))
    assert float(rate) > 0
    assert [float(cut) for cut in cuts.split(" / ")] == sorted(float(cut) for cut in cuts.split(" / "))
    assert sum(int(n) for n in split.strip("[]").split(",")) == 16, "wrk's connections, found on the workers"
    assert "TcpRetransSegs" in counters
    collections = lines[lines.index("garbage collections per worker (count / total / longest pause):") + 1 :]
    assert len(collections) == 2 and all("gen0" in line for line in collections), collections
