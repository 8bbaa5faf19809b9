"""Keyset pagination with opaque cursors: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Row, Select, bindparam, tuple_
from sqlalchemy.engine import Connection

from dealdesk.domain.errors import ValidationFailed
from dealdesk.services.ports import Page

T = TypeVar("T")
Key = tuple[ColumnElement[Any], Callable[[Any], Any]]
"""A sort column and how to read its value back from a cursor."""


_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_INT32 = 2**31


def as_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None or not _EARLIEST <= parsed <= _LATEST:
        raise ValueError("cursor time out of range")
    return parsed.astimezone(UTC)


def as_int(value: Any) -> int:
    """Cursor integers are positions and revisions: they fit in 32 bits on every engine."""
    if not isinstance(value, int) or isinstance(value, bool) or not -_INT32 <= value < _INT32:
        raise ValueError("not a small int")
    return value


def as_uuid(value: Any) -> UUID:
    return UUID(str(value))


def as_str(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or len(value) > 400:
        raise ValueError("not a cursor string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not UTF-8") from exc
    return value


def _encode(values: Sequence[Any]) -> str:
    plain = [v if isinstance(v, int) else v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    bad = ValidationFailed.field("cursor", "is not a cursor this list gave out")
    try:
        raw = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise bad
        return [parse(value) for (_, parse), value in zip(keys, raw, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise bad from exc


def page(
    conn: Connection,
    query: Select[Any],
    *,
    keys: Sequence[Key],
    descending: bool,
    limit: int,
    cursor: str | None,
    to_item: Callable[[Row[Any]], T],
) -> Page[T]:
    """Rows after the cursor in key order; one row more than asked tells whether a next page exists."""
    columns = [column for column, _ in keys]
    if cursor is not None:
        values = [bindparam(None, v, type_=c.type) for c, v in zip(columns, _decode(cursor, keys), strict=True)]
        query = query.where(tuple_(*columns) < tuple_(*values) if descending else tuple_(*columns) > tuple_(*values))
    order = [column.desc() if descending else column.asc() for column in columns]
    rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode([rows[-1]._mapping[c] for c in columns]) if more and rows else None
    return Page(items=[to_item(row) for row in rows], next_cursor=next_cursor)
