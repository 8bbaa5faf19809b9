"""Serving the app with the production settings: uvicorn on uvloop and httptools, no access log, and N worker
processes that each listen on their own SO_REUSEPORT socket.

Why not uvicorn's own `--workers`: there every worker accepts from one shared socket, and whichever wakes first
takes every waiting connection. Clients that keep their connections open (a load balancer's pool, a busy
integration) then all land on one process, which serves them on one core while the others idle: measured, 16
keep-alive clients gave one worker 15.2 s of CPU and the other 0.03 s. With a socket per worker the kernel spreads
new connections over the workers.

Also set up here: JSON logs (dealdesk/logs.py) in the supervisor and every worker; a metrics directory shared by the
workers (PROMETHEUS_MULTIPROC_DIR, see web/metrics.py), made fresh at start, told of each dead worker and removed at
exit; and SIGTERM drains: each worker stops accepting, finishes the requests in flight (for at most
GRACEFUL_TIMEOUT_S) and exits, then the supervisor exits.

SO_REUSEPORT would also let a second server join a port that another one already serves, and the kernel would then
split the connections between them: `serve` first binds the address without it, and refuses to start if it is
taken. Workers ask the kernel to end them (SIGTERM) when the supervisor dies, even by SIGKILL, so that no orphaned
worker keeps answering."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from dealdesk import logs

APP = "dealdesk.web.app:create_app"
BACKLOG = 2048
EARLY_EXIT_S = 5.0
"""A worker that fails this soon after starting (port taken, bad settings: an error exit, not a signal) stops the
server instead of being restarted in a loop."""
GRACEFUL_TIMEOUT_S = 20
"""How long SIGTERM waits for the requests in flight before closing their connections."""
ACCESS_LOG_VARIABLE = "DEALDESK_ACCESS_LOG"
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

logger = logging.getLogger("dealdesk.serve")


@dataclass(frozen=True)
class Tls:
    """HTTPS served directly (SPEC §12): a certificate chain and its private key, PEM files."""

    certfile: str
    keyfile: str


def config(host: str, port: int, *, tls: Tls | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # dealdesk writes its own access lines (JSON, with the request id): web/observability.py
        log_config=logs.LOGGING,
        backlog=BACKLOG,
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
        ssl_certfile=tls.certfile if tls else None,
        ssl_keyfile=tls.keyfile if tls else None,
        proxy_headers=False,  # the app applies DEALDESK_TRUSTED_PROXIES itself (web/app.py); uvicorn trusts loopback
    )


EXIT_ADDRESS_TAKEN = 2
PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the kernel sends this process when its parent dies (Linux)."""


def serve(host: str, port: int, *, workers: int, access_log: bool = False, tls: Tls | None = None) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status (2: the address is taken). With `tls`, every
    worker serves HTTPS."""
    taken = address_taken(host, port)
    if taken is not None:
        print(f"dealdesk serve: cannot listen on {host}:{port}: {taken}", file=sys.stderr)
        return EXIT_ADDRESS_TAKEN
    logs.configure()
    if access_log:
        os.environ[ACCESS_LOG_VARIABLE] = "true"  # read by the app's settings, in this process and every worker
    if workers == 1:
        uvicorn.Server(_built(config(host, port, tls=tls))).run()
        return 0
    metrics_dir = tempfile.mkdtemp(prefix="dealdesk-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir  # before any worker imports prometheus_client
    try:
        if not hasattr(socket, "SO_REUSEPORT"):  # not Linux/BSD: uvicorn's shared socket still works, less evenly
            uvicorn.run(
                APP,
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=False,
                log_config=logs.LOGGING,
                ssl_certfile=tls.certfile if tls else None,
                ssl_keyfile=tls.keyfile if tls else None,
            )
            return 0
        return _Supervisor(host, port, workers, metrics_dir, tls).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


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


def _worker(host: str, port: int, tls: Tls | None, supervisor: int) -> None:
    _end_with_parent(supervisor)
    sock = _listening_socket(host, port)
    uvicorn.Server(_built(config(host, port, tls=tls))).run(sockets=[sock])


def _built(server_config: uvicorn.Config) -> uvicorn.Config:
    """The app built before serving, and everything it holds then frozen out of the garbage collector's sight
    (`gc.freeze`): a full collection walks only what requests made since. Without it, each worker's full
    collections walked every module, route and schema, and paused the worker for up to ~250 ms with its requests in
    flight: the close's p99 at 16 clients (bench/close_tail.py)."""
    server_config.load()
    gc.collect()
    gc.freeze()
    return server_config


class _Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGINT/SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, metrics_dir: str, tls: Tls | None) -> None:
        self.args = (host, port, tls)
        self.metrics_dir = metrics_dir
        self.count = workers
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()
        self.processes: list[tuple[BaseProcess, float]] = []

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(target=_worker, args=(*self.args, os.getpid()), name="dealdesk-worker")
        process.start()
        return process, time.monotonic()

    def _forget_metrics_of(self, pid: int) -> None:
        """A dead worker's live gauges stop counting; its counters stay (what it answered, it answered).
        Imported here: each worker imports this module before it binds its socket, and needs none of it."""
        from prometheus_client import multiprocess as prometheus_multiprocess

        prometheus_multiprocess.mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        host, port, tls = self.args
        scheme = "https" if tls else "http"
        logger.warning("dealdesk serving on %s://%s:%d with %d workers", scheme, host, port, self.count)
        self.processes = [self._start() for _ in range(self.count)]
        status = 0
        while not self.stopping.wait(0.5):
            for index, (process, started) in enumerate(self.processes):
                if process.is_alive():
                    continue
                if process.pid is not None:
                    self._forget_metrics_of(process.pid)
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
            process.join(timeout=GRACEFUL_TIMEOUT_S + 5)
            if process.is_alive():
                process.kill()
                process.join()
        return status
