"""Summing a month of closes once it is over (services/housekeeping.py says when): its standing closes grouped as
the report groups them, and its quotes lost to a competitor by the owner of their deal (db/reports.py reads the
sums), in one short transaction per month.

Several servers may sum the same month at once: each first writes the month's row in `close_summary_months`, which
holds the others back until it commits, so a month's sums are never written twice. The month's stale mark is cleared
before its closes are read, so a close written meanwhile leaves the mark behind and the month is summed again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.reports import days_open
from dealdesk.domain.months import following, months_from

_c = t.opportunity_closes.c
_months = t.close_summary_months.c
_stale = t.close_summary_stale.c


class SqlCloseSummaries:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def months_to_sum(self, *, before: date) -> list[date]:
        """Months before `before` that hold close records and have no sums, or stale ones, oldest first."""
        conn = self._conn()
        q = t.quotes.c
        first_lost = select(func.min(q.closed_on)).where(q.status_reason == "lost", q.competitor_id.is_not(None))
        starts = [conn.execute(select(func.min(_c.close_date))).scalar_one(), conn.execute(first_lost).scalar_one()]
        first = min((start for start in starts if start is not None), default=None)
        if first is None:
            return []
        summed = set(conn.execute(select(_months.month).where(_months.month < before)).scalars())
        stale = set(conn.execute(select(_stale.month).where(_stale.month < before)).scalars())
        return [month for month in months_from(first, before) if month not in summed or month in stale]

    def sum_month(self, month: date, *, at: datetime) -> None:
        conn = self._conn()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        claim = dialect.insert(t.close_summary_months).values(month=month, summarised_at=at)
        conn.execute(claim.on_conflict_do_update(index_elements=[_months.month], set_={"summarised_at": at}))
        conn.execute(delete(t.close_summary_stale).where(_stale.month == month))
        conn.execute(delete(t.close_summaries).where(t.close_summaries.c.month == month))
        conn.execute(delete(t.close_owner_summaries).where(t.close_owner_summaries.c.month == month))
        conn.execute(delete(t.quote_loss_summaries).where(t.quote_loss_summaries.c.month == month))
        standing = (_c.reopened_at.is_(None), _c.close_date >= month, _c.close_date < following(month))
        keys = (_c.currency, _c.outcome, _c.status_reason, _c.close_reason_id, _c.competitor_id)
        the_month = literal(month, t.close_summary_months.c.month.type)
        grouped = (
            select(the_month, *keys, func.count(), func.sum(_c.actual_revenue))
            .add_columns(func.sum(days_open(conn.dialect.name)))
            .where(*standing)
            .group_by(*keys)
        )
        columns = ["month", *(key.name for key in keys), "closes", "revenue", "days"]
        conn.execute(insert(t.close_summaries).from_select(columns, grouped))
        owner_keys = (_c.currency, _c.outcome, _c.owner_id)
        by_owner = (
            select(the_month, *owner_keys, func.count())
            .add_columns(func.sum(_c.actual_revenue))
            .where(*standing)
            .group_by(*owner_keys)
        )
        owner_columns = ["month", *(key.name for key in owner_keys), "closes", "revenue"]
        conn.execute(insert(t.close_owner_summaries).from_select(owner_columns, by_owner))
        q, o = t.quotes.c, t.opportunities.c
        quote_keys = (q.currency, q.competitor_id, o.owner_id)
        lost = (
            select(the_month, *quote_keys, func.count(), func.sum(q.total_amount))
            .select_from(t.quotes.join(t.opportunities, o.id == q.opportunity_id))
            .where(q.status_reason == "lost", q.competitor_id.is_not(None))
            .where(q.closed_on >= month, q.closed_on < following(month))
            .group_by(*quote_keys)
        )
        quote_columns = ["month", "currency", "competitor_id", "owner_id", "quotes", "amount"]
        conn.execute(insert(t.quote_loss_summaries).from_select(quote_columns, lost))
