"""A save's writes as data, and the plain way to send them: ordinary SQLAlchemy Core, at once.

A repository's `save` lists what it writes (rows to insert, rows to update by id, rows to delete, an idempotency
answer to keep) and hands the list to `send` before it returns, so every write is in the database, visible to the
transaction's next statement, when the call returns. On PostgreSQL the close's saves go to db/hot_path.py instead,
which sends the same list in one round trip."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import Insert

from dealdesk.db import tables as t
from dealdesk.services.ports import KeptAnswer

IDEMPOTENCY_TTL = timedelta(hours=24)
KEY = "pk_"
"""The primary-key parameter of an UPDATE by id (a column's own name is taken by its SET clause)."""


class WriteKind(enum.Enum):
    INSERT = "insert"
    UPDATE = "update"
    """`row` holds `id` and the columns that change."""
    DELETE = "delete"
    """`row` holds one column and the value of the rows to delete."""
    KEEP_ANSWER = "keep answer"
    """`row` is an idempotency answer (`answer_write`): stored unless a live answer of the same key is there."""


@dataclass(frozen=True)
class Write:
    kind: WriteKind
    table: Table
    row: Mapping[str, Any]

    @property
    def shape(self) -> tuple[WriteKind, str, tuple[str, ...]]:
        """Writes of the same shape go out as one statement with many rows."""
        return self.kind, self.table.name, tuple(self.row)


def inserts(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[Write]:
    return [Write(WriteKind.INSERT, table, row) for row in rows]


def update_by_id(table: Table, row_id: Any, changes: Mapping[str, Any]) -> Write:
    return Write(WriteKind.UPDATE, table, {"id": row_id, **changes})


def answer_write(kept: KeptAnswer) -> Write:
    return Write(
        WriteKind.KEEP_ANSWER,
        t.idempotency_keys,
        {
            "user_id": kept.request.user_id,
            "scope": kept.request.scope,
            "key": kept.request.key,
            "fingerprint": kept.request.fingerprint,
            "status_code": kept.answer.status_code,
            "body": kept.answer.body,
            "created_at": kept.at,
            "stale_before": kept.at - IDEMPOTENCY_TTL,
        },
    )


Steps = Sequence[Sequence[Write]]
"""A save's writes in steps: the writes of one step are independent of one another and may refer only to rows
written by earlier steps (quotes before their lines, a deal's update before its close record)."""


def grouped(steps: Steps) -> Iterator[tuple[Write, list[Mapping[str, Any]]]]:
    """Step by step, each step's writes by shape, each shape with its rows in their order."""
    for step in steps:
        groups: dict[tuple[WriteKind, str, tuple[str, ...]], tuple[Write, list[Mapping[str, Any]]]] = {}
        for write in step:
            group = groups.get(write.shape)
            if group is None:
                groups[write.shape] = (write, [write.row])
            else:
                group[1].append(write.row)
        yield from groups.values()


def merged(many: Sequence[Steps]) -> list[list[Write]]:
    """The steps of several saves as one, step by step: each deal's writes keep their order, and rows of the same
    shape from many deals go out together."""
    steps: list[list[Write]] = []
    for one in many:
        for index, step in enumerate(one):
            if index == len(steps):
                steps.append([])
            steps[index].extend(step)
    return steps


def keep_answer(dialect: Dialect) -> Insert:
    """Store an answer under its key in one statement: a row of the same key that has expired gives way to it, a
    live one (a concurrent request that answered first) stays."""
    insert_into = (postgresql if dialect.name == "postgresql" else sqlite).insert(t.idempotency_keys)
    c = t.idempotency_keys.c
    upsert: Insert = insert_into.on_conflict_do_update(
        index_elements=[c.user_id, c.scope, c.key],
        set_={name: insert_into.excluded[name] for name in ("fingerprint", "status_code", "body", "created_at")},
        where=c.created_at <= bindparam("stale_before", type_=c.created_at.type),
    )
    return upsert


def statement_for(write: Write, dialect: Dialect) -> Any:
    """The Core statement that runs a write of this shape, given its row as parameters."""
    table = write.table
    if write.kind is WriteKind.INSERT:
        return insert(table)
    if write.kind is WriteKind.UPDATE:
        return update(table).where(table.c.id == bindparam(KEY))
    if write.kind is WriteKind.DELETE:
        (column,) = write.row
        return delete(table).where(table.c[column] == bindparam(column))
    return keep_answer(dialect)


def parameters(write: Write, row: Mapping[str, Any]) -> dict[str, Any]:
    if write.kind is WriteKind.UPDATE:
        return {(KEY if name == "id" else name): value for name, value in row.items()}
    return dict(row)


def send(conn: Connection, steps: Steps) -> None:
    """Each step's shapes, each as one executemany through SQLAlchemy, now."""
    for first, rows in grouped(steps):
        conn.execute(statement_for(first, conn.dialect), [parameters(first, row) for row in rows])
