"""Which kind of change each mutating API route attempts, so that a refused role gets 403 before any input
fault is reported (SPEC §7 order: 401, 413, 404, 403, 422, …)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from dealdesk.domain.access import Actor
from dealdesk.services.permissions import Attempt, require_may_attempt
from dealdesk.services.ports import UnitOfWork

ATTEMPTS: dict[tuple[str, str], tuple[Attempt, str | None]] = {
    # (method, path under /api) -> (the kind of change, the path parameter naming its record)
    ("POST", "/accounts"): (Attempt.CREATE, None),
    ("PATCH", "/accounts/{account_id}"): (Attempt.CREATE, None),
    ("POST", "/opportunities"): (Attempt.CREATE, None),
    ("POST", "/competitors"): (Attempt.MANAGE, None),
    ("PATCH", "/competitors/{competitor_id}"): (Attempt.MANAGE, None),
    ("POST", "/close-reasons"): (Attempt.MANAGE, None),
    ("PATCH", "/close-reasons/{reason_id}"): (Attempt.MANAGE, None),
    ("POST", "/opportunities/bulk-close"): (Attempt.MANAGE, None),
    ("PATCH", "/closes/{close_id}"): (Attempt.MANAGE, None),
    ("PUT", "/settings/close-policy"): (Attempt.MANAGE, None),
    ("PATCH", "/opportunities/{opportunity_id}"): (Attempt.ACT_ON_OPPORTUNITY, "opportunity_id"),
    ("POST", "/opportunities/{opportunity_id}/quotes"): (Attempt.ACT_ON_OPPORTUNITY, "opportunity_id"),
    ("POST", "/opportunities/{opportunity_id}/close-quotes"): (Attempt.ACT_ON_OPPORTUNITY, "opportunity_id"),
    ("POST", "/opportunities/{opportunity_id}/close"): (Attempt.ACT_ON_OPPORTUNITY, "opportunity_id"),
    ("POST", "/opportunities/{opportunity_id}/reopen"): (Attempt.ACT_ON_OPPORTUNITY, "opportunity_id"),
    ("PATCH", "/quotes/{quote_id}"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("DELETE", "/quotes/{quote_id}"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("POST", "/quotes/{quote_id}/activate"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("POST", "/quotes/{quote_id}/close"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("POST", "/quotes/{quote_id}/revise"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("POST", "/quotes/{quote_id}/copy"): (Attempt.ACT_ON_QUOTE, "quote_id"),
    ("POST", "/quotes/{quote_id}/win"): (Attempt.ACT_ON_QUOTE, "quote_id"),
}


def require_may_attempt_route(request: Request, uow: UnitOfWork) -> None:
    """Forbidden when the signed-in user may not make this request's kind of change at all."""
    actor: Actor | None = getattr(request.state, "actor", None)
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return
    known = ATTEMPTS.get((request.method, template.removeprefix("/api")))
    if actor is None or known is None:
        return
    attempt, parameter = known
    record_id = UUID(str(request.path_params[parameter])) if parameter else None
    require_may_attempt(uow, actor, attempt, record_id)
