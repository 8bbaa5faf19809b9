"""PostgreSQL dropping connections and going away, against a real `dealdesk serve` process (SPEC §12): after the
server's pooled connections are terminated the next requests succeed; while the database cannot be reached every
request answers 503 `database_unavailable` with Retry-After; when it is back, requests succeed again.

The outage is made by a TCP proxy that this test starts between the server and PostgreSQL, and stops: stopping
PostgreSQL itself would break the other test sessions that share it on this machine."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx2
from sqlalchemy import text

from dealdesk.domain.states import Role
from tests.serving import free_port, wait_until_answering
from tests.trust.conftest import DEALDESK_CLI, Database, process_env, stop

READERS = 8
"""Requests sent at once to warm the pool: each holds a connection of its own, so the pool keeps several."""


class TcpProxy:
    """Forwards a local port to PostgreSQL; `stop()` closes the port and every connection through it, as a database
    that went away does, and `start()` opens the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _with_host_port_and_name(url: str, port: int | None, name: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if port is None else f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{port}"
    query = f"{parts.query}&application_name={name}" if parts.query else f"application_name={name}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@contextmanager
def dealdesk_serve(database: Database, url: str, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**process_env(database), "DEALDESK_DATABASE_URL": url}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [DEALDESK_CLI, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _read_at_once(base: str, headers: dict[str, str]) -> list[httpx2.Response]:
    with ThreadPoolExecutor(READERS) as pool:
        return list(
            pool.map(lambda _: httpx2.get(f"{base}/api/opportunities", headers=headers, timeout=30), range(READERS))
        )


def test_after_the_servers_connections_are_terminated_the_next_requests_succeed(
    postgres_database: Database, tmp_path: Path
) -> None:
    name = f"dd-outage-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {postgres_database.token('boss', Role.MANAGER)}"}
    with dealdesk_serve(
        postgres_database, _with_host_port_and_name(postgres_database.url, None, name), tmp_path / "s.log"
    ) as base:
        warm = _read_at_once(base, headers)
        with postgres_database.engine.connect() as conn:
            terminated = conn.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalar_one()
        time.sleep(0.2)  # the backends exit and close their sockets

        after = [httpx2.get(f"{base}/api/opportunities", headers=headers, timeout=30) for _ in range(3)]
        after += _read_at_once(base, headers)

    assert [r.status_code for r in warm] == [200] * READERS
    assert terminated >= 2, "the server kept fewer pooled connections than the test means to kill"
    assert [r.status_code for r in after] == [200] * len(after), [r.text[:300] for r in after]


def test_while_the_database_cannot_be_reached_requests_answer_503_and_then_recover(
    postgres_database: Database, tmp_path: Path
) -> None:
    target = urlsplit(postgres_database.url)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
    proxy.start()
    headers = {"Authorization": f"Bearer {postgres_database.token('boss', Role.MANAGER)}"}
    url = _with_host_port_and_name(postgres_database.url, proxy.port, "dd-proxied")
    try:
        with dealdesk_serve(postgres_database, url, tmp_path / "s.log") as base:
            before = _read_at_once(base, headers)
            proxy.stop()
            during = [httpx2.get(f"{base}/api/opportunities", headers=headers, timeout=30) for _ in range(3)]
            during += _read_at_once(base, headers)
            during.append(httpx2.post(f"{base}/api/accounts", json={"name": "Down Ltd"}, headers=headers, timeout=30))
            proxy.start()
            after = [httpx2.get(f"{base}/api/opportunities", headers=headers, timeout=30) for _ in range(3)]
            created = httpx2.post(f"{base}/api/accounts", json={"name": "Back Ltd"}, headers=headers, timeout=30)
    finally:
        proxy.stop()

    assert [r.status_code for r in before] == [200] * READERS
    assert [r.status_code for r in during] == [503] * len(during), [r.text[:300] for r in during]
    assert all(r.headers["content-type"] == "application/problem+json" for r in during)
    assert {r.json()["code"] for r in during} == {"database_unavailable"}
    assert all(int(r.headers["retry-after"]) >= 1 for r in during)
    assert [r.status_code for r in after] == [200] * 3, [r.text[:300] for r in after]
    assert created.status_code == 201
    assert (tmp_path / "s.log").read_text().count("Traceback") == 0
