"""SQL read models for screens (see services/views.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.mapping import opportunity_from
from dealdesk.db.opportunity_store import matching
from dealdesk.db.stores import expired_quotes
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.states import QuoteState
from dealdesk.services.ports import OpportunityFilter

_opp = t.opportunities
SORT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "created_at": _opp.c.created_at,
    "name": func.lower(_opp.c.name),
    "account": func.lower(t.accounts.c.name),
    "estimated_revenue": _opp.c.estimated_revenue,
    "close_date": func.coalesce(_opp.c.actual_close_date, _opp.c.estimated_close_date),
    "state": _opp.c.state,
}
"""What each sort key orders by; an unknown key is a programming error (KeyError)."""


def _matching(where: OpportunityFilter, conn: Connection) -> Select[Any]:
    """The same filters as the opportunity list of the API, with the account joined in for sorting."""
    return select(_opp).join(t.accounts, t.accounts.c.id == _opp.c.account_id).where(*matching(where, conn))


class SqlViews:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def names_of_users(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        rows = self._conn().execute(select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(set(ids))))
        return {row.id: row.name for row in rows}

    def names_of_opportunities(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        rows = self._conn().execute(select(_opp.c.id, _opp.c.name).where(_opp.c.id.in_(set(ids))))
        return {row.id: row.name for row in rows}

    def account_names(self) -> dict[UUID, str]:
        return self._names(t.accounts.c.id, t.accounts.c.name)

    def accounts_matching(self, q: str, *, limit: int) -> dict[UUID, str]:
        name = t.accounts.c.name
        pattern = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        starts_first = case((func.lower(name).like(pattern + "%", escape="\\"), 0), else_=1)
        query = (
            select(t.accounts.c.id, name)
            .where(func.lower(name).like("%" + pattern + "%", escape="\\"))
            .order_by(starts_first, func.lower(name), t.accounts.c.id)
            .limit(limit)
        )
        return {row[0]: row[1] for row in self._conn().execute(query)}

    def competitor_names(self) -> dict[UUID, str]:
        return self._names(t.competitors.c.id, t.competitors.c.name)

    def close_reason_names(self) -> dict[UUID, str]:
        return self._names(t.close_reasons.c.id, t.close_reasons.c.name)

    def _names(self, id_column: ColumnElement[UUID], name_column: ColumnElement[str]) -> dict[UUID, str]:
        rows = self._conn().execute(select(id_column, name_column).order_by(func.lower(name_column), id_column))
        return {row[0]: row[1] for row in rows}

    def opportunities_sorted(
        self, where: OpportunityFilter, *, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[Sequence[Opportunity], int]:
        conn = self._conn()
        query = _matching(where, conn)
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        key = SORT_COLUMNS[sort]
        order = [key.desc().nulls_last() if descending else key.asc().nulls_last()]
        order += [_opp.c.created_at.desc(), _opp.c.id.desc()]
        rows = conn.execute(query.order_by(*order).offset(offset).limit(limit))
        return [opportunity_from(row) for row in rows], total

    def active_quote_counts(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        if not ids:
            return {}
        q = t.quotes.c
        query = (
            select(q.opportunity_id, func.count())
            .where(q.opportunity_id.in_(set(ids)), q.state == QuoteState.ACTIVE.value)
            .group_by(q.opportunity_id)
        )
        return {row[0]: row[1] for row in self._conn().execute(query)}

    def expired_quote_counts(self, ids: Sequence[UUID], today: date) -> dict[UUID, int]:
        if not ids:
            return {}
        q = t.quotes.c
        query = (
            select(q.opportunity_id, func.count())
            .where(q.opportunity_id.in_(set(ids)), expired_quotes(True, today))
            .group_by(q.opportunity_id)
        )
        return {row[0]: row[1] for row in self._conn().execute(query)}
