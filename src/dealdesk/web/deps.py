"""Request-scoped dependencies, declared once and reused by every router."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Unauthenticated
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import IdempotencyRequest, StoredAnswer, UnitOfWork

_ETAG_VERSION = re.compile(r'^"(\d{1,18})"$')


def get_uow(request: Request) -> UnitOfWork:
    factory: Callable[[], UnitOfWork] = request.app.state.uow_factory
    return factory()


def current_actor(request: Request) -> Actor:
    """The user behind the request's bearer token (set by web.bearer.BearerAuth for every /api request)."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise Unauthenticated("Send Authorization: Bearer <token>")
    return actor


# The dependencies proper are coroutines: FastAPI runs a plain function dependency on a worker thread, one thread
# hand-off per dependency per request, for work that takes microseconds.
async def _uow(request: Request) -> UnitOfWork:
    return get_uow(request)


async def _actor(request: Request) -> Actor:
    return current_actor(request)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(
    if_match: Annotated[str | None, Header(alias="If-Match", description="ETag last read; 412 if it changed")] = None,
) -> int | None:
    """If-Match with strong comparison: `*` matches anything, an unreadable or weak tag matches nothing."""
    if if_match is None or if_match.strip() == "*":
        return None
    for candidate in if_match.split(","):
        match = _ETAG_VERSION.match(candidate.strip())
        if match:
            return int(match.group(1))
    return -1


async def _expected_version(
    if_match: Annotated[str | None, Header(alias="If-Match", description="ETag last read; 412 if it changed")] = None,
) -> int | None:
    return expected_version(if_match)


UowDep = Annotated[UnitOfWork, Depends(_uow)]
ActorDep = Annotated[Actor, Depends(_actor)]
ExpectedVersion = Annotated[int | None, Depends(_expected_version)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Repeat-safe key, kept 24 h"),
]


def json_bytes(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def respond(model: BaseModel, *, status: int = 200, version: int | None = None) -> Response:
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(json_bytes(model), status_code=status, media_type="application/json", headers=headers)


def replayed(answer: StoredAnswer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def preconditions(
    request: Request,
    actor: Actor,
    *,
    version: int | None,
    key: str | None,
    body: BaseModel | None,
    render: Callable[[Any], BaseModel] | None = None,
) -> Preconditions:
    """If-Match and Idempotency-Key for a change; the body's fingerprint is of its canonical JSON."""
    idempotency = None
    if key is not None:
        canonical = json.dumps(body.model_dump(mode="json") if body is not None else None, sort_keys=True)
        idempotency = IdempotencyRequest(
            user_id=actor.id,
            scope=f"{request.method} {request.url.path}",
            key=key,
            fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        )

    return Preconditions(
        expected_version=version, idempotency=idempotency, answer=_RenderedAnswer(render) if render else None
    )


class _RenderedAnswer:
    """Renders a change's result as the answer stored under its Idempotency-Key, and keeps the bytes: the response
    is then those very bytes, rendered once."""

    def __init__(self, render: Callable[[Any], BaseModel]) -> None:
        self.render = render
        self.result: object = None
        self.body: bytes | None = None

    def __call__(self, result: object) -> StoredAnswer:
        self.result, self.body = result, json_bytes(self.render(result))
        return StoredAnswer(200, self.body)


def respond_result(
    pre: Preconditions, result: object, render: Callable[[Any], BaseModel], *, version: int | None = None
) -> Response:
    """The 200 answer to a change made with `preconditions(…, render=render)`."""
    answer = pre.answer
    if isinstance(answer, _RenderedAnswer) and answer.result is result and answer.body is not None:
        body = answer.body
    else:
        body = json_bytes(render(result))
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(body, status_code=200, media_type="application/json", headers=headers)
