"""Report aggregates in SQL: grouped scans of the standing close records (see domain/reporting.py).

Each scan has a partial index of its own (migrations 0004 and 0005). On PostgreSQL the currency and close-date one
carries every column the report reads, so a whole-company report reads no table rows; one owner's or one account's
closes are fetched by theirs. The report's transaction plans without JIT compilation, with room to hash its groups
and with worker processes for the large scans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    Uuid,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.domain.months import DateRange, left_over, lies_within
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


_SETTINGS_MADE_FOR = "dealdesk.report_settings_made_for"
"""Where a connection remembers the transaction its report settings were made in (they last as long as it does)."""


class SqlReports:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection
        self._last_split: tuple[tuple[object, Any, bool], SummarySplit] | None = None
        """The split of the report at hand: its four scans ask for it within one transaction."""
        self._folded_owners: tuple[tuple[object, Any, str], list[OwnerGroup]] | None = None
        """One owner's or one account's owners, grouped by the last `close_groups`."""

    def _connection(self) -> Connection:
        """The transaction's connection, with the report's planner settings made once per transaction."""
        conn = self._conn()
        if conn.dialect.name == "postgresql" and conn.info.get(_SETTINGS_MADE_FOR) is not conn.get_transaction():
            conn.execute(POSTGRESQL_REPORT_SETTINGS)
            conn.info[_SETTINGS_MADE_FOR] = conn.get_transaction()
        return conn

    def _filters(self, where: Any, *, standing: bool) -> list[ColumnElement[bool]]:
        return self._range_filters(where, (where.date_from, where.date_to), standing=standing)

    def _range_filters(self, where: Any, days: DateRange, *, standing: bool) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [_c.reopened_at.is_(None) if standing else _c.reopened_at.is_not(None)]
        date_from, date_to = days
        if date_from is not None:
            conditions.append(_c.close_date >= date_from)
        if date_to is not None:
            conditions.append(_c.close_date <= date_to)
        if where.owner_id is not None:
            conditions.append(_c.owner_id == where.owner_id)
        if where.account_id is not None:
            conditions.append(_c.account_id == where.account_id)
        return conditions

    def _split(self, where: Any, *, owner_sums: bool = False) -> SummarySplit:
        conn = self._connection()
        key = (conn.get_transaction(), where, owner_sums)
        if self._last_split is None or self._last_split[0] != key:
            self._last_split = (key, self._split_now(where, owner_sums=owner_sums))
        return self._last_split[1]

    def _split_now(self, where: Any, *, owner_sums: bool) -> SummarySplit:
        """The range's whole months whose sums are there and not stale (db/close_summaries.py), and the days left
        over, whose closes are grouped here. One account's report reads no sums, nor one owner's unless the sums
        are kept by owner (`owner_sums`): it groups its closes, which its own index finds."""
        if where.account_id is not None or (where.owner_id is not None and not owner_sums):
            return SummarySplit((), [(where.date_from, where.date_to)])
        months = t.close_summary_months.c
        stale = select(t.close_summary_stale.c.month).where(t.close_summary_stale.c.month == months.month).exists()
        query = select(months.month).where(~stale).order_by(months.month)
        if where.date_from is not None:
            query = query.where(months.month >= where.date_from)
        if where.date_to is not None:
            query = query.where(months.month <= where.date_to)
        found = self._connection().execute(query).scalars()
        summed = [month for month in found if lies_within(month, where.date_from, where.date_to)]
        return SummarySplit(tuple(summed), left_over(where.date_from, where.date_to, summed))

    def standing_counts_by_currency(self, where: Any) -> dict[str, int]:
        conn = self._connection()
        split = self._split(where)
        counts: dict[str, int] = {}
        if split.months:
            s = t.close_summaries.c
            summed = select(s.currency, func.sum(s.closes)).where(s.month.in_(split.months)).group_by(s.currency)
            counts.update({currency: int(count) for currency, count in conn.execute(summed)})
        for days in split.left_over:
            if conn.dialect.name == "postgresql" and where.owner_id is None and where.account_id is None:
                query = _counts_one_currency_at_a_time(days)
            else:
                query = select(_c.currency, func.count()).where(*self._range_filters(where, days, standing=True))
                query = query.group_by(_c.currency)
            for currency, count in conn.execute(query):
                if count:
                    counts[currency] = counts.get(currency, 0) + count
        return counts

    def close_groups(self, where: Any, currency: str) -> list[CloseGroup]:
        """The closes grouped once, finely (the sums of whole months are already grouped that way), then regrouped
        in the database two ways (see domain/reporting.py): the thousands of fine groups stay there, a few hundred
        rows come back. One owner's or one account's closes are few, so their owners are grouped in the same
        statement (a third way), which `owner_groups` then answers without another."""
        conn = self._connection()
        dialect = conn.dialect.name
        split = self._split(where)
        fold_owners = where.owner_id is not None or where.account_id is not None
        month = month_of(_c.close_date, dialect).label("month")
        keys: tuple[ColumnElement[Any], ...] = (_c.outcome, _c.status_reason, _c.close_reason_id, _c.competitor_id)
        keys = (*keys, month)
        if fold_owners:
            keys = (*keys, _c.owner_id)
        sums = (func.count().label("closes"), func.sum(_c.actual_revenue).label("revenue"))
        parts: list[Select[Any]] = [
            select(*keys, *sums, func.sum(days_open(dialect)).label("days"))
            .where(_c.currency == currency, *self._range_filters(where, days, standing=True))
            .group_by(*keys)
            for days in split.left_over
        ]
        if split.months:  # never for one owner or account (see _split), so the sums need no owner column
            s = t.close_summaries.c
            summed_keys = (s.outcome, s.status_reason, s.close_reason_id, s.competitor_id)
            parts.append(
                select(*summed_keys, month_of(s.month, dialect).label("month"), s.closes, s.revenue, s.days).where(
                    s.currency == currency, s.month.in_(split.months)
                )
            )
        fine = union_all(*parts).cte("fine") if len(parts) > 1 else parts[0].cte("fine")
        f = fine.c
        owner = cast(null(), Uuid()).label("owner_id")  # typed: the first arm's types read every row
        totals = (func.sum(f.closes).label("closes"), func.sum(f.revenue).label("revenue"))
        by_reason = select(literal("reason").label("kind"), f.status_reason, f.close_reason_id, f.competitor_id)
        by_reason = by_reason.add_columns(
            null().label("outcome"), null().label("month"), owner, *totals, func.sum(f.days).label("days")
        )
        by_month = select(literal("month"), null(), null(), null(), f.outcome, f.month, null(), *totals, null())
        arms = [
            by_reason.group_by(f.status_reason, f.close_reason_id, f.competitor_id),
            by_month.group_by(f.outcome, f.month),
        ]
        if fold_owners:
            by_owner = select(literal("owner"), null(), null(), null(), f.outcome, null(), f.owner_id, *totals, null())
            arms.append(by_owner.group_by(f.outcome, f.owner_id))
        groups: list[CloseGroup] = []
        owners: list[OwnerGroup] = []
        for row in conn.execute(union_all(*arms)):
            if row.kind == "reason":
                status = OpportunityStatus(row.status_reason)
                days_total = int(row.days)
                groups.append(
                    ReasonGroup(status, row.close_reason_id, row.competitor_id, row.closes, row.revenue, days_total)
                )
            elif row.kind == "month":
                groups.append(MonthGroup(Outcome(row.outcome), _month_text(row.month), row.closes, row.revenue))
            else:
                owners.append(OwnerGroup(Outcome(row.outcome), row.owner_id, int(row.closes), row.revenue))
        self._folded_owners = ((conn.get_transaction(), where, currency), owners) if fold_owners else None
        return groups

    def owner_groups(self, where: Any, currency: str) -> list[OwnerGroup]:
        """The standing closes by outcome and owner: the sums of whole months, and the rest grouped from the
        covering index (migration 0012 added `owner_id` to it); or what `close_groups` grouped just before."""
        folded = self._folded_owners
        if folded is not None and folded[0] == (self._connection().get_transaction(), where, currency):
            return folded[1]
        split = self._split(where)
        sums = (func.count().label("closes"), func.sum(_c.actual_revenue).label("revenue"))
        parts: list[Select[Any]] = [
            select(_c.outcome, _c.owner_id, *sums)
            .where(_c.currency == currency, *self._range_filters(where, days, standing=True))
            .group_by(_c.outcome, _c.owner_id)
            for days in split.left_over
        ]
        if split.months:
            s = t.close_owner_summaries.c
            summed = select(s.outcome, s.owner_id, s.closes, s.revenue)
            parts.append(summed.where(s.currency == currency, s.month.in_(split.months)))
        fine = union_all(*parts).subquery("fine") if len(parts) > 1 else parts[0].subquery("fine")
        query = select(fine.c.outcome, fine.c.owner_id, func.sum(fine.c.closes), func.sum(fine.c.revenue))
        return [
            OwnerGroup(Outcome(outcome), owner_id, int(closes), revenue)
            for outcome, owner_id, closes, revenue in self._connection().execute(
                query.group_by(fine.c.outcome, fine.c.owner_id)
            )
        ]

    def quote_losses(self, where: Any, currency: str) -> list[QuoteLossGroup]:
        """Quotes closed as lost to a competitor, `closed_on` in the range, in the currency (the quote keeps its
        deal's); owner and account filters apply through the deal (SPEC §11). Whole months come from their sums
        (by owner, so one owner's report reads them too); the rest from the partial (currency, closed_on) index,
        joined to the deals only for an owner or an account."""
        q, o = t.quotes.c, t.opportunities.c
        split = self._split(where, owner_sums=True)
        sums = (func.count().label("quotes"), func.sum(q.total_amount).label("amount"))
        parts: list[Select[Any]] = []
        for date_from, date_to in split.left_over:
            conditions: list[ColumnElement[bool]] = [
                q.status_reason == "lost",
                q.competitor_id.is_not(None),
                q.currency == currency,
            ]
            if date_from is not None:
                conditions.append(q.closed_on >= date_from)
            if date_to is not None:
                conditions.append(q.closed_on <= date_to)
            source: Any = t.quotes
            if where.owner_id is not None or where.account_id is not None:
                source = t.quotes.join(t.opportunities, o.id == q.opportunity_id)
                if where.owner_id is not None:
                    conditions.append(o.owner_id == where.owner_id)
                if where.account_id is not None:
                    conditions.append(o.account_id == where.account_id)
            grouped = select(q.competitor_id, *sums).select_from(source).where(*conditions)
            parts.append(grouped.group_by(q.competitor_id))
        if split.months:
            s = t.quote_loss_summaries.c
            summed = select(s.competitor_id, s.quotes, s.amount)
            summed = summed.where(s.currency == currency, s.month.in_(split.months))
            if where.owner_id is not None:
                summed = summed.where(s.owner_id == where.owner_id)
            parts.append(summed)
        fine = union_all(*parts).subquery("fine") if len(parts) > 1 else parts[0].subquery("fine")
        query = select(fine.c.competitor_id, func.sum(fine.c.quotes), func.sum(fine.c.amount))
        return [
            QuoteLossGroup(competitor_id, int(quotes), amount)
            for competitor_id, quotes, amount in self._connection().execute(query.group_by(fine.c.competitor_id))
        ]

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


@dataclass(frozen=True)
class SummarySplit:
    """A report's range as the sums of whole months and the days left over (domain/months.py)."""

    months: tuple[date, ...]
    left_over: list[DateRange]


def month_of(day: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The month a date lies in, as each engine groups it: date_trunc on a plain timestamp on PostgreSQL (no time
    zone arithmetic, and far cheaper per row than to_char), `YYYY-MM` text on SQLite."""
    if dialect == "postgresql":
        return func.date_trunc("month", cast(day, DateTime()))
    return cast(func.strftime("%Y-%m", day), String)


def days_open(dialect: str) -> ColumnElement[int]:
    """Days from a deal's creation to its close."""
    if dialect == "postgresql":
        return cast(_c.close_date - _c.opportunity_created_on, Integer)
    return cast(func.julianday(_c.close_date) - func.julianday(_c.opportunity_created_on), Integer)


def _counts_one_currency_at_a_time(days: DateRange) -> Any:
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
    date_from, date_to = days
    if date_from is not None:
        conditions.append(counted.c.close_date >= date_from)
    if date_to is not None:
        conditions.append(counted.c.close_date <= date_to)
    count = select(func.count()).where(*conditions).scalar_subquery()
    return select(currencies.c.currency, count).where(currencies.c.currency.is_not(None))


def _month_text(month: str | datetime) -> str:
    """`YYYY-MM`: PostgreSQL answers the first moment of the month, SQLite the text itself."""
    return month if isinstance(month, str) else f"{month:%Y-%m}"
