"""Report aggregates in SQL: grouped scans of the standing close records (see domain/reporting.py).

Each scan has a partial index of its own (migrations 0004 and 0005). On PostgreSQL the currency and close-date one
carries every column the report reads, so a whole-company report reads no table rows; one owner's or one account's
closes are fetched by theirs. The report's transaction plans without JIT compilation, with room to hash its groups
and with worker processes for the large scans."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, DateTime, Integer, String, cast, func, literal, null, select, union_all
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.domain.reporting import CloseGroup, MonthGroup, OwnerGroup, QuoteLossGroup, ReasonGroup
from dealdesk.domain.states import OpportunityStatus, Outcome

_c = t.opportunity_closes.c


POSTGRESQL_REPORT_SETTINGS = select(
    func.set_config("jit", "off", True),
    func.set_config("work_mem", "32MB", True),
    func.set_config("random_page_cost", "1.1", True),
    func.set_config("parallel_setup_cost", "100", True),
    func.set_config("parallel_tuple_cost", "0.01", True),
)
"""Planner settings for the report's own transaction (`set_config(…, is_local => true)`), each measured with
bench/report_bench.py: JIT compilation costs ~200 ms up front, more than it saves on a million rows; with the default
4 MB of work_mem the groups are sorted on disk instead of hashed in memory; at the default random_page_cost the
planner reads the whole table rather than the far smaller covering index once a range holds more than a few percent
of the closes (an index that is all-visible is read in order, like the table); and at the default parallel costs it
never splits the grouped scan over worker processes, though on 630,000 closes two workers cut it from ~300 to
~190 ms (the workers hash their share, the leader merges a few thousand groups)."""


class SqlReports:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def _connection(self) -> Connection:
        conn = self._conn()
        if conn.dialect.name == "postgresql":
            conn.execute(POSTGRESQL_REPORT_SETTINGS)
        return conn

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
        conn = self._connection()
        if conn.dialect.name == "postgresql" and where.owner_id is None and where.account_id is None:
            return {currency: count for currency, count in conn.execute(_counts_one_currency_at_a_time(where)) if count}
        query = select(_c.currency, func.count()).where(*self._filters(where, standing=True)).group_by(_c.currency)
        return {currency: count for currency, count in conn.execute(query)}

    def close_groups(self, where: Any, currency: str) -> list[CloseGroup]:
        """One grouped scan of the closes, regrouped in the database two ways (see domain/reporting.py): the
        thousands of fine groups stay there, a few hundred rows come back."""
        conn = self._connection()
        if conn.dialect.name == "postgresql":
            # date_trunc on a plain timestamp: no time zone arithmetic, and far cheaper per row than to_char.
            month: ColumnElement[Any] = func.date_trunc("month", cast(_c.close_date, DateTime()))
            days: ColumnElement[int] = cast(_c.close_date - _c.opportunity_created_on, Integer)
        else:
            month = cast(func.strftime("%Y-%m", _c.close_date), String)
            days = cast(func.julianday(_c.close_date) - func.julianday(_c.opportunity_created_on), Integer)
        keys = (_c.outcome, _c.status_reason, _c.close_reason_id, _c.competitor_id, month.label("month"))
        fine = (
            select(*keys, func.count().label("closes"), func.sum(_c.actual_revenue).label("revenue"))
            .add_columns(func.sum(days).label("days"))
            .where(_c.currency == currency, *self._filters(where, standing=True))
            .group_by(*keys)
            .cte("fine")
        )
        f = fine.c
        totals = (func.sum(f.closes).label("closes"), func.sum(f.revenue).label("revenue"))
        by_reason = select(literal("reason").label("kind"), f.status_reason, f.close_reason_id, f.competitor_id)
        by_reason = by_reason.add_columns(
            null().label("outcome"), null().label("month"), *totals, func.sum(f.days).label("days")
        )
        by_month = select(literal("month"), null(), null(), null(), f.outcome, f.month, *totals, null())
        query = union_all(
            by_reason.group_by(f.status_reason, f.close_reason_id, f.competitor_id),
            by_month.group_by(f.outcome, f.month),
        )
        groups: list[CloseGroup] = []
        for row in conn.execute(query):
            if row.kind == "reason":
                status = OpportunityStatus(row.status_reason)
                days_total = int(row.days)
                groups.append(
                    ReasonGroup(status, row.close_reason_id, row.competitor_id, row.closes, row.revenue, days_total)
                )
            else:
                groups.append(MonthGroup(Outcome(row.outcome), _month_text(row.month), row.closes, row.revenue))
        return groups

    def owner_groups(self, where: Any, currency: str) -> list[OwnerGroup]:
        """The standing closes by outcome and owner: a second scan of the covering index (migration 0012 added
        `owner_id` to it), a hundred groups or so. Folding the owner into the grouped scan above would multiply its
        groups by the number of owners, and grouping sets are not split over worker processes."""
        query = (
            select(_c.outcome, _c.owner_id, func.count().label("closes"), func.sum(_c.actual_revenue).label("revenue"))
            .where(_c.currency == currency, *self._filters(where, standing=True))
            .group_by(_c.outcome, _c.owner_id)
        )
        return [
            OwnerGroup(Outcome(row.outcome), row.owner_id, row.closes, row.revenue)
            for row in self._connection().execute(query)
        ]

    def quote_losses(self, where: Any, currency: str) -> list[QuoteLossGroup]:
        """Quotes closed as lost to a competitor, `closed_on` in the range, in the currency (the quote keeps its
        deal's); owner and account filters apply through the deal (SPEC §11). Without them the sums come from the
        partial (currency, closed_on) index alone."""
        q, o = t.quotes.c, t.opportunities.c
        conditions: list[ColumnElement[bool]] = [
            q.status_reason == "lost",
            q.competitor_id.is_not(None),
            q.currency == currency,
        ]
        if where.date_from is not None:
            conditions.append(q.closed_on >= where.date_from)
        if where.date_to is not None:
            conditions.append(q.closed_on <= where.date_to)
        source: Any = t.quotes
        if where.owner_id is not None or where.account_id is not None:
            source = t.quotes.join(t.opportunities, o.id == q.opportunity_id)
            if where.owner_id is not None:
                conditions.append(o.owner_id == where.owner_id)
            if where.account_id is not None:
                conditions.append(o.account_id == where.account_id)
        query = (
            select(q.competitor_id, func.count().label("quotes"), func.sum(q.total_amount).label("amount"))
            .select_from(source)
            .where(*conditions)
            .group_by(q.competitor_id)
        )
        return [QuoteLossGroup(row.competitor_id, row.quotes, row.amount) for row in self._connection().execute(query)]

    def user_names(self, ids: set[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        query = select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(ids))
        return {row.id: row.name for row in self._conn().execute(query)}

    def reopened_count(self, where: Any, currency: str) -> int:
        query = select(func.count()).where(_c.currency == currency, *self._filters(where, standing=False))
        return int(self._connection().execute(query).scalar_one())

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


def _counts_one_currency_at_a_time(where: Any) -> Any:
    """Standing closes in the date range, counted per currency on the slim (currency, close date) index: the
    currencies are found by skipping from one to the next (a handful of index look-ups, whatever the range), then
    each currency's range is counted from the index alone. PostgreSQL 15 has no skip scan; a plain GROUP BY over a
    range with no currency in it reads a close-date index and hashes every entry, ~70 ms over the whole history of
    a million closes against ~40 ms here."""
    closes = t.opportunity_closes
    first = select(func.min(_c.currency).label("currency")).where(_c.reopened_at.is_(None))
    currencies = first.cte("currencies", recursive=True)
    later = closes.alias("later")
    following = select(func.min(later.c.currency)).where(
        later.c.reopened_at.is_(None), later.c.currency > currencies.c.currency
    )
    currencies = currencies.union_all(select(following.scalar_subquery()).where(currencies.c.currency.is_not(None)))
    counted = closes.alias("counted")
    conditions = [counted.c.reopened_at.is_(None), counted.c.currency == currencies.c.currency]
    if where.date_from is not None:
        conditions.append(counted.c.close_date >= where.date_from)
    if where.date_to is not None:
        conditions.append(counted.c.close_date <= where.date_to)
    count = select(func.count()).where(*conditions).scalar_subquery()
    return select(currencies.c.currency, count).where(currencies.c.currency.is_not(None))


def _month_text(month: str | datetime) -> str:
    """`YYYY-MM`: PostgreSQL answers the first moment of the month, SQLite the text itself."""
    return month if isinstance(month, str) else f"{month:%Y-%m}"
