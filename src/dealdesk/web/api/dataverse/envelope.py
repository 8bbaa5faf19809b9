"""Dataverse's error envelope for every status ≥ 400 under /api/data/ (SPEC §10).

The shape follows "Compose HTTP requests and handle errors" (learn.microsoft.com/power-apps/developer/data-platform/
webapi/compose-http-requests-handle-errors, section "Parse errors from the response"): `{"error": {"code": "0x…",
"message": "…"}}`; dealdesk adds its own code as the instance annotation `@dealdesk.code`. The statuses follow the
same page's table: refused operations and input faults are 400 (Dataverse has no 409 or 422 for them), a version
mismatch is 412, throttling 429. The `0x…` codes are from "Web service error codes" (learn.microsoft.com/
power-apps/developer/data-platform/reference/web-service-error-codes); docs/dataverse.md has the whole table."""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealdesk.domain.errors import ActiveQuotesBlockClose, DomainError, FieldError, ValidationFailed
from dealdesk.web.problems import STATUS_OF_CODE

ODATA_HEADERS: Final = {"OData-Version": "4.0"}

INVALID_ARGUMENT: Final = "0x80040203"
OBJECT_DOES_NOT_EXIST: Final = "0x80040217"
PRIVILEGE_DENIED: Final = "0x80040220"
UNSPECIFIED: Final = "0x80040216"
BUSINESS_RULE: Final = "0x80040265"
RESOURCE_NOT_FOUND: Final = "0x8006088a"
VERSION_MISMATCH: Final = "0x80060882"
AUTHENTICATION_REQUIRED: Final = "0x8005f101"
REQUEST_LIMIT: Final = "0x80072322"

DATAVERSE_CODES: Final[dict[str, str]] = {
    "validation_error": INVALID_ARGUMENT,
    "idempotency_key_reused": INVALID_ARGUMENT,
    "unsupported_query": INVALID_ARGUMENT,
    "not_found": OBJECT_DOES_NOT_EXIST,
    "resource_not_found": RESOURCE_NOT_FOUND,
    "forbidden": PRIVILEGE_DENIED,
    "unauthenticated": AUTHENTICATION_REQUIRED,
    "precondition_failed": VERSION_MISMATCH,
    "rate_limited": REQUEST_LIMIT,
    "duplicate": "0x80040237",
    "invalid_transition": BUSINESS_RULE,
    "opportunity_not_open": BUSINESS_RULE,
    "active_quotes_block_close": BUSINESS_RULE,
    "won_quote_requires_won_close": BUSINESS_RULE,
    "won_quote_exists": BUSINESS_RULE,
    "quote_has_no_lines": BUSINESS_RULE,
    "quote_total_negative": BUSINESS_RULE,
    "quote_expired": BUSINESS_RULE,
    "idempotency_key_in_progress": BUSINESS_RULE,
}
"""dealdesk's code → Dataverse's: InvalidArgument, ObjectDoesNotExist, "Resource not found for the segment",
PrivilegeDenied, AccessTokenExpired ("requires authentication"), ConcurrencyVersionMismatch, the service protection
request limit, DuplicateRecord, and IsvAborted — the code Dataverse gives an operation refused by a business rule
(a plug-in's InvalidPluginExecutionException). Anything else is Unspecified (0x80040216)."""

STATUSES: Final[dict[int, int]] = {409: 400, 422: 400}
"""Dataverse answers refusals and input faults with 400; every other status stays as it is."""

FIELD_NAMES: Final = {
    "close_date": "actualend",
    "actual_revenue": "actualrevenue",
    "competitor_id": "competitorid",
    "close_reason_id": "dd_closereasonid",
    "status_reason": "Status",
    "estimated_revenue": "estimatedvalue",
    "estimated_close_date": "estimatedclosedate",
}
"""dealdesk's field names in refusals, as a Dataverse script calls them."""


class DataverseFault(Exception):
    """A request the adapter itself refuses (unknown segment, unsupported option, wrong method)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str, **annotations: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": DATAVERSE_CODES.get(code, UNSPECIFIED), "message": message, "@dealdesk.code": code}
    error.update({f"@dealdesk.{name}": value for name, value in annotations.items()})
    return {"error": error}


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **annotations: Any
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, **annotations),
        status_code=STATUSES.get(status, status),
        headers={**ODATA_HEADERS, **(headers or {})},
    )


def refusal(error: DomainError) -> tuple[int, dict[str, Any]]:
    """A domain refusal as (status, body)."""
    status = STATUSES.get(STATUS_OF_CODE.get(error.code, 409), STATUS_OF_CODE.get(error.code, 409))
    if isinstance(error, ValidationFailed):
        faults = [FieldError(FIELD_NAMES.get(e.field, e.field), e.message) for e in error.errors]
        return 400, error_body(error.code, "; ".join(f"{e.field}: {e.message}" for e in faults))
    extras: dict[str, Any] = {}
    message = error.detail
    if isinstance(error, ActiveQuotesBlockClose):
        blocking = error.extensions()["blocking_quotes"]
        extras["blocking_quotes"] = blocking
        # A Dataverse caller has no `close_quotes`: it closes each quote with CloseQuote first.
        names = ", ".join(f"{q['number']} rev {q['revision']} ({q['name']})" for q in blocking)
        message = (
            f"The opportunity cannot be closed while it has active quotes: {names}. "
            "Close each of them first (CloseQuote, or WinQuote for the one that was won)."
        )
    return status, error_body(error.code, message, **extras)


def refusal_response(error: DomainError) -> JSONResponse:
    status, body = refusal(error)
    return JSONResponse(body, status_code=status, headers=ODATA_HEADERS)


class ProblemsAsDataverseErrors:
    """Under the Dataverse prefix, an RFC 9457 problem answered by a shared layer (sign-in 401, the body limit's 413,
    an unknown path's 404, 405, rate limits, 503 busy) is rewritten into Dataverse's envelope, keeping its status
    (409 and 422 become 400) and headers such as Retry-After. Only error answers are buffered."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if message["status"] >= 400 and headers.get(b"content-type", b"").startswith(b"application/problem"):
                    start = message
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_envelope(send, start, b"".join(chunks))

        await self.app(scope, receive, rewriting_send)

    @staticmethod
    async def _send_envelope(send: Send, start: Message, problem_bytes: bytes) -> None:
        try:
            problem = json.loads(problem_bytes)
        except ValueError:
            problem = {}
        status = int(start["status"])
        code = str(problem.get("code", "http_error"))
        if status == 404 and code == "not_found":
            code = "resource_not_found"
        body = json.dumps(error_body(code, str(problem.get("detail", "")) or "Error")).encode()
        kept = [
            (name, value)
            for name, value in start.get("headers", [])
            if name not in (b"content-type", b"content-length")
        ]
        headers = [
            *kept,
            (b"content-type", b"application/json; odata.metadata=minimal"),
            (b"odata-version", b"4.0"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": STATUSES.get(status, status), "headers": headers})
        await send({"type": "http.response.body", "body": body})
