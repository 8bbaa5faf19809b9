"""Starting real server processes in tests: a free port, and waiting until the server answers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx2

STARTUP_S = 90
"""Generous: on a loaded two-core machine each worker takes many seconds to import the app."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path, *, timeout: float = STARTUP_S) -> None:
    """Returns once `url`/healthz answers 200; raises with the server's log if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited early:\n{log.read_text()}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()}")
