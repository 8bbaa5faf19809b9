"""Record queries (services/record_queries.py) in SQL: each kind of record is one SELECT whose labelled columns are
the sources a query may name; conditions become WHERE terms, the order an ORDER BY ending in the id, and a page
starts after the previous page's last row (keyset), so the database cuts every page at any depth."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.engine import UNICODE_LOWER
from dealdesk.services.record_queries import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Matches,
    NoneOf,
    OneOf,
    RecordKind,
    RecordPage,
    RecordQuery,
    SortKey,
)

_opp, _quote, _close, _account, _rival = t.opportunities, t.quotes, t.opportunity_closes, t.accounts, t.competitors


def _columns(**columns: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    return columns


SOURCES: Final[dict[RecordKind, dict[str, ColumnElement[Any]]]] = {
    "opportunity": _columns(
        id=_opp.c.id,
        name=_opp.c.name,
        description=_opp.c.description,
        estimated_revenue=_opp.c.estimated_revenue,
        estimated_close_date=_opp.c.estimated_close_date,
        actual_revenue=_opp.c.actual_revenue,
        actual_close_date=_opp.c.actual_close_date,
        state=_opp.c.state,
        status_reason=_opp.c.status_reason,
        account_id=_opp.c.account_id,
        owner_id=_opp.c.owner_id,
        currency=_opp.c.currency,
        won_quote_id=_opp.c.won_quote_id,
        created_at=_opp.c.created_at,
        updated_at=_opp.c.updated_at,
        version=_opp.c.version,
    ),
    "quote": _columns(
        id=_quote.c.id,
        name=_quote.c.name,
        number=_quote.c.number,
        revision=_quote.c.revision,
        state=_quote.c.state,
        status_reason=_quote.c.status_reason,
        total_amount=_quote.c.total_amount,
        valid_until=_quote.c.valid_until,
        closed_on=_quote.c.closed_on,
        close_description=_quote.c.close_description,
        opportunity_id=_quote.c.opportunity_id,
        currency=_quote.c.currency,
        created_at=_quote.c.created_at,
        updated_at=_quote.c.updated_at,
        version=_quote.c.version,
    ),
    "opportunityclose": _columns(
        id=_close.c.id,
        opportunity_id=_close.c.opportunity_id,
        outcome=_close.c.outcome,
        status_reason=_close.c.status_reason,
        close_reason_id=_close.c.close_reason_id,
        close_date=_close.c.close_date,
        actual_revenue=_close.c.actual_revenue,
        currency=_close.c.currency,
        competitor_id=_close.c.competitor_id,
        description=_close.c.description,
        subject=_close.c.subject,
        owner_id=_close.c.owner_id,
        closed_at=_close.c.closed_at,
        standing=case((_close.c.reopened_at.is_(None), literal("standing")), else_=literal("reopened")),
        reopened_at=_close.c.reopened_at,
    ),
    "quoteclose": _columns(
        id=_quote.c.id,
        name=_quote.c.name,
        state=_quote.c.state,
        status_reason=_quote.c.status_reason,
        closed_on=_quote.c.closed_on,
        close_description=_quote.c.close_description,
        competitor_id=_quote.c.competitor_id,
        close_reason_id=_quote.c.close_reason_id,
        opportunity_id=_quote.c.opportunity_id,
        currency=_quote.c.currency,
        total_amount=_quote.c.total_amount,
        updated_at=_quote.c.updated_at,
    ),
    "account": _columns(
        id=_account.c.id, name=_account.c.name, created_at=_account.c.created_at, updated_at=_account.c.updated_at
    ),
    "closereason": _columns(
        id=t.close_reasons.c.id,
        name=t.close_reasons.c.name,
        outcome=t.close_reasons.c.outcome,
        active=t.close_reasons.c.active,
        created_at=t.close_reasons.c.created_at,
        updated_at=t.close_reasons.c.updated_at,
    ),
    "competitor": _columns(
        id=_rival.c.id, name=_rival.c.name, created_at=_rival.c.created_at, updated_at=_rival.c.updated_at
    ),
}
"""What each source of each kind of record is in SQL. The Dataverse entity description (web/api/dataverse) names
these sources; a test checks that every source it names is here."""


_owner = t.users.alias("owner_user")
_named_opp = t.opportunities.alias("named_opportunity")
_named_rival = t.competitors.alias("named_competitor")
_named_account = t.accounts.alias("named_account")


@dataclass(frozen=True)
class _Label:
    """The name of the record a lookup refers to: a column of `joined` (outer-joined on `on`), or of the base."""

    name: ColumnElement[Any]
    joined: FromClause | None = None
    on: ColumnElement[bool] | None = None


LABEL_SOURCES: Final[dict[RecordKind, dict[str, _Label]]] = {
    "opportunity": {
        "account_name": _Label(_named_account.c.name, _named_account, _named_account.c.id == _opp.c.account_id),
        "owner_name": _Label(_owner.c.name, _owner, _owner.c.id == _opp.c.owner_id),
    },
    "quote": {"opportunity_name": _Label(_named_opp.c.name, _named_opp, _named_opp.c.id == _quote.c.opportunity_id)},
    "opportunityclose": {
        "opportunity_name": _Label(_named_opp.c.name, _named_opp, _named_opp.c.id == _close.c.opportunity_id),
        "competitor_name": _Label(_named_rival.c.name, _named_rival, _named_rival.c.id == _close.c.competitor_id),
        "close_reason_name": _Label(
            t.close_reasons.c.name, t.close_reasons, t.close_reasons.c.id == _close.c.close_reason_id
        ),
        "owner_name": _Label(_owner.c.name, _owner, _owner.c.id == _close.c.owner_id),
    },
    "quoteclose": {"quote_name": _Label(_quote.c.name)},
}
"""The names a lookup's FormattedValue shows, read only when asked for (RecordQuery.labels) by LEFT OUTER JOINs on
the referenced records' primary keys in the page's own statement — never a query per row. The Dataverse entity
description names these sources (Attribute.label); a test checks that every one it names is here."""


def _base(kind: RecordKind, *, labels: bool = False) -> Select[Any]:
    columns = [column.label(name) for name, column in SOURCES[kind].items()]
    named = LABEL_SOURCES.get(kind, {}) if labels else {}
    columns += [label.name.label(name) for name, label in named.items()]
    source: FromClause
    if kind in ("quote", "quoteclose"):
        source = _quote  # a quote keeps its deal's currency: the deal is joined only for its name, when asked
    elif kind == "opportunity":
        source = _opp
    elif kind == "opportunityclose":
        source = _close
    else:
        return select(*columns)
    for label in named.values():
        if label.joined is not None and label.on is not None:
            source = source.outerjoin(label.joined, label.on)
    statement = select(*columns).select_from(source)
    if kind == "quoteclose":
        # A quote close is the close of one won or closed quote: the quote's own row, read as its close.
        return statement.where(_quote.c.state.in_(("won", "closed")))
    return statement


_COMPARE: Final[dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]]] = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column != value,
    "gt": lambda column, value: column > value,
    "ge": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "le": lambda column, value: column <= value,
}


class SqlRecordReads:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def one(self, kind: RecordKind, record_id: Any, *, labels: bool = False) -> Mapping[str, Any] | None:
        statement = _base(kind, labels=labels).where(SOURCES[kind]["id"] == record_id)
        row = self._conn().execute(statement).mappings().first()
        return None if row is None else dict(row)

    def query(self, query: RecordQuery) -> RecordPage:
        conn = self._conn()
        total = None
        if query.count:
            total = int(conn.execute(self.count_statement(query, conn)).scalar_one())
        rows = [dict(row) for row in conn.execute(self.page_statement(query, conn)).mappings()]
        return RecordPage(rows=rows[: query.limit], more=len(rows) > query.limit, total=total)

    def _filtered(self, query: RecordQuery, conn: Connection, *, labels: bool = False) -> Select[Any]:
        statement = _base(query.kind, labels=labels)
        if query.where is not None:
            statement = statement.where(self._condition(query.where, SOURCES[query.kind], conn))
        return statement

    def count_statement(self, query: RecordQuery, conn: Connection) -> Select[Any]:
        """`$count=true`: the rows matching the filter, counted by the database."""
        return select(func.count()).select_from(self._filtered(query, conn).subquery())

    def page_statement(self, query: RecordQuery, conn: Connection) -> Select[Any]:
        """One page and one row more (to tell whether another page follows), after the previous page's last row.
        bench/dataverse_explain.py shows PostgreSQL's plans of these statements."""
        sources = SOURCES[query.kind]
        statement = self._filtered(query, conn, labels=query.labels)
        # The id breaks ties in the direction of the last key, so (created_at desc, id desc) reads one index backwards.
        order = (*query.order, SortKey("id", query.order[-1].descending if query.order else False))
        if query.after is not None:
            statement = statement.where(_after(order, query.after, sources))
        return statement.order_by(*(_ordering(key, sources) for key in order)).limit(query.limit + 1)

    def _condition(
        self, condition: Condition, sources: Mapping[str, ColumnElement[Any]], conn: Connection
    ) -> ColumnElement[bool]:
        match condition:
            case Compare(source, op, None):
                column = sources[source]
                return column.is_(None) if op == "eq" else column.is_not(None)
            case Compare(source, op, value):
                column = sources[source]
                term = _COMPARE[op](column, value)
                # OData: `ne` is true where the column is null, as in Dataverse; SQL's `<>` would say unknown.
                return or_(term, column.is_(None)) if op == "ne" else term
            case OneOf(source, values):
                return sources[source].in_(values) if values else false()
            case Matches(source, how, text):
                lower = func.lower if conn.dialect.name == "postgresql" else getattr(func, UNICODE_LOWER)
                column = lower(sources[source])
                needle = text.lower()
                if how == "contains":
                    return column.contains(needle, autoescape=True)
                if how == "startswith":
                    return column.startswith(needle, autoescape=True)
                return column.endswith(needle, autoescape=True)
            case AllOf(parts):
                return and_(true(), *(self._condition(part, sources, conn) for part in parts))
            case AnyOf(parts):
                return or_(false(), *(self._condition(part, sources, conn) for part in parts))
            case NoneOf(part):
                return not_(self._condition(part, sources, conn))
        raise TypeError(f"not a condition: {condition!r}")


