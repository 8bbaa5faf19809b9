"""`dealdesk serve` as operators run it: metrics summed over two real worker processes, a dead worker's gauges
dropped, JSON access lines with the request id, SIGTERM draining a slow request, and `db backup` of a SQLite file
while the server writes to it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from bench.server import workers_of
from prometheus_client.parser import text_string_to_metric_families

from dealdesk.config import Settings
from dealdesk.db import readiness
from dealdesk.db.engine import make_engine
from dealdesk.domain.states import Role
from tests.serving import STARTUP_S, free_port, wait_until_answering
from tests.trust.conftest import Database, process_env, stop

DEALDESK = str(Path(sys.executable).with_name("dealdesk"))


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics_dir(self) -> Path:
        worker = workers_of(self.process.pid)[0]
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        found = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
        return Path(found[0].decode())


@contextmanager
def serving(database: Database, tmp_path: Path, *extra: str, workers: int = 2) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    command = [DEALDESK, "serve", "--port", str(port), "--workers", str(workers), *extra]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=process_env(database), stdout=output, stderr=subprocess.STDOUT)
    served = Served(process, port, log)
    try:
        wait_until_answering(served.url, process, log)
        deadline = time.monotonic() + STARTUP_S
        while len(workers_of(process.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(20):  # every worker has imported the app and answers (new connections land anywhere)
            httpx2.get(f"{served.url}/healthz", timeout=30)
        yield served
    finally:
        stop(process)


def _healthz_count(url: str) -> float:
    text = httpx2.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dealdesk_http_requests_total" and sample.labels.get("route") == "/healthz":
                return sample.value
    return 0.0


def _files_by_worker(directory: Path) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for file in directory.glob("*.db"):
        kind, pid = file.stem.rsplit("_", 1)
        found.setdefault(int(pid), set()).add(kind)
    return found


def test_metrics_add_up_the_requests_answered_by_both_workers(sqlite_database: Database, tmp_path: Path) -> None:
    with serving(sqlite_database, tmp_path) as served:
        before = _healthz_count(served.url)
        for _ in range(60):  # a new connection each time: the kernel spreads them over the two workers
            assert httpx2.get(f"{served.url}/healthz", timeout=10).status_code == 200
        workers = set(workers_of(served.process.pid))
        counted_by = {pid for pid, kinds in _files_by_worker(served.metrics_dir()).items() if "counter" in kinds}
        assert workers <= counted_by, (workers, counted_by)  # both workers answered and counted
        readings = {_healthz_count(served.url) for _ in range(6)}  # whichever worker answers /metrics
        assert readings == {before + 60}


def test_a_dead_workers_live_gauges_are_dropped_and_its_counts_kept(sqlite_database: Database, tmp_path: Path) -> None:
    with serving(sqlite_database, tmp_path) as served:
        directory = served.metrics_dir()
        for _ in range(20):
            httpx2.get(f"{served.url}/healthz", timeout=10)
        total = _healthz_count(served.url)
        victim = workers_of(served.process.pid)[0]
        assert "gauge_livesum" in _files_by_worker(directory)[victim]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "gauge_livesum" in _files_by_worker(directory).get(victim, set()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _files_by_worker(directory)[victim] == {"counter", "histogram"}
        while len(workers_of(served.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _healthz_count(served.url) >= total  # the dead worker's answers still count
    assert not directory.exists()  # removed when the server stops


def test_access_log_lines_are_json_with_the_request_id_route_status_and_duration(
    sqlite_database: Database, tmp_path: Path
) -> None:
    token = sqlite_database.token("lena", Role.MANAGER)
    with serving(sqlite_database, tmp_path, "--access-log", workers=1) as served:
        headers = {"X-Request-ID": "access-line-1", "Authorization": f"Bearer {token}"}
        answer = httpx2.get(f"{served.url}/api/opportunities/6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["x-request-id"] == "access-line-1"
    lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.strip()]  # every line is JSON
    mine = [line for line in lines if line.get("request_id") == "access-line-1"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/api/opportunities/{opportunity_id}"
    assert mine[0]["status"] == 404 and mine[0]["code"] == "not_found" and mine[0]["duration_ms"] > 0


def test_without_access_log_a_success_writes_no_line(sqlite_database: Database, tmp_path: Path) -> None:
    with serving(sqlite_database, tmp_path, workers=1) as served:
        httpx2.get(f"{served.url}/healthz", headers={"X-Request-ID": "quiet-1"})
    text = served.log.read_text()
    assert "quiet-1" not in text
    assert all(json.loads(line) for line in text.splitlines() if line.strip())


def _established_on(port: int) -> int:
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def test_sigterm_lets_a_slow_request_in_flight_finish_then_exits(sqlite_database: Database, tmp_path: Path) -> None:
    token = sqlite_database.token("sigrid", Role.MANAGER)
    with serving(sqlite_database, tmp_path) as served:
        # The slow request: a write that waits for SQLite's write lock, held here until the server was told to stop.
        holder = sqlite3.connect(sqlite_database.url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        answers: list[httpx2.Response] = []

        def create_account() -> None:
            answers.append(
                httpx2.post(
                    f"{served.url}/api/accounts",
                    json={"name": "Drained Ltd"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
            )

        slow = threading.Thread(target=create_account)
        slow.start()
        deadline = time.monotonic() + 20
        while _established_on(served.port) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the request reaches the database and waits on the lock
        served.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert answers == [] and served.process.poll() is None  # still draining
        holder.execute("ROLLBACK")
        holder.close()
        slow.join(timeout=30)
        assert served.process.wait(timeout=30) == 0
    assert [a.status_code for a in answers] == [201]
    with sqlite_database.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM accounts WHERE name = 'Drained Ltd'").scalar() == 1


def test_db_backup_copies_a_sqlite_database_while_the_server_writes_to_it(
    sqlite_database: Database, tmp_path: Path
) -> None:
    token = sqlite_database.token("bea", Role.MANAGER)
    backup = tmp_path / "copy.db"
    with serving(sqlite_database, tmp_path) as served:
        stop_writing = threading.Event()
        written: list[int] = []

        def keep_writing() -> None:
            with httpx2.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}) as client:
                for i in range(300):  # bounded; stops early once the backup is done
                    if stop_writing.is_set():
                        break
                    assert client.post("/api/accounts", json={"name": f"Backed {i}"}).status_code == 201
                    written.append(i)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        while len(written) < 10:
            time.sleep(0.05)
        done = subprocess.run(
            [DEALDESK, "db", "backup", str(backup)], env=process_env(sqlite_database), capture_output=True, timeout=60
        )
        during = len(written)
        stop_writing.set()
        writer.join(timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        assert httpx2.get(f"{served.url}/readyz").status_code == 200
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = copy.execute("SELECT count(*) FROM accounts WHERE name LIKE 'Backed %'").fetchone()[0]
    finally:
        copy.close()
    assert 10 <= copied <= during + 1
    restored = Settings(database_url=f"sqlite:///{backup}")
    engine = make_engine(restored)
    try:
        assert readiness.check(engine, readiness.newest_revisions(engine)).ready  # a usable database at head
    finally:
        engine.dispose()


def test_db_backup_on_postgresql_is_refused_with_a_pointer_to_pg_dump(
    postgres_database: Database, tmp_path: Path
) -> None:
    done = subprocess.run(
        [DEALDESK, "db", "backup", str(tmp_path / "x.db")], env=process_env(postgres_database), capture_output=True
    )
    assert done.returncode == 2
    assert b"pg_dump" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_db_backup_refuses_to_overwrite_a_file(sqlite_database: Database, tmp_path: Path) -> None:
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    done = subprocess.run(
        [DEALDESK, "db", "backup", str(existing)], env=process_env(sqlite_database), capture_output=True
    )
    assert done.returncode == 2
    assert existing.read_bytes() == b"keep me"
