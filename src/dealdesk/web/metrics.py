"""Prometheus metrics, correct across the worker processes of `dealdesk serve`.

The metrics are prometheus-client objects and so belong to the process, not to one app: with several workers,
`dealdesk serve` points PROMETHEUS_MULTIPROC_DIR (prometheus-client's own variable, read when it is imported) at a
directory of its own, every worker writes its values to files there, and `/metrics` in whichever worker answers
adds up the files of all of them. A worker that dies leaves its counters (they were counted) and its live gauges are
dropped by the supervisor (`mark_process_dead` in web/serving.py). Without that variable (one process) the
default registry is read."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import generate_latest
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

requests = Counter(
    "dealdesk_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
latency = Histogram(
    "dealdesk_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
closes = Counter("dealdesk_closes", "Opportunities closed (committed), by outcome", ["outcome"])
refusals = Counter("dealdesk_refusals", "Answers that refused a request, by problem code", ["code"])
pool_connections = Gauge(
    "dealdesk_db_pool_connections",
    "Database connections held by the pools of the live workers: open, and checked out by a request",
    ["state"],
    multiprocess_mode="livesum",
)
pool_size = Gauge(
    "dealdesk_db_pool_size", "Configured pool size, summed over the live workers", multiprocess_mode="livesum"
)


def count_close(outcome: str) -> None:
    closes.labels(outcome).inc()


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges true by the pool's own events (one gauge step per checkout and checkin)."""
    if isinstance(engine.pool, QueuePool):
        pool_size.inc(engine.pool.size())
    open_connections = pool_connections.labels("open")
    checked_out = pool_connections.labels("checked_out")

    def _connected(*_args: Any) -> None:
        open_connections.inc()

    def _closed(*_args: Any) -> None:
        open_connections.dec()

    def _checked_out(*_args: Any) -> None:
        checked_out.inc()

    def _checked_in(*_args: Any) -> None:
        checked_out.dec()

    event.listen(engine, "connect", _connected)
    event.listen(engine, "close", _closed)
    event.listen(engine, "close_detached", _closed)
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def exposition() -> tuple[bytes, str]:
    """The metrics of every worker in Prometheus text format, and its content type."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
