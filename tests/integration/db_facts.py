"""What the database holds, read with plain SQL: whole-table snapshots (for "a refused request changes nothing")
and the SPEC §6 invariants, each as a list of the rows that break it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.domain.values import round_cents

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in t.metadata.sorted_tables
        }


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def row_of(engine: Engine, table: Any, record_id: UUID) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(table).where(table.c.id == record_id)).one()._mapping)


def count_rows(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# ---------------------------------------------------------------------------------------------- invariants
def i1_closed_opportunities_with_an_active_quote(conn: Connection) -> list[Any]:
    o, q = t.opportunities.c, t.quotes.c
    query = (
        select(o.id, o.state, q.id)
        .select_from(t.opportunities.join(t.quotes, q.opportunity_id == o.id))
        .where(o.state.in_(["won", "lost"]), q.state == "active")
    )
    return list(conn.execute(query).all())


def i2_wrong_number_of_standing_closes(conn: Connection) -> list[Any]:
    """Won/lost: exactly one close record without reopened_at, of the same outcome; open: none."""
    o, c = t.opportunities.c, t.opportunity_closes.c
    standing = and_(c.opportunity_id == o.id, c.reopened_at.is_(None))
    query = (
        select(o.id, o.state, func.count(c.id), func.min(c.outcome), func.max(c.outcome))
        .select_from(t.opportunities.outerjoin(t.opportunity_closes, standing))
        .group_by(o.id, o.state)
    )
    bad = []
    for opportunity_id, state, standing_count, low, high in conn.execute(query):
        expected = 0 if state == "open" else 1
        if standing_count != expected or (expected == 1 and low != state) or (expected == 1 and high != state):
            bad.append((opportunity_id, state, standing_count, low, high))
    return bad


def i3_won_quote_violations(conn: Connection) -> list[Any]:
    """At most one won quote; never lost with one; and the opportunity names the quote it won."""
    o, q = t.opportunities.c, t.quotes.c
    several = (
        select(q.opportunity_id, func.count())
        .where(q.state == "won")
        .group_by(q.opportunity_id)
        .having(func.count() > 1)
    )
    lost_with_won = (
        select(o.id, o.state)
        .select_from(t.opportunities.join(t.quotes, q.opportunity_id == o.id))
        .where(q.state == "won", o.state == "lost")
    )
    named_quote_is_won = select(q.id).where(q.id == o.won_quote_id, q.opportunity_id == o.id, q.state == "won").exists()
    has_won_quote = select(q.id).where(q.opportunity_id == o.id, q.state == "won").exists()
    pointer = select(o.id, o.won_quote_id).where(
        or_(
            and_(o.won_quote_id.is_not(None), ~named_quote_is_won),
            and_(o.won_quote_id.is_(None), has_won_quote),
        )
    )
    return [
        *(("several won quotes", *row) for row in conn.execute(several)),
        *(("lost with a won quote", *row) for row in conn.execute(lost_with_won)),
        *(("won_quote_id does not name the won quote", *row) for row in conn.execute(pointer)),
    ]


def i4_totals_that_are_not_the_sum_of_lines(conn: Connection) -> list[Any]:
    """total_amount = sum of line amounts, line_count = number of lines, amount = quantity x price in cents."""
    q, ln = t.quotes.c, t.quote_lines.c
    sums = (
        select(q.id, q.total_amount, q.line_count, func.sum(ln.amount), func.count(ln.position))
        .select_from(t.quotes.outerjoin(t.quote_lines, ln.quote_id == q.id))
        .group_by(q.id, q.total_amount, q.line_count)
    )
    bad: list[Any] = []
    for quote_id, total, line_count, line_sum, lines in conn.execute(sums):
        if total != (line_sum if line_sum is not None else Decimal("0.00")) or line_count != lines:
            bad.append(("total", quote_id, total, line_sum, line_count, lines))
    for row in conn.execute(select(ln.quote_id, ln.position, ln.quantity, ln.unit_price, ln.amount)):
        if row.amount != round_cents(row.quantity * row.unit_price):
            bad.append(("amount", *row))
    return bad


INVARIANTS: dict[str, Callable[[Connection], list[Any]]] = {
    "I1": i1_closed_opportunities_with_an_active_quote,
    "I2": i2_wrong_number_of_standing_closes,
    "I3": i3_won_quote_violations,
    "I4": i4_totals_that_are_not_the_sum_of_lines,
}


def invariant_violations(conn: Connection) -> dict[str, list[Any]]:
    """Only the invariants that are broken, with the rows that break them."""
    found = {name: check(conn) for name, check in INVARIANTS.items()}
    return {name: rows for name, rows in found.items() if rows}
