"""Report aggregates in SQL: one grouped scan of the standing close records (see domain/reporting.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Integer, String, cast, func, select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.domain.reporting import CloseGroup
from dealdesk.domain.states import OpportunityStatus, Outcome

_c = t.opportunity_closes.c


class SqlReports:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def _filters(self, where: Any, *, standing: bool) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [_c.reopened_at.is_(None) if standing else _c.reopened_at.is_not(None)]
        if where.date_from is not None:
            conditions.append(_c.close_date >= where.date_from)
        if where.date_to is not None:
            conditions.append(_c.close_date <= where.date_to)
        if where.owner_id is not None:
            conditions.append(_c.owner_id == where.owner_id)
        if where.account_id is not None:
            conditions.append(_c.account_id == where.account_id)
        return conditions

    def standing_counts_by_currency(self, where: Any) -> dict[str, int]:
        query = select(_c.currency, func.count()).where(*self._filters(where, standing=True)).group_by(_c.currency)
        return {currency: count for currency, count in self._conn().execute(query)}

    def close_groups(self, where: Any, currency: str) -> list[CloseGroup]:
        conn = self._conn()
        if conn.dialect.name == "postgresql":
            month: ColumnElement[str] = func.to_char(_c.close_date, "YYYY-MM")
            days: ColumnElement[int] = cast(_c.close_date - _c.opportunity_created_on, Integer)
        else:
            month = cast(func.strftime("%Y-%m", _c.close_date), String)
            days = cast(func.julianday(_c.close_date) - func.julianday(_c.opportunity_created_on), Integer)
        month_label = month.label("month")
        query = (
            select(
                _c.outcome,
                _c.status_reason,
                _c.close_reason_id,
                _c.competitor_id,
                month_label,
                func.count().label("closes"),
                func.sum(_c.actual_revenue).label("revenue"),
                func.sum(days).label("days"),
            )
            .where(_c.currency == currency, *self._filters(where, standing=True))
            .group_by(_c.outcome, _c.status_reason, _c.close_reason_id, _c.competitor_id, month_label)
        )
        return [
            CloseGroup(
                outcome=Outcome(row.outcome),
                status_reason=OpportunityStatus(row.status_reason),
                close_reason_id=row.close_reason_id,
                competitor_id=row.competitor_id,
                month=row.month,
                count=row.closes,
                revenue=row.revenue,
                days_to_close=int(row.days),
            )
            for row in conn.execute(query)
        ]

    def reopened_count(self, where: Any, currency: str) -> int:
        query = select(func.count()).where(_c.currency == currency, *self._filters(where, standing=False))
        return int(self._conn().execute(query).scalar_one())

    def close_reason_names(self, ids: set[UUID]) -> dict[UUID, tuple[str, Outcome]]:
        if not ids:
            return {}
        query = select(t.close_reasons.c.id, t.close_reasons.c.name, t.close_reasons.c.outcome).where(
            t.close_reasons.c.id.in_(ids)
        )
        return {row.id: (row.name, Outcome(row.outcome)) for row in self._conn().execute(query)}

    def competitor_names(self, ids: set[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        query = select(t.competitors.c.id, t.competitors.c.name).where(t.competitors.c.id.in_(ids))
        return {row.id: row.name for row in self._conn().execute(query)}
