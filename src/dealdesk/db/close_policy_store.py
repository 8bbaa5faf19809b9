"""The close policy's one row: read by every close in its own transaction, written by a manager."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import hot_path
from dealdesk.db import tables as t
from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy

_c = t.close_policy.c
_FIELDS = (
    "require_close_reason_won",
    "require_close_reason_lost",
    "require_competitor_when_out_sold",
    "require_description_when_lost",
)


def policy_from(rows: Sequence[Mapping[Any, Any]]) -> ClosePolicy:
    """The policy its row holds (hot_path.CLOSE_POLICY)."""
    if not rows:
        return NO_POLICY
    return ClosePolicy(**{name: bool(rows[0][name]) for name in _FIELDS})


class SqlClosePolicy:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def get(self) -> ClosePolicy:
        """The policy in force; without its row, nothing is required."""
        return policy_from(hot_path.read(self._conn(), hot_path.CLOSE_POLICY, {}))  # read by every close

    def save(self, policy: ClosePolicy, *, at: datetime) -> None:
        conn = self._conn()
        values = {name: getattr(policy, name) for name in _FIELDS}
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.close_policy).values(id=1, updated_at=at, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=[_c.id], set_={"updated_at": at, **values}))
