"""`dealdesk serve --workers N`: one listening socket per worker, so that the kernel spreads connections over the
workers; a worker that dies is replaced; SIGTERM stops them all; a port that is taken stops the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from bench.server import workers_of

from tests.serving import free_port, wait_until_answering
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


def _serve_command(port: int, workers: int) -> list[str]:
    return [DEALDESK, "serve", "--port", str(port), "--workers", str(workers)]


@contextmanager
def serving(database: Database, tmp_path: Path, workers: int = 2) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            _serve_command(port, workers), env=process_env(database), stdout=output, stderr=subprocess.STDOUT
        )
    served = Served(process, port, log)
    try:
        wait_until_answering(served.url, process, log)
        _wait_for_workers(process.pid, workers)
        yield served
    finally:
        stop(process)


def _wait_for_workers(pid: int, count: int, *, other_than: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [w for w in workers_of(pid) if w not in other_than]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} workers after 30 s: {workers_of(pid)}")


def _established_on(port: int) -> set[int]:
    """Socket inodes of the established TCP connections whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":
                inodes.add(int(fields[9]))
    return inodes


def _sockets_of(pid: int) -> set[int]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _open_keep_alive(port: int) -> socket.socket:
    """A client connection that has had one answer and stays open, as a load balancer's pooled connection."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"GET /static/dealdesk.css HTTP/1.1\r\nHost: dealdesk\r\n\r\n")
    assert client.recv(64).startswith(b"HTTP/1.1 200")
    return client


def test_connections_kept_open_by_many_clients_are_spread_over_every_worker(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with serving(sqlite_database, tmp_path) as served, ExitStack() as clients:
        for _ in range(16):
            clients.callback(clients.enter_context(_open_keep_alive(served.port)).close)
        established = _established_on(served.port)
        per_worker = {pid: len(_sockets_of(pid) & established) for pid in workers_of(served.process.pid)}
        assert sum(per_worker.values()) == 16, per_worker
        assert all(count > 0 for count in per_worker.values()), per_worker


def test_a_worker_that_dies_is_replaced_and_the_server_keeps_answering(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with serving(sqlite_database, tmp_path) as served:
        first = workers_of(served.process.pid)
        os.kill(first[0], signal.SIGKILL)
        replaced = _wait_for_workers(served.process.pid, 1, other_than=set(first))
        assert replaced and first[0] not in workers_of(served.process.pid)
        for _ in range(10):  # whichever worker each new connection lands on answers
            assert httpx2.get(f"{served.url}/static/dealdesk.css", timeout=5).status_code == 200
        assert served.process.poll() is None


def test_sigterm_stops_the_server_and_every_worker(sqlite_database: Database, tmp_path: Path) -> None:
    with serving(sqlite_database, tmp_path) as served:
        workers = workers_of(served.process.pid)
        served.process.terminate()
        assert served.process.wait(timeout=20) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_database")
    return found


def _refused(database: Database, tmp_path: Path, port: int) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            _serve_command(port, 2), env=process_env(database), capture_output=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the server kept running on a taken port")


def test_a_port_that_another_program_listens_on_is_refused_with_exit_2_and_a_plain_message(
    database: Database, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = _refused(database, tmp_path, port)

    assert done.returncode == 2, done.stderr.decode()
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr.decode()
    assert b"Traceback" not in done.stderr


def test_a_port_that_another_dealdesk_server_serves_is_refused_not_shared(database: Database, tmp_path: Path) -> None:
    with serving(database, tmp_path) as first:
        done = _refused(database, tmp_path, first.port)
        still = httpx2.get(f"{first.url}/static/dealdesk.css", timeout=5)

    assert done.returncode == 2, done.stderr.decode()
    assert "already in use" in done.stderr.decode()
    assert still.status_code == 200


def test_workers_exit_when_the_supervisor_is_killed(database: Database, tmp_path: Path) -> None:
    with serving(database, tmp_path) as served:
        workers = workers_of(served.process.pid)
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)

        left = [pid for pid in workers if _alive(pid)]
        for pid in left:  # do not leave them behind if the test fails
            os.kill(pid, signal.SIGKILL)

    assert len(workers) == 2
    assert left == [], "workers kept serving after their supervisor died"
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{served.url}/static/dealdesk.css", timeout=2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
