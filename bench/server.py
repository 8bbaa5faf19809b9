"""Running the app as production would: `dealdesk serve --workers 2` (uvicorn on uvloop + httptools, no access
log, a SO_REUSEPORT listening socket per worker process; see dealdesk/web/serving.py).

The server's worker processes are found through /proc, for their CPU time and peak RSS (VmHWM)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_command(port: int, workers: int) -> list[str]:
    """`dealdesk serve`: uvicorn with uvloop, httptools, no access log and a SO_REUSEPORT socket per worker."""
    return [
        str(Path(sys.executable).with_name("dealdesk")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    workers: list[int]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers)

    def peak_rss_kb(self) -> list[int]:
        return [peak_rss_kb(pid) for pid in self.workers]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(database_url: str, *, workers: int, log: Path) -> Server:
    port = free_port()
    env = {**os.environ, "DEALDESK_DATABASE_URL": database_url}
    with log.open("wb") as out:
        process = subprocess.Popen(serve_command(port, workers), env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"dealdesk serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"dealdesk serve did not answer within 60 s:\n{log.read_text()}")
        time.sleep(0.2)
    if workers == 1:  # the server runs in its own process
        return Server(process=process, port=port, workers=[process.pid])
    # Wait until every worker process is up (each imports the app before serving).
    pids: list[int] = []
    while time.monotonic() < deadline:
        pids = workers_of(process.pid)
        if len(pids) >= workers:
            break
        time.sleep(0.2)
    return Server(process=process, port=port, workers=pids)


def workers_of(pid: int) -> list[int]:
    """The worker processes of a `dealdesk serve` supervisor: its multiprocessing children."""
    return [child for child in _children(pid) if _is_worker(child)]


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in command
