"""The one place where errors become HTTP answers: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from dealdesk.db.failures import as_retry_later
from dealdesk.domain.errors import DomainError, RetryLater, ValidationFailed

log = logging.getLogger("dealdesk.web")

STATUS_OF_CODE: dict[str, int] = {
    "validation_error": 422,
    "idempotency_key_reused": 422,
    "not_found": 404,
    "duplicate": 409,
    "invalid_transition": 409,
    "opportunity_not_open": 409,
    "active_quotes_block_close": 409,
    "won_quote_requires_won_close": 409,
    "won_quote_exists": 409,
    "quote_has_no_lines": 409,
    "quote_total_negative": 409,
    "quote_expired": 409,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "rate_limited": 429,
    "unauthenticated": 401,
    "forbidden": 403,
    "idempotency_key_in_progress": 409,
    "changed_while_importing": 409,
    "busy": 503,
    "database_unavailable": 503,
}

_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("validation_error", "Invalid input"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable error code, e.g. active_quotes_block_close"},
        "errors": {
            "type": "array",
            "description": "validation_error: each faulty field",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "blocking_quotes": {
            "type": "array",
            "description": "active_quotes_block_close: every active quote",
            "items": {
                "type": "object",
                "required": ["id", "number", "revision", "name"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "number": {"type": "string"},
                    "revision": {"type": "integer"},
                    "name": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem_response("unauthenticated: no valid bearer token"),
    403: _problem_response("forbidden: the user's role or ownership does not allow this"),
    404: _problem_response("not_found: no record with an id in the path"),
    409: _problem_response("refused by a rule: invalid_transition, active_quotes_block_close, …"),
    412: _problem_response("precondition_failed: If-Match does not match the current ETag"),
    413: _problem_response("payload_too_large: body over 1 MiB"),
    422: _problem_response("validation_error (errors name each field) or idempotency_key_reused"),
    503: _problem_response("busy or database_unavailable: send the request again after Retry-After seconds"),
}
"""Every API route may answer these problems (RFC 9457); declared so the OpenAPI document is true."""


def problem(status: int, code: str, title: str, detail: str, **extensions: Any) -> JSONResponse:
    body = {"type": f"urn:dealdesk:problem:{code}", "title": title, "status": status, "detail": detail, "code": code}
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def domain_problem(error: DomainError) -> JSONResponse:
    response = problem(STATUS_OF_CODE.get(error.code, 409), error.code, error.title, error.detail, **error.extensions())
    if isinstance(error, RetryLater):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def field_name(location: Sequence[int | str]) -> str:
    """('body', 'lines', 0, 'quantity') -> 'lines[0].quantity'; ('query', 'limit') -> 'limit'."""
    parts = list(location[1:]) if location and location[0] in ("body", "query", "path", "header") else list(location)
    if not parts:
        return str(location[0]) if location else "body"
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "missing":
        return "is required"
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


def install(app: FastAPI, check_before_input: Callable[[Request], None]) -> None:
    """Register the handlers. `check_before_input(request)` raises what the request's route checks before its input
    (NotFound, Forbidden): an input fault reported first is answered with that instead (SPEC §7: 404, then 403,
    before 422)."""

    async def checked_before_input(request: Request) -> JSONResponse | None:
        try:
            await run_in_threadpool(check_before_input, request)
        except DomainError as refusal:
            return domain_problem(refusal)
        return None

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        if isinstance(error, ValidationFailed):
            return await checked_before_input(request) or domain_problem(error)
        return domain_problem(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        if any(e.get("loc", ("",))[0] == "path" for e in errors):
            return problem(404, "not_found", "Not found", "No such record")
        refusal = await checked_before_input(request)
        if refusal is not None:
            return refusal
        fields = [
            {
                "field": "body" if e.get("type") == "json_invalid" else field_name(e.get("loc", ())),
                "message": _message(e),
            }
            for e in errors
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(422, "validation_error", "Invalid input", detail, errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(error.status_code, ("http_error", "Error"))
        if error.status_code == 400:  # a body FastAPI could not even read is an input fault
            refusal = await checked_before_input(request)
            if refusal is not None:
                return refusal
            return problem(422, code, title, str(error.detail), errors=[{"field": "body", "message": "is not valid"}])
        return problem(error.status_code, code, title, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        retry_later = as_retry_later(error)  # a database failure outside a unit of work's transaction
        if retry_later is not None:
            return domain_problem(retry_later)
        log.exception("unexpected error", exc_info=error)
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side; nothing was changed")
