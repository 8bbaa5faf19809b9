"""What every request leaves behind: an `X-Request-ID` on its answer, its count and latency in the metrics, the
refusal code of a refused one, a JSON log line for every error (and for every request with `--access-log`).

It is the outermost middleware, so it sees every answer, including the 401 and 413 that other middleware send
before any route runs. Metrics are labelled by route template (`/api/opportunities/{opportunity_id}/close`), never
by the raw path, so that ids do not multiply the series."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealdesk import logs
from dealdesk.web import metrics, problems

REQUEST_ID_HEADER: Final = b"x-request-id"
ACCEPTED_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._-]{1,128}")
UNMATCHED: Final = "unmatched"
"""The route label of a request no route took (a 404 for an unknown path): one series, whatever the path."""
MAX_PROBLEM_BYTES: Final = 65_536

access_log = logging.getLogger("dealdesk.access")
error_log = logging.getLogger("dealdesk.error")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and ACCEPTED_REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The template of the route that took the request, with the prefix of the router it was included under (the
    route itself knows only its own part: `/opportunities/{opportunity_id}/close` under `/api`)."""
    route = scope.get("route")
    own = getattr(route, "path_format", None)
    if isinstance(own, str):
        filled = own
        for name, value in scope.get("path_params", {}).items():
            filled = filled.replace("{" + name + "}", str(value))
        path = scope.get("path", "")
        prefix = path[: len(path) - len(filled)] if path.endswith(filled) else ""
        return prefix + own
    if scope.get("path", "").startswith("/static/"):
        return "/static"
    if scope.get("path", "").startswith("/docs/assets/"):
        return "/docs/assets"
    return UNMATCHED


def refusal_code(content_type: str, body: bytes) -> str | None:
    """The stable code of a refusal: problem+json's `code`, or the Dataverse envelope's `@dealdesk.code`."""
    if not (content_type.startswith("application/problem+json") or content_type.startswith("application/json")):
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    code = document.get("code")
    if code is None and isinstance(document.get("error"), dict):
        code = document["error"].get("@dealdesk.code")
    return code if isinstance(code, str) else None


class RequestObservation:
    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = logs.request_id.set(request_id)
        status = 500
        status_sent: int | None = None
        content_type = ""
        problem_body = bytearray()

        async def observing_send(message: Message) -> None:
            nonlocal status, status_sent, content_type
            if message["type"] == "http.response.start":
                status = status_sent = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message["headers"] = headers
                if status >= 400:
                    for name, value in headers:
                        if name == b"content-type":
                            content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body" and status >= 400 and len(problem_body) < MAX_PROBLEM_BYTES:
                problem_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        except Exception:
            # Caught here rather than by the app's last-resort handler, which runs outside every middleware: so
            # the 500 still carries the request id, and the one log line with the stack trace names the request.
            error_log.exception("unexpected error", extra={"request_id": request_id, "route": route_template(scope)})
            if status_sent is None:
                status = 500
                await problems.problem(
                    500, "internal_error", "Internal error", "Something went wrong on our side; nothing was changed"
                )(scope, receive, observing_send)
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started, content_type, bytes(problem_body))
            logs.request_id.reset(token)

    def _record(
        self, scope: Scope, request_id: str, status: int, duration: float, content_type: str, body: bytes
    ) -> None:
        route = route_template(scope)
        method = scope.get("method", "")
        metrics.requests.labels(route, method, str(status)).inc()
        metrics.latency.labels(route, method).observe(duration)
        code = refusal_code(content_type, body) if status >= 400 else None
        if code is not None:
            metrics.refusals.labels(code).inc()
        if status >= 500 or self.access_log:
            line: dict[str, Any] = {
                "request_id": request_id,
                "route": route,
                "method": method,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
            }
            if code is not None:
                line["code"] = code
            logger = error_log if status >= 500 else access_log
            logger.log(logging.ERROR if status >= 500 else logging.INFO, "request", extra=line)
