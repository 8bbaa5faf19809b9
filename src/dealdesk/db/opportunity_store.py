"""The opportunity aggregate in SQL: loading it under a row lock and writing back only what changed.

Every save writes at once, before it returns: through SQLAlchemy Core (db/writes.py), or on PostgreSQL as one round
trip through db/hot_path.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, func, insert, select
from sqlalchemy.engine import Connection

from dealdesk.db import hot_path
from dealdesk.db import tables as t
from dealdesk.db import writes as plain
from dealdesk.db.close_policy_store import SqlClosePolicy, policy_from
from dealdesk.db.engine import UNICODE_LOWER
from dealdesk.db.hot_path import DealRows
from dealdesk.db.mapping import (
    audit_row,
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
from dealdesk.db.stores import SqlIdempotency, kept_from
from dealdesk.db.writes import Write, WriteKind, answer_write, inserts, merged, update_by_id
from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.errors import NotFound
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import QuoteLine
from dealdesk.domain.states import OpportunityState
from dealdesk.services.ports import IdempotencyRequest, KeptAnswer, LockedForClose, OpportunityFilter, Page

_opp = t.opportunities
_quotes = t.quotes
_closes = t.opportunity_closes
_lines = t.quote_lines
_DEALS = select(_opp).where(_opp.c.id.in_(bindparam("ids", expanding=True)))
_EXISTS = select(_opp.c.id).where(_opp.c.id == bindparam("id"))
_QUOTES = (
    select(_quotes)
    .where(_quotes.c.opportunity_id.in_(bindparam("ids", expanding=True)))
    .order_by(_quotes.c.number, _quotes.c.revision)
)
_STANDING_CLOSES = select(_closes).where(
    _closes.c.opportunity_id.in_(bindparam("ids", expanding=True)), _closes.c.reopened_at.is_(None)
)
_LOCK_MANY = _DEALS.order_by(_opp.c.id).with_for_update()
_LINES = (
    select(_lines)
    .where(_lines.c.quote_id.in_(bindparam("ids", expanding=True)))
    .order_by(_lines.c.quote_id, _lines.c.position)
)


def _plain_load(conn: Connection, ids: list[UUID], *, lock: bool, lines_of: Sequence[UUID]) -> DealRows:
    """The same rows as db/hot_path.py loads, one statement after another."""

    def rows(statement: Any, params: dict[str, Any]) -> list[Mapping[Any, Any]]:
        return [row._mapping for row in conn.execute(statement, params)]

    deals = rows(_LOCK_MANY if lock else _DEALS, {"ids": ids})
    found = DealRows(deals)
    if deals:
        key = {"ids": [row["id"] for row in deals]}
        found.quotes = rows(_QUOTES, key)
        if any(row["state"] != OpportunityState.OPEN.value for row in deals):
            found.standing_closes = rows(_STANDING_CLOSES, key)
        if lines_of:
            found.lines = rows(_LINES, {"ids": list(lines_of)})
    return found


@dataclass
class _Snapshot:
    """Column values as loaded, to write back only the difference."""

    opportunity: dict[str, Any]
    quotes: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    lines: dict[UUID, tuple[QuoteLine, ...]] = field(default_factory=dict)
    """The lines of the quotes loaded with their lines."""
    closes: dict[UUID, tuple[OpportunityClose, dict[str, Any]]] = field(default_factory=dict)


def _loaded_lines(opportunity: Opportunity) -> dict[UUID, tuple[QuoteLine, ...]]:
    """The lines of the quotes whose lines are loaded: what a save compares them with."""
    return {q.id: q.lines for q in opportunity.quotes if q.lines is not None}


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
    def __init__(
        self,
        connection: Callable[[], Connection],
        *,
        audit_seq: Iterator[int],
        close_policy: SqlClosePolicy,
        idempotency: SqlIdempotency,
    ) -> None:
        """`audit_seq` numbers the audit entries of the unit of work (shared with its audit log). The close policy
        and the idempotency answers are read with a deal locked for a close."""
        self._conn = connection
        self._audit_seq = audit_seq
        self._close_policy = close_policy
        self._idempotency = idempotency
        self._snapshots: dict[UUID, _Snapshot] = {}
        self.new_close_outcomes: list[str] = []
        """The outcome of each close record written in this transaction (for the metrics, once it commits)."""

    def forget(self) -> None:
        self._snapshots.clear()
        self.new_close_outcomes.clear()

    # --------------------------------------------------------------------------------------- loading
    def lock(self, opportunity_id: UUID, *, lines_of: Sequence[UUID] | None = None) -> Opportunity:
        return self._load(opportunity_id, lock=True, lines_of=lines_of or ())

    def lock_for_close(self, opportunity_id: UUID, *, idempotency: IdempotencyRequest | None) -> LockedForClose:
        conn = self._conn()
        if not hot_path.serves(conn):
            opportunity = self.lock(opportunity_id)
            kept = self._idempotency.find(idempotency) if idempotency is not None else None
            return LockedForClose(opportunity, self._close_policy.get(), kept)
        also: list[tuple[hot_path.Statement, Mapping[str, Any]]] = [(hot_path.CLOSE_POLICY, {})]
        if idempotency is not None:
            also.append(self._idempotency.answer_read(idempotency))
        rows = hot_path.load_deal(conn, opportunity_id, lock=True, lines_of=(), also=also)
        opportunity = self._found(opportunity_id, rows, lines_of=())
        kept = kept_from(rows.also[1]) if idempotency is not None else None
        return LockedForClose(opportunity, policy_from(rows.also[0]), kept)

    def get(self, opportunity_id: UUID) -> Opportunity:
        return self._load(opportunity_id, lock=False, lines_of=())

    def exists(self, opportunity_id: UUID) -> bool:
        return self._conn().execute(_EXISTS, {"id": opportunity_id}).first() is not None

    def _load(self, opportunity_id: UUID, *, lock: bool, lines_of: Sequence[UUID]) -> Opportunity:
        conn = self._conn()
        if hot_path.serves(conn):
            rows = hot_path.load_deal(conn, opportunity_id, lock=lock, lines_of=lines_of)
        else:
            rows = _plain_load(conn, [opportunity_id], lock=lock, lines_of=lines_of)
        return self._found(opportunity_id, rows, lines_of=lines_of)

    def _found(self, opportunity_id: UUID, rows: DealRows, *, lines_of: Sequence[UUID]) -> Opportunity:
        found = self._aggregates(rows, lines_of=lines_of)
        if opportunity_id not in found:
            raise NotFound("opportunity", opportunity_id)
        return found[opportunity_id]

    def lock_many(self, opportunity_ids: Sequence[UUID]) -> dict[UUID, Opportunity]:
        """Several aggregates (without quote lines) under their row locks, taken in id order so that two batches
        over overlapping deals cannot deadlock: three statements for the lot instead of two or three per deal.
        Ids that name no deal are left out."""
        conn = self._conn()
        ids = list(opportunity_ids)
        rows = (
            hot_path.lock_deals(conn, ids) if hot_path.serves(conn) else _plain_load(conn, ids, lock=True, lines_of=())
        )
        return self._aggregates(rows, lines_of=())

    def _aggregates(self, rows: DealRows, *, lines_of: Sequence[UUID]) -> dict[UUID, Opportunity]:
        found = {row["id"]: opportunity_from(row) for row in rows.opportunities}
        for quote_fields in rows.quotes:
            found[quote_fields["opportunity_id"]].quotes.append(quote_from(quote_fields))
        for close in rows.standing_closes:
            opportunity = found[close["opportunity_id"]]
            if opportunity.state is not OpportunityState.OPEN:
                opportunity.standing_close = close_from(close)
        lines: dict[UUID, list[QuoteLine]] = {quote_id: [] for quote_id in lines_of}
        for line in rows.lines:
            lines[line["quote_id"]].append(line_from(line))
        for opportunity in found.values():
            for quote in opportunity.quotes:
                if quote.id in lines:
                    quote.lines = tuple(lines[quote.id])
            self._remember(opportunity)
        return found

    def _remember(self, opportunity: Opportunity) -> None:
        snapshot = _Snapshot(opportunity=opportunity_row(opportunity))
        snapshot.quotes = {q.id: quote_row(q, opportunity.currency) for q in opportunity.quotes}
        snapshot.lines = _loaded_lines(opportunity)
        if opportunity.standing_close is not None:
            record = opportunity.standing_close
            snapshot.closes[record.id] = (record, close_row(record))
        self._snapshots[opportunity.id] = snapshot

    # --------------------------------------------------------------------------------------- writing
    def add(self, opportunity: Opportunity) -> None:
        self._conn().execute(insert(_opp), [opportunity_row(opportunity)])
        self._snapshots[opportunity.id] = _Snapshot(opportunity=opportunity_row(opportunity))

    def save(self, opportunity: Opportunity, *, by: UUID, answer: KeptAnswer | None = None) -> None:
        """Write now what changed since the aggregate was loaded, its audit entries and `answer`, together."""
        steps = self._steps_of(opportunity, by=by)
        if answer is not None:
            steps.append([answer_write(answer)])
        self._send(steps)

    def save_many(self, opportunities: Sequence[Opportunity], *, by: UUID) -> None:
        self._send(merged([self._steps_of(opportunity, by=by) for opportunity in opportunities]))

    def _send(self, steps: list[list[Write]]) -> None:
        conn = self._conn()
        if hot_path.serves(conn):
            hot_path.send(conn, steps)
        else:
            plain.send(conn, steps)

    def _steps_of(self, opportunity: Opportunity, *, by: UUID) -> list[list[Write]]:
        """The deal's writes in steps (db/writes.py): every save of every deal lists the same steps, in this
        order, so that the steps of many deals merge."""
        snapshot = self._snapshots[opportunity.id]
        current_quotes = {q.id: q for q in opportunity.quotes}
        gone = [quote_id for quote_id in snapshot.quotes if quote_id not in current_quotes]
        rows = {q.id: quote_row(q, opportunity.currency) for q in opportunity.quotes}  # also the next snapshot
        relined = [q for q in opportunity.quotes if q.lines is not None and snapshot.lines.get(q.id) != q.lines]
        quote_updates = []
        for quote in opportunity.quotes:
            if quote.id in snapshot.quotes:
                diff = changed(snapshot.quotes[quote.id], rows[quote.id])
                if diff:
                    quote_updates.append(update_by_id(_quotes, quote.id, diff))
        row = opportunity_row(opportunity)
        diff = changed(snapshot.opportunity, row)
        close_updates = []
        closes: dict[UUID, tuple[OpportunityClose, dict[str, Any]]] = {}
        standing = opportunity.standing_close
        for record, loaded in snapshot.closes.values():
            record_row = close_row(record)
            record_diff = changed(loaded, record_row)
            if record_diff:
                close_updates.append(update_by_id(_closes, record.id, record_diff))
            if standing is not None and record.id == standing.id:
                closes[record.id] = (standing, record_row)
        new_closes = []
        if standing is not None and standing.id not in snapshot.closes:
            standing_row = close_row(standing)
            new_closes.append(standing_row)
            closes[standing.id] = (standing, standing_row)
            self.new_close_outcomes.append(standing.outcome.value)
        at = opportunity.updated_at
        audit = [
            audit_row(change, seq=next(self._audit_seq), at=at, by=by, opportunity_id=opportunity.id)
            for change in opportunity.changes
        ]
        opportunity.changes.clear()
        # What is written is what the next save compares with (as `_remember` would make it, once more).
        lines = _loaded_lines(opportunity)
        self._snapshots[opportunity.id] = _Snapshot(opportunity=row, quotes=rows, lines=lines, closes=closes)
        return [
            [
                *(Write(WriteKind.DELETE, _lines, {"quote_id": quote_id}) for quote_id in gone),
                *(Write(WriteKind.DELETE, _lines, {"quote_id": q.id}) for q in relined if q.id in snapshot.quotes),
            ],
            [Write(WriteKind.DELETE, _quotes, {"id": quote_id}) for quote_id in gone],
            inserts(_quotes, [rows[q.id] for q in opportunity.quotes if q.id not in snapshot.quotes]),
            quote_updates,
            [write for q in relined for write in inserts(_lines, line_rows("quote_id", q.id, q.lines or ()))],
            [update_by_id(_opp, opportunity.id, diff)] if diff else [],
            close_updates,
            inserts(_closes, new_closes),
            inserts(t.audit_entries, audit),
        ]

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
