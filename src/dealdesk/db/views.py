"""SQL read models for screens (see services/views.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t


class SqlViews:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def names_of_users(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        rows = self._conn().execute(select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(set(ids))))
        return {row.id: row.name for row in rows}
