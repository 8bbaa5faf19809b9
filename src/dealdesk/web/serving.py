"""Serving the app with the production settings: uvicorn on uvloop and httptools, no access log, and N worker
processes that each listen on their own SO_REUSEPORT socket.

Why not uvicorn's own `--workers`: there every worker accepts from one shared socket, and whichever wakes first
takes every waiting connection. Clients that keep their connections open (a load balancer's pool, a busy
integration) then all land on one process, which serves them on one core while the others idle: measured, 16
keep-alive clients gave one worker 15.2 s of CPU and the other 0.03 s. With a socket per worker the kernel spreads
new connections over the workers."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

APP = "dealdesk.web.app:create_app"
BACKLOG = 2048
EARLY_EXIT_S = 5.0
"""A worker that fails this soon after starting (port taken, bad settings: an error exit, not a signal) stops the
server instead of being restarted in a loop."""

logger = logging.getLogger("dealdesk.serve")


def config(host: str, port: int, *, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        backlog=BACKLOG,
        proxy_headers=False,  # the app applies DEALDESK_TRUSTED_PROXIES itself (web/app.py); uvicorn trusts loopback
    )


def serve(host: str, port: int, *, workers: int, access_log: bool = False) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status."""
    if workers == 1:
        uvicorn.Server(config(host, port, access_log=access_log)).run()
        return 0
    if not hasattr(socket, "SO_REUSEPORT"):  # not Linux/BSD: uvicorn's shared socket still works, less evenly
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, access_log=access_log)
        return 0
    return _Supervisor(host, port, workers, access_log).run()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _worker(host: str, port: int, access_log: bool) -> None:
    sock = _listening_socket(host, port)
    uvicorn.Server(config(host, port, access_log=access_log)).run(sockets=[sock])


class _Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGINT/SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, access_log: bool) -> None:
        self.args = (host, port, access_log)
        self.count = workers
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()
        self.processes: list[tuple[BaseProcess, float]] = []

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(target=_worker, args=self.args, name="dealdesk-worker")
        process.start()
        return process, time.monotonic()

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        host, port, _ = self.args
        logger.warning("dealdesk serving on http://%s:%d with %d workers", host, port, self.count)
        self.processes = [self._start() for _ in range(self.count)]
        status = 0
        while not self.stopping.wait(0.5):
            for index, (process, started) in enumerate(self.processes):
                if process.is_alive():
                    continue
                failed = process.exitcode is not None and process.exitcode > 0  # not killed by a signal
                if failed and time.monotonic() - started < EARLY_EXIT_S:
                    logger.error(
                        "worker %s exited with %s right after starting: stopping", process.pid, process.exitcode
                    )
                    self.stopping.set()
                    status = 1
                    break
                logger.error("worker %s exited with %s: starting another", process.pid, process.exitcode)
                self.processes[index] = self._start()
        for process, _ in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        for process, _ in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        return status
