"""The opportunity aggregate in SQL: loading it under a row lock and writing back only what changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.batched_writes import BatchedWrites
from dealdesk.db.direct import Direct
from dealdesk.db.engine import UNICODE_LOWER
from dealdesk.db.mapping import (
    changed,
    close_from,
    close_row,
    line_from,
    line_rows,
    opportunity_from,
    opportunity_row,
    quote_from,
    quote_row,
)
from dealdesk.db.paging import as_time, as_uuid, page
from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.errors import NotFound
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.states import OpportunityState
from dealdesk.services.ports import OpportunityFilter, Page

# Statements are built once: building a SELECT per call costs more Python time than running it.
_opp = t.opportunities
_SELECT = select(_opp).where(_opp.c.id == bindparam("id"))
_GET = Direct(_SELECT)
_LOCK = Direct(_SELECT.with_for_update())
_EXISTS = select(_opp.c.id).where(_opp.c.id == bindparam("id"))
_QUOTES = Direct(
    select(t.quotes)
    .where(t.quotes.c.opportunity_id == bindparam("id"))
    .order_by(t.quotes.c.number, t.quotes.c.revision)
)
_STANDING_CLOSE = Direct(
    select(t.opportunity_closes).where(
        t.opportunity_closes.c.opportunity_id == bindparam("id"), t.opportunity_closes.c.reopened_at.is_(None)
    )
)
_SELECT_MANY_FOR_UPDATE = (
    select(_opp).where(_opp.c.id.in_(bindparam("ids", expanding=True))).order_by(_opp.c.id).with_for_update()
)
_QUOTES_OF_MANY = (
    select(t.quotes)
    .where(t.quotes.c.opportunity_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.quotes.c.number, t.quotes.c.revision)
)
_STANDING_CLOSES_OF_MANY = select(t.opportunity_closes).where(
    t.opportunity_closes.c.opportunity_id.in_(bindparam("ids", expanding=True)),
    t.opportunity_closes.c.reopened_at.is_(None),
)
_LINES = (
    select(t.quote_lines)
    .where(t.quote_lines.c.quote_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.quote_lines.c.quote_id, t.quote_lines.c.position)
)


@dataclass
class _Snapshot:
    """Column values as loaded, to write back only the difference."""

    opportunity: dict[str, Any]
    quotes: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    closes: dict[UUID, tuple[OpportunityClose, dict[str, Any]]] = field(default_factory=dict)


def matching(where: OpportunityFilter, conn: Connection) -> list[ColumnElement[bool]]:
    """The list filters: state, account, owner, and the name containing `q` in any case and any script."""
    conditions: list[ColumnElement[bool]] = []
    if where.state is not None:
        conditions.append(_opp.c.state == where.state.value)
    if where.account_id is not None:
        conditions.append(_opp.c.account_id == where.account_id)
    if where.owner_id is not None:
        conditions.append(_opp.c.owner_id == where.owner_id)
    if where.q:
        # SQLite's own lower() folds ASCII only; dealdesk registers a Unicode one on every SQLite connection.
        lower = func.lower if conn.dialect.name == "postgresql" else getattr(func, UNICODE_LOWER)
        conditions.append(lower(_opp.c.name).contains(where.q.lower(), autoescape=True))
    return conditions


class SqlOpportunities:
    def __init__(self, connection: Callable[[], Connection], writes: BatchedWrites) -> None:
        self._conn = connection
        self._writes = writes
        self._snapshots: dict[UUID, _Snapshot] = {}
        self.new_close_outcomes: list[str] = []
        """The outcome of each close record written in this transaction (for the metrics, once it commits)."""

    def forget(self) -> None:
        self._snapshots.clear()
        self.new_close_outcomes.clear()

    # --------------------------------------------------------------------------------------- loading
    def lock(self, opportunity_id: UUID, *, lines_of: Sequence[UUID] | None = None) -> Opportunity:
        return self._load(_LOCK, opportunity_id, lines_of=lines_of)

    def get(self, opportunity_id: UUID) -> Opportunity:
        return self._load(_GET, opportunity_id, lines_of=None)

    def exists(self, opportunity_id: UUID) -> bool:
        return self._conn().execute(_EXISTS, {"id": opportunity_id}).first() is not None

    def _load(self, statement: Direct, opportunity_id: UUID, *, lines_of: Sequence[UUID] | None) -> Opportunity:
        conn = self._conn()
        key = {"id": opportunity_id}
        row = statement.first(conn, key)
        if row is None:
            raise NotFound("opportunity", opportunity_id)
        opportunity = opportunity_from(row)
        opportunity.quotes = [quote_from(q) for q in _QUOTES.rows(conn, key)]
        if lines_of:
            by_quote: dict[UUID, list[Any]] = {}
            for line in conn.execute(_LINES, {"ids": list(lines_of)}):
                by_quote.setdefault(line.quote_id, []).append(line_from(line))
            for quote in opportunity.quotes:
                if quote.id in lines_of:
                    quote.lines = tuple(by_quote.get(quote.id, ()))
        if opportunity.state is not OpportunityState.OPEN:
            close = _STANDING_CLOSE.first(conn, key)
            opportunity.standing_close = close_from(close) if close is not None else None
        self._remember(opportunity)
        return opportunity

    def lock_many(self, opportunity_ids: Sequence[UUID]) -> dict[UUID, Opportunity]:
        """Several aggregates (without quote lines) under their row locks, taken in id order so that two batches
        over overlapping deals cannot deadlock: three statements for the lot instead of two or three per deal.
        Ids that name no deal are left out."""
        conn = self._conn()
        ids = list(opportunity_ids)
        found = {row.id: opportunity_from(row) for row in conn.execute(_SELECT_MANY_FOR_UPDATE, {"ids": ids})}
        if not found:
            return found
        for quote in conn.execute(_QUOTES_OF_MANY, {"ids": list(found)}):
            found[quote.opportunity_id].quotes.append(quote_from(quote))
        closed = [o.id for o in found.values() if o.state is not OpportunityState.OPEN]
        if closed:
            for close in conn.execute(_STANDING_CLOSES_OF_MANY, {"ids": closed}):
                found[close.opportunity_id].standing_close = close_from(close)
        for opportunity in found.values():
            self._remember(opportunity)
        return found

    def _remember(self, opportunity: Opportunity) -> None:
        snapshot = _Snapshot(opportunity=opportunity_row(opportunity))
        snapshot.quotes = {q.id: quote_row(q, opportunity.currency) for q in opportunity.quotes}
        for q in opportunity.quotes:
            q.lines_changed = False
        if opportunity.standing_close is not None:
            record = opportunity.standing_close
            snapshot.closes[record.id] = (record, close_row(record))
        self._snapshots[opportunity.id] = snapshot

    # --------------------------------------------------------------------------------------- writing
    def add(self, opportunity: Opportunity) -> None:
        self._conn().execute(insert(_opp), [opportunity_row(opportunity)])
        self._snapshots[opportunity.id] = _Snapshot(opportunity=opportunity_row(opportunity))

    def save(self, opportunity: Opportunity) -> None:
        """Write back what changed since the aggregate was loaded. Row updates and the new close record are kept
        back (db/batched_writes.py) to go out with the rest of the transaction's writes; deletes and inserts that
        other rows refer to are sent at once (each `self._conn()` first sends what is kept back)."""
        snapshot = self._snapshots[opportunity.id]
        current_quotes = {q.id: q for q in opportunity.quotes}
        gone = [quote_id for quote_id in snapshot.quotes if quote_id not in current_quotes]
        if gone:
            self._conn().execute(delete(t.quote_lines).where(t.quote_lines.c.quote_id.in_(gone)))
            self._conn().execute(delete(t.quotes).where(t.quotes.c.id.in_(gone)))
        rows = {q.id: quote_row(q, opportunity.currency) for q in opportunity.quotes}  # also the next snapshot
        new_quotes = [rows[q.id] for q in opportunity.quotes if q.id not in snapshot.quotes]
        if new_quotes:
            self._conn().execute(insert(t.quotes), new_quotes)
        for quote in opportunity.quotes:
            if quote.id in snapshot.quotes:
                diff = changed(snapshot.quotes[quote.id], rows[quote.id])
                if diff:
                    self._writes.update(t.quotes, quote.id, diff)
            if quote.lines_changed:
                self._write_lines(self._conn(), quote)
                quote.lines_changed = False
        contract = opportunity.new_contract
        if contract is not None:
            conn = self._conn()
            conn.execute(
                insert(t.contracts),
                [
                    {
                        "id": contract.id,
                        "opportunity_id": contract.opportunity_id,
                        "quote_id": contract.quote_id,
                        "account_id": contract.account_id,
                        "currency": contract.currency,
                        "state": contract.state.value,
                        "total_amount": contract.total_amount,
                        "created_at": contract.created_at,
                        "updated_at": contract.updated_at,
                    }
                ],
            )
            if contract.lines:
                conn.execute(insert(t.contract_lines), line_rows("contract_id", contract.id, contract.lines))
            opportunity.new_contract = None
        row = opportunity_row(opportunity)
        diff = changed(snapshot.opportunity, row)
        if diff:
            self._writes.update(_opp, opportunity.id, diff)
        closes: dict[UUID, tuple[OpportunityClose, dict[str, Any]]] = {}
        standing = opportunity.standing_close
        for record, loaded in snapshot.closes.values():
            record_row = close_row(record)
            record_diff = changed(loaded, record_row)
            if record_diff:
                self._writes.update(t.opportunity_closes, record.id, record_diff)
            if standing is not None and record.id == standing.id:
                closes[record.id] = (standing, record_row)
        if standing is not None and standing.id not in snapshot.closes:
            standing_row = close_row(standing)
            self._writes.insert(t.opportunity_closes, [standing_row])
            closes[standing.id] = (standing, standing_row)
            self.new_close_outcomes.append(standing.outcome.value)
        # What was just written is what the next save compares with (as `_remember` would make it, once more).
        self._snapshots[opportunity.id] = _Snapshot(opportunity=row, quotes=rows, closes=closes)

    @staticmethod
    def _write_lines(conn: Connection, quote: Quote) -> None:
        conn.execute(delete(t.quote_lines).where(t.quote_lines.c.quote_id == quote.id))
        lines = quote.loaded_lines()
        if lines:
            conn.execute(insert(t.quote_lines), line_rows("quote_id", quote.id, lines))

    # --------------------------------------------------------------------------------------- listing
    def list(self, where: OpportunityFilter, *, limit: int, cursor: str | None) -> Page[Opportunity]:
        conn = self._conn()
        return page(
            conn,
            select(_opp).where(*matching(where, conn)),
            keys=[(_opp.c.created_at, as_time), (_opp.c.id, as_uuid)],
            descending=True,
            limit=limit,
            cursor=cursor,
            to_item=opportunity_from,
        )
