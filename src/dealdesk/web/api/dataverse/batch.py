"""`POST $batch`: several operations in one multipart/mixed request, as "Execute batch operations using the Web API"
describes (learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api):

- each part is an `application/http` request (its URL absolute, or relative to the service root) answered by the
  same code as a plain request (service.handle), as the signed-in user of the batch;
- a changeset (a nested multipart/mixed part) runs its operations in order in one transaction: the first failure
  rolls the changeset back and is its only answer;
- without `Prefer: odata.continue-on-error` the batch stops at the first failure; with it, it goes on;
- the answer is 200 multipart/mixed with one `application/http` response per operation (a changeset's inside a
  nested multipart), each carrying its Content-ID when the request had one;
- a deadlock or serialisation failure is answered 503 with Retry-After, never 500 (SPEC §10).

Parts are read with the standard library's MIME parser, which accepts CRLF (Microsoft's client) and bare LF line
ends (dataverse-api) alike."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl, urlsplit
from uuid import uuid4

from sqlalchemy.exc import DBAPIError

from dealdesk.domain.errors import ValidationFailed
from dealdesk.services.changesets import changeset
from dealdesk.web.api.dataverse.envelope import DataverseFault, error_body
from dealdesk.web.api.dataverse.query import preferences
from dealdesk.web.api.dataverse.records import SERVICE_PATH
from dealdesk.web.api.dataverse.service import Answer, Call, Context, handle, json_answer

MAX_OPERATIONS: Final = 1000
"""Dataverse's own limit on the requests in one batch."""
RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
"""Serialisation failure and deadlock (PostgreSQL): the changeset may simply be sent again."""


@dataclass(frozen=True)
class Operation:
    call: Call
    content_id: str | None


def run(ctx: Context, content_type: str, body: bytes, prefer_header: str | None) -> Answer:
    if not content_type.lower().startswith("multipart/mixed") or "boundary=" not in content_type.lower():
        raise DataverseFault(400, "validation_error", "A $batch request must be multipart/mixed with a boundary.")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise DataverseFault(400, "validation_error", "The $batch body has no parts.")
    items = list(_items(message))
    if sum(len(item) if isinstance(item, list) else 1 for item in items) > MAX_OPERATIONS:
        raise DataverseFault(400, "validation_error", f"A batch may hold at most {MAX_OPERATIONS} operations.")
    go_on = preferences(prefer_header).continue_on_error
    boundary = f"batchresponse_{uuid4()}"
    parts: list[bytes] = []
    for item in items:
        if isinstance(item, list):
            answers = _changeset(ctx, item)
            failed = any(answer.status >= 400 for _, answer in answers)
            if failed:  # OData 4.0 §11.7.4: a failed change set is answered by its one failure, not a change set
                [(content_id, failure)] = answers
                parts.append(_http_part(boundary, failure, content_id))
            else:
                parts.append(_changeset_part(boundary, answers))
        else:
            answer = handle(ctx, item.call)
            parts.append(_http_part(boundary, answer, item.content_id))
            failed = answer.status >= 400
        if failed and not go_on:
            break
    payload = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return Answer(200, payload, f"multipart/mixed; boundary={boundary}", {"OData-Version": "4.0"})


def _items(message: Message) -> Iterator[Operation | list[Operation]]:
    for part in message.get_payload():
        assert isinstance(part, Message)
        if part.get_content_type() == "multipart/mixed":
            yield [_operation(inner) for inner in part.get_payload() if isinstance(inner, Message)]
        else:
            yield _operation(part)


def _operation(part: Message) -> Operation:
    if part.get_content_type() != "application/http":
        raise DataverseFault(400, "validation_error", "Each $batch part must be application/http or a changeset.")
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = [line for line in head.split("\n") if line.strip()] if head.strip() else []
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise DataverseFault(400, "validation_error", "A $batch part holds no request.")
    request_line = lines[0].split()
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        raise DataverseFault(400, "validation_error", f"'{lines[0]}' is not an HTTP request line.")
    method, url, _ = request_line
    headers = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    path, params = _target(url)
    return Operation(Call(method.upper(), path, params, headers, body.strip().encode()), part.get("Content-ID"))


def _target(url: str) -> tuple[str, dict[str, str]]:
    """The path after the service root and the query of an inner request's URL (absolute, or relative to the
    service root)."""
    if url.startswith("$"):
        raise DataverseFault(
            400, "validation_error", "Content-ID references name created records; dealdesk creates none here."
        )
    parts = urlsplit(url)
    path = parts.path
    marker = f"{SERVICE_PATH}/"
    if marker in path:
        path = path.split(marker, 1)[1]
    elif path.startswith("/"):
        raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{path}'.")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "$batch" in path.split("/")[0]:
        raise DataverseFault(400, "validation_error", "A $batch cannot contain another $batch.")
    return path, params


class _RolledBack(Exception):
    def __init__(self, answer: Answer, content_id: str | None) -> None:
        super().__init__("changeset rolled back")
        self.answer = answer
        self.content_id = content_id


def _changeset(ctx: Context, operations: list[Operation]) -> list[tuple[str | None, Answer]]:
    answers: list[tuple[str | None, Answer]] = []
    try:
        with changeset(ctx.uow) as joined:
            inner = Context(joined, ctx.actor, ctx.settings, ctx.links)
            for operation in operations:
                answer = handle(inner, operation.call)
                if answer.status >= 400:
                    raise _RolledBack(answer, operation.content_id)
                answers.append((operation.content_id, answer))
    except _RolledBack as failure:
        return [(failure.content_id, failure.answer)]
    except DBAPIError as error:
        state = getattr(error.orig, "sqlstate", None)
        if state not in RETRYABLE_SQLSTATES:
            raise
        busy = json_answer(
            503,
            error_body("busy", "The changeset met a concurrent change and was rolled back; send it again."),
            {"Retry-After": "1"},
        )
        return [(None, busy)]
    except ValidationFailed:  # pragma: no cover - handle() answers every refusal itself
        raise
    return answers


def _http_part(boundary: str, answer: Answer, content_id: str | None) -> bytes:
    head = [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    lines = [f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
    if answer.media_type is not None:
        lines.append(f"Content-Type: {answer.media_type}")
    lines.extend(f"{name}: {value}" for name, value in answer.headers.items())
    text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    return text.encode() + answer.body + b"\r\n"


def _changeset_part(boundary: str, answers: list[tuple[str | None, Answer]]) -> bytes:
    inner = f"changesetresponse_{uuid4()}"
    body = b"".join(_http_part(inner, answer, content_id) for content_id, answer in answers)
    head = f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode()
    return head + body + f"--{inner}--\r\n".encode()
