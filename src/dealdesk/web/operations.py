"""Endpoints for the people and machines that run dealdesk (SPEC-level contract in docs/behaviour.md, "Operating
it"): liveness, readiness and metrics. None needs a sign-in and none shows a secret; /metrics answers only to the
addresses in DEALDESK_METRICS_ALLOW, judged on the client address after the trusted proxies are applied."""

from __future__ import annotations

from ipaddress import ip_address

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dealdesk.db import readiness
from dealdesk.web import metrics, problems

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """Alive: the process answers. Touches nothing else, so a database outage never restarts healthy servers."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and its schema is at the newest migration; else 503."""
    state = request.app.state
    if state.migration_heads is None:  # read once, on the first question
        state.migration_heads = await run_in_threadpool(readiness.newest_revisions, state.engine)
    found = await run_in_threadpool(readiness.check, state.engine, state.migration_heads)
    checks = {
        "database": "ok" if found.database else "fail",
        "migrations": "ok" if found.migrations else "fail",
    }
    return JSONResponse(
        {"status": "ok" if found.ready else "fail", "checks": checks},
        status_code=200 if found.ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def _may_read_metrics(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        client = ip_address(request.client.host)
    except ValueError:
        return False
    return any(client in network for network in request.app.state.settings.metrics_networks)


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format, summed over every worker. Anyone not allowed sees no such page."""
    if not _may_read_metrics(request):
        return problems.problem(404, "not_found", "Not found", "Not Found")
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
