"""Does signing in hold up everyone else? API PATCH latency on SQLite while clients sign in with passwords.

A successful sign-in checks an argon2 hash (about 0.3 s of CPU by design). If that check ran inside the write
transaction, SQLite's one writer lock would be held for it and every other write would queue behind it. This
bench measures a single client's `PATCH /api/opportunities/{id}` latency against `dealdesk serve --workers 1` on a fresh
SQLite file, first alone, then while 4 other clients sign in again and again, and prints one table:

    .venv/bin/python -m bench.sign_in_contention            # 3 runs of 8 s per phase
    .venv/bin/python -m bench.sign_in_contention --runs 1 --seconds 4
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

from bench import seeding, server
from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth

SIGNING_IN = 4
PASSWORD = "a long enough bench password"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Phase:
    label: str
    latencies_ms: list[float]
    sign_ins: int

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=10)[-1]


def _add_people(url: str) -> list[str]:
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
        names = [f"signer{n}" for n in range(SIGNING_IN)]
        for name in names:
            auth.add_user(uow, name, Role.SALES, password=PASSWORD)
        return names
    finally:
        engine.dispose()


def _sign_in_again_and_again(base: str, name: str, stop: threading.Event, done: list[int]) -> None:
    """Sign in as a browser does: the form (with its CSRF field, where there is one), then the post."""
    with httpx2.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            client.cookies.clear()
            form = client.get("/login")
            found = _CSRF_FIELD.search(form.text)
            data = {"name": name, "password": PASSWORD, "next": "/"}
            if found:
                data["csrf_token"] = found.group(1)
            answer = client.post("/login", data=data, follow_redirects=False)
            if answer.status_code != 303:
                raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:200]}")
            done.append(1)


def _patch_for(client: httpx2.Client, opportunity_id: str, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        started = time.perf_counter()
        answer = client.patch(f"/api/opportunities/{opportunity_id}", json={"name": f"Bench deal {n}"})
        latencies.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"PATCH failed: {answer.status_code} {answer.text[:200]}")
    return latencies


def run_once(workdir: Path, seconds: float) -> list[Phase]:
    db = seeding.create_sqlite(workdir / "signin.db")
    names = _add_people(db.url)
    srv = server.start(db.url, workers=1, log=workdir / "server.log")
    base = f"http://127.0.0.1:{srv.port}"
    try:
        headers = {"Authorization": f"Bearer {db.token}"}
        with httpx2.Client(base_url=base, headers=headers, timeout=60) as api:
            account_id = api.post("/api/accounts", json={"name": "Bench account"}).json()["id"]
            deal = {"name": "Bench deal", "account_id": account_id, "estimated_revenue": "1000.00"}
            deal_id = api.post("/api/opportunities", json=deal).json()["id"]
            _patch_for(api, deal_id, 1.0)  # warm-up
            alone = Phase("PATCH alone", _patch_for(api, deal_id, seconds), 0)
            stop, done = threading.Event(), list[int]()
            signers = [
                threading.Thread(target=_sign_in_again_and_again, args=(base, name, stop, done)) for name in names
            ]
            for thread in signers:
                thread.start()
            time.sleep(0.5)  # every signer is in its loop
            contended = _patch_for(api, deal_id, seconds)
            stop.set()
            for thread in signers:
                thread.join()
            busy = Phase(f"PATCH while {SIGNING_IN} sign in", contended, len(done))
        return [alone, busy]
    finally:
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    options = parser.parse_args()
    results: dict[str, list[Phase]] = {}
    for run in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="dd-signin-bench-") as workdir:
            for phase in run_once(Path(workdir), options.seconds):
                results.setdefault(phase.label, []).append(phase)
        print(f"run {run + 1}/{options.runs} done", flush=True)
    print(f"\n{'phase':<28} {'run':>3} {'PATCH median ms':>16} {'p90 ms':>9} {'PATCHes':>8} {'sign-ins':>9}")
    for label, phases in results.items():
        for number, phase in enumerate(phases, 1):
            print(
                f"{label:<28} {number:>3} {phase.median:>16.1f} {phase.p90:>9.1f} "
                f"{len(phase.latencies_ms):>8} {phase.sign_ins:>9}"
            )
        medians = [phase.median for phase in phases]
        spread = f"(spread {min(medians):.1f}-{max(medians):.1f})"
        print(f"{label:<28} {'all':>3} {statistics.median(medians):>16.1f}   {spread}")


if __name__ == "__main__":
    main()
