"""A Dataverse-compatible Web API under /api/data/v9.2/ (SPEC §10), so scripts and SDKs written for Dynamics 365
keep working: the metadata clients read on connect, the entity sets, PATCH to reopen or edit, the close actions
and `$batch` — each a thin adapter over the same use cases as the rest of the API.

Modules: entities.py (the one description of the entities), csdl.py ($metadata), definitions.py (EntityDefinitions),
odata_filter.py and query.py (query options), records.py (records and links), actions.py (the actions),
service.py (one request, from HTTP or a batch part), batch.py ($batch), envelope.py (Dataverse's errors).

These routes are left out of /openapi.json: OData paths (`opportunities(<id>)`, `EntityDefinitions(LogicalName=…)`)
and multipart batches are described by `$metadata`, which is the document Dataverse clients read."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Unauthenticated
from dealdesk.web.api.dataverse import batch
from dealdesk.web.api.dataverse.envelope import DataverseFault, ProblemsAsDataverseErrors, error_body
from dealdesk.web.api.dataverse.records import SERVICE_PATH, Links
from dealdesk.web.api.dataverse.service import Answer, Call, Context, handle, json_answer

PREFIX: Final = "/data/v9.2"
METHODS: Final = ["GET", "POST", "PATCH", "PUT", "DELETE"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

__all__ = ["SERVICE_PATH", "ProblemsAsDataverseErrors", "router"]


def _context(request: Request) -> Context:
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:  # pragma: no cover - BearerAuth answers 401 before any /api route runs
        raise Unauthenticated("Send Authorization: Bearer <token>")
    settings = request.app.state.settings
    return Context(request.app.state.uow_factory(), actor, settings, Links(settings.public_url))


def _respond(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers)


async def _serve(request: Request, path: str) -> Response:
    body = await request.body()
    ctx = _context(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    if path.strip("/") == "$batch":
        if request.method != "POST":
            return _respond(json_answer(405, error_body("method_not_allowed", "Send $batch with POST.")))

        def run_batch() -> Answer:
            try:
                return batch.run(ctx, headers.get("content-type", ""), body, headers.get("prefer"))
            except DataverseFault as fault:
                return json_answer(fault.status, error_body(fault.code, fault.message))

        return _respond(await run_in_threadpool(run_batch))
    call = Call(request.method, path, dict(request.query_params), headers, body)
    return _respond(await run_in_threadpool(handle, ctx, call))


@router.api_route("", methods=METHODS)
@router.api_route("/", methods=METHODS)
async def service_root(request: Request) -> Response:
    return await _serve(request, "")


@router.api_route("/{path:path}", methods=METHODS)
async def resource(request: Request, path: str) -> Response:
    return await _serve(request, path)
