"""What each API route checks before its input is judged (SPEC §7 order: 401, 413, 404, 403, 422, …), declared on
the route itself:

    @router.post("/opportunities/{opportunity_id}/close", dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)])

FastAPI runs a route's dependencies before it validates the body, so a role that may not make the change is refused
there, with 404 first when the record the path names does not exist. What turns on who owns the record is left to
the use case, which reads the owner in its own transaction anyway: a request that passes costs no extra database
round trip. When an input fault is reported before the use case got that far (a body that fails validation, or one
FastAPI could not even parse, which it rejects before any dependency runs), the error handlers ask the route's own
guard in full first (`check_before_input`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound
from dealdesk.services.permissions import Attempt, Named, require_may_attempt, role_may_attempt
from dealdesk.services.reads import Record
from dealdesk.web.deps import get_uow


@dataclass(frozen=True)
class PathRecord:
    """The record a route's path names by its id, and the path parameter that holds the id."""

    record: Record
    parameter: str


OPPORTUNITY = PathRecord(Record.OPPORTUNITY, "opportunity_id")
QUOTE = PathRecord(Record.QUOTE, "quote_id")
CLOSE = PathRecord(Record.CLOSE, "close_id")
CLOSE_REASON = PathRecord(Record.CLOSE_REASON, "reason_id")
ACCOUNT = PathRecord(Record.ACCOUNT, "account_id")
COMPETITOR = PathRecord(Record.COMPETITOR, "competitor_id")
CONTRACT = PathRecord(Record.CONTRACT, "contract_id")

_RECORD_ACTED_ON = {Attempt.ACT_ON_OPPORTUNITY: OPPORTUNITY, Attempt.ACT_ON_QUOTE: QUOTE}


@dataclass(frozen=True)
class RouteGuard:
    """A route's checks before input: the record its path names exists (404), and the user may attempt its kind of
    change (403). A FastAPI dependency: declare it with `may(…)` or `names(…)`."""

    path: PathRecord | None = None
    attempt: Attempt | None = None

    def __post_init__(self) -> None:
        acted_on = _RECORD_ACTED_ON.get(self.attempt) if self.attempt is not None else None
        if acted_on is not None and self.path != acted_on:
            raise ValueError(f"{self.attempt} needs the path record {acted_on}, not {self.path}")

    async def __call__(self, request: Request) -> None:
        """Refuse at once what the user's role rules out, whatever the record (a look-up only then, for the 404)."""
        actor: Actor | None = getattr(request.state, "actor", None)
        if actor is None or self.attempt is None or role_may_attempt(actor, self.attempt):
            return
        await run_in_threadpool(self.check, request)

    def check(self, request: Request) -> None:
        """NotFound if the record the path names does not exist, then Forbidden if this user may not attempt this
        change on it, ownership included."""
        actor: Actor | None = getattr(request.state, "actor", None)
        if actor is None:  # BearerAuth answers 401 before any /api route runs
            return
        require_may_attempt(get_uow(request), actor, self.attempt, self._named(request))

    def _named(self, request: Request) -> Named | None:
        if self.path is None:
            return None
        raw = request.path_params.get(self.path.parameter)
        try:
            return Named(self.path.record, UUID(str(raw)))
        except ValueError:
            raise NotFound(self.path.record.value, raw) from None


def may(attempt: Attempt, path: PathRecord | None = None) -> Any:
    """A mutating route's permission, e.g. `dependencies=[may(Attempt.MANAGE, COMPETITOR)]`."""
    return Depends(RouteGuard(path, attempt))


def names(path: PathRecord) -> Any:
    """A read that names a record in its path: an unknown id is 404 before any input fault."""
    return Depends(RouteGuard(path))


def guard_of(route: object) -> RouteGuard | None:
    """The guard a route declares, if any."""
    for dependency in getattr(route, "dependencies", None) or ():
        if isinstance(dependency.dependency, RouteGuard):
            guard: RouteGuard = dependency.dependency
            return guard
    return None


def check_before_input(request: Request) -> None:
    """Raises what the request's route checks before its input (NotFound, Forbidden): asked by the error handlers
    when an input fault is reported before the route's checks ran or finished."""
    guard = guard_of(request.scope.get("route"))
    if guard is not None:
        guard.check(request)
