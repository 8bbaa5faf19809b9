"""The close policy's one row: read by every close in its own transaction, written by a manager."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.direct import Direct
from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy

_c = t.close_policy.c
_GET = Direct(
    select(
        _c.require_close_reason_won,
        _c.require_close_reason_lost,
        _c.require_competitor_when_out_sold,
        _c.require_description_when_lost,
    ).where(_c.id == 1)
)
"""A primary-key read of one short row, compiled once: the only statement the policy adds to a close."""
_FIELDS = (
    "require_close_reason_won",
    "require_close_reason_lost",
    "require_competitor_when_out_sold",
    "require_description_when_lost",
)


class SqlClosePolicy:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def get(self) -> ClosePolicy:
        """The policy in force; without its row, nothing is required."""
        row = _GET.first(self._conn(), {})
        if row is None:
            return NO_POLICY
        return ClosePolicy(**{name: bool(row._mapping[name]) for name in _FIELDS})

    def save(self, policy: ClosePolicy, *, at: datetime) -> None:
        conn = self._conn()
        values = {name: getattr(policy, name) for name in _FIELDS}
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.close_policy).values(id=1, updated_at=at, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=[_c.id], set_={"updated_at": at, **values}))