def _ordering(key: SortKey, sources: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """Nulls come first ascending and last descending on both engines, so the keyset below reads the same order.
    A column that cannot be null is ordered plainly: PostgreSQL reads an index backwards as DESC NULLS FIRST, so
    a needless NULLS LAST would turn an index scan into a sort of the whole table."""
    column = sources[key.source]
    if not getattr(column, "nullable", True):
        return column.desc() if key.descending else column.asc()
    return column.desc().nulls_last() if key.descending else column.asc().nulls_first()


def _after(order: tuple[SortKey, ...], last: tuple[Any, ...], sources: Mapping[str, ColumnElement[Any]]) -> Any:
    """Rows after `last` in `order`: (k1 after v1) or (k1 = v1 and k2 after v2) or …, with nulls placed as above.

    When every key runs one way and no null can come after the last row (all values there, and the keys ascending
    or their columns not nullable), it is the row comparison `(k1, k2, …) > (v1, v2, …)`, which an index on those
    columns answers with a range scan instead of filtering every row before the page."""
    columns = [sources[key.source] for key in order]
    one_way = len({key.descending for key in order}) == 1
    no_nulls_after = all(value is not None for value in last) and (
        not order[0].descending or not any(getattr(column, "nullable", True) for column in columns)
    )
    if one_way and no_nulls_after:
        row = tuple_(*columns)
        bound = tuple_(*(literal(value, column.type) for value, column in zip(last, columns, strict=True)))
        return row < bound if order[0].descending else row > bound
    alternatives = []
    for position, key in enumerate(order):
        equal_before = [_same(sources[k.source], v) for k, v in zip(order[:position], last[:position], strict=True)]
        alternatives.append(and_(true(), *equal_before, _beyond(sources[key.source], last[position], key.descending)))
    return or_(*alternatives)


def _same(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _beyond(column: ColumnElement[Any], value: Any, descending: bool) -> ColumnElement[bool]:
    if descending:  # nulls last: nothing comes after a null but other nulls, ordered by the later keys
        return false() if value is None else or_(column < value, column.is_(None))
    return column.is_not(None) if value is None else column > value
