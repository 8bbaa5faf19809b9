"""Serving the app with the production settings: uvicorn on uvloop and httptools, no access log, and N worker
processes that each listen on their own SO_REUSEPORT socket.

Why not uvicorn's own `--workers`: there every worker accepts from one shared socket, and whichever wakes first
takes every waiting connection. Clients that keep their connections open (a load balancer's pool, a busy
integration) then all land on one process, which serves them on one core while the others idle: measured, 16
keep-alive clients gave one worker 15.2 s of CPU and the other 0.03 s. With a socket per worker the kernel spreads
new connections over the workers.

SO_REUSEPORT would also let a second server join a port that another one already serves, and the kernel would then
split the connections between them: `serve` first binds the address without it, and refuses to start if it is
taken. Workers ask the kernel to end them (SIGTERM) when the supervisor dies, even by SIGKILL, so that no orphaned
worker keeps answering."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
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
    )


EXIT_ADDRESS_TAKEN = 2
PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the kernel sends this process when its parent dies (Linux)."""


def serve(host: str, port: int, *, workers: int, access_log: bool = False) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status (2: the address is taken)."""
    taken = address_taken(host, port)
    if taken is not None:
        print(f"dealdesk serve: cannot listen on {host}:{port}: {taken}", file=sys.stderr)
        return EXIT_ADDRESS_TAKEN
    if workers == 1:
        uvicorn.Server(config(host, port, access_log=access_log)).run()
        return 0
    if not hasattr(socket, "SO_REUSEPORT"):  # not Linux/BSD: uvicorn's shared socket still works, less evenly
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, access_log=access_log)
        return 0
    return _Supervisor(host, port, workers, access_log).run()


def address_taken(host: str, port: int) -> str | None:
    """Why the address cannot be served, or None. Bound without SO_REUSEPORT, a probe fails whenever anything
    listens there, another dealdesk server with SO_REUSEPORT included."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to serve
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "the address is already in use (is another server running there?)"
            return error.strerror or str(error)
    return None


def _end_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this worker when the supervisor dies; elsewhere than Linux, watch for it."""
    libc_name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(libc_name, use_errno=True), "prctl", None) if libc_name else None
    if prctl is not None and prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
        if os.getppid() != parent:  # it died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _worker(host: str, port: int, access_log: bool, supervisor: int) -> None:
    _end_with_parent(supervisor)
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
        process = self.context.Process(target=_worker, args=(*self.args, os.getpid()), name="dealdesk-worker")
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
