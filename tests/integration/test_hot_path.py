"""The hot path (db/hot_path.py) reads and writes exactly what the plain path (db/writes.py, SQLAlchemy Core) does.

PostgreSQL only: the hot path exists for it alone (SQLite always takes the plain path), so this module runs on the
session's PostgreSQL schema instead of on each engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Connection, Engine, bindparam, exc, select

from dealdesk.db import hot_path, writes
from dealdesk.db import tables as t
from dealdesk.db.opportunity_store import _plain_load
from dealdesk.db.writes import Steps, Write, WriteKind, inserts, update_by_id
from dealdesk.domain.states import Outcome, QuoteStatus
from dealdesk.services.ports import IdempotencyRequest, KeptAnswer, StoredAnswer
from tests.integration.builders import Desk, standard_lines


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    return postgresql_url


def _typed(rows: Any) -> list[dict[str, tuple[type, Any]]]:
    return [{name: (type(value), value) for name, value in dict(row).items()} for row in rows]


def test_a_deal_loaded_on_the_hot_path_has_the_same_rows_values_and_types_as_through_sqlalchemy(
    desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity(estimated_revenue="1250.10")
    quote = desk.active(opportunity.id, lines=standard_lines())
    desk.draft(opportunity.id)
    desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.LOST)

    with engine.begin() as conn:
        hot = hot_path.load_deal(conn, opportunity.id, lock=True, lines_of=[quote.id])
        plain = _plain_load(conn, [opportunity.id], lock=True, lines_of=[quote.id])

    assert len(hot.quotes) == 2 and len(hot.standing_closes) == 1 and len(hot.lines) == len(standard_lines())
    for part in ("opportunities", "quotes", "standing_closes", "lines"):
        assert _typed(getattr(hot, part)) == _typed(getattr(plain, part)), part
    other = desk.opportunity("Still open")
    with engine.begin() as conn:
        hot_many = hot_path.lock_deals(conn, sorted([opportunity.id, other.id]))
        plain_many = _plain_load(conn, sorted([opportunity.id, other.id]), lock=True, lines_of=())
    assert len(hot_many.opportunities) == 2 and len(hot_many.standing_closes) == 1
    for part in ("opportunities", "quotes", "standing_closes"):
        assert _typed(getattr(hot_many, part)) == _typed(getattr(plain_many, part)), part
    deal = hot.opportunities[0]
    assert str(deal["estimated_revenue"]) == "1250.10"
    assert deal["created_at"].tzinfo is UTC or deal["created_at"].utcoffset().total_seconds() == 0


def test_a_deal_that_is_not_there_loads_as_no_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        assert hot_path.load_deal(conn, uuid4(), lock=True, lines_of=()).opportunities == []
        assert hot_path.lock_deals(conn, [uuid4(), uuid4()]).opportunities == []


def _steps(desk: Desk, many: int) -> tuple[Steps, list[UUID]]:
    """Every kind of write the close sends: quote and deal updates (one and many), close records and audit entries
    (a few, and enough to go by COPY), a JSON null, and an idempotency answer."""
    deals = [desk.opportunity(f"Deal {n}") for n in range(many)]
    quotes = [desk.active(deal.id) for deal in deals]
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    closes = [
        {
            "id": uuid4(),
            "opportunity_id": deal.id,
            "outcome": "lost",
            "status_reason": "out_sold",
            "close_date": date(2026, 11, 26),
            "actual_revenue": Decimal("0.10"),
            "currency": "USD",
            "owner_id": deal.owner_id,
            "account_id": deal.account_id,
            "closed_by": deal.owner_id,
            "closed_at": at,
            "opportunity_created_on": date(2026, 11, 1),
            "created_at": at,
            "updated_at": at,
        }
        for deal in deals
    ]
    audit = [
        {
            "id": uuid4(),
            "seq": n,
            "at": at,
            "user_id": desk.actor.id,
            "record_type": "opportunity_close",
            "record_id": close["id"],
            "opportunity_id": close["opportunity_id"],
            "action": "create",
            "before": None,  # JSON null, not SQL NULL, as SQLAlchemy stores it
            "after": {"outcome": "lost", "actual_revenue": "0.10"},
        }
        for n, close in enumerate(closes)
    ]
    request = IdempotencyRequest(user_id=desk.actor.id, scope="POST /close", key=str(uuid4()), fingerprint="f")
    steps: Steps = [
        [update_by_id(t.quotes, q.id, {"state": "closed", "status_reason": "lost", "updated_at": at}) for q in quotes],
        [
            update_by_id(t.opportunities, d.id, {"state": "lost", "status_reason": "out_sold", "updated_at": at})
            for d in deals
        ],
        inserts(t.opportunity_closes, closes),
        inserts(t.audit_entries, audit),
        [writes.answer_write(KeptAnswer(request, StoredAnswer(200, b'{"ok": true}'), at=at))],
    ]
    return steps, [d.id for d in deals]


def _written(conn: Connection, deals: list[UUID]) -> dict[str, Any]:
    def rows(table: Any, column: Any) -> list[dict[str, Any]]:
        found = conn.execute(select(table).where(column.in_(deals)).order_by(*table.primary_key.columns))
        return _typed(row._mapping for row in found)

    audit = t.audit_entries
    return {
        "deals": rows(t.opportunities, t.opportunities.c.id),
        "quotes": rows(t.quotes, t.quotes.c.opportunity_id),
        "closes": rows(t.opportunity_closes, t.opportunity_closes.c.opportunity_id),
        "audit": rows(audit, audit.c.opportunity_id),
        "close audit": conn.execute(
            select(audit.c.before.is_(None)).where(
                audit.c.opportunity_id.in_(deals), audit.c.record_type == "opportunity_close"
            )
        ).all(),
        "answers": _typed(r._mapping for r in conn.execute(select(t.idempotency_keys))),
    }


@pytest.mark.parametrize("many", [1, 3, hot_path.COPY_FROM])
def test_a_save_sent_on_the_hot_path_writes_the_same_rows_as_the_plain_path(
    desk: Desk, engine: Engine, many: int
) -> None:
    steps, deals = _steps(desk, many)
    seen: dict[str, dict[str, Any]] = {}
    senders: dict[str, Callable[[Connection, Steps], None]] = {"plain": writes.send, "hot": hot_path.send}
    for name, send in senders.items():
        with engine.connect() as conn, conn.begin():
            send(conn, steps)
            seen[name] = _written(conn, deals)  # visible at once, on the transaction's connection
            conn.rollback()
    assert seen["hot"] == seen["plain"]
    assert len(seen["hot"]["closes"]) == many
    assert seen["hot"]["close audit"] == [(False,)] * many  # JSON null, not SQL NULL


def test_a_database_refusal_on_the_hot_path_comes_out_as_sqlalchemys_integrity_error(
    desk: Desk, engine: Engine
) -> None:
    deal = desk.opportunity()
    with engine.connect() as conn, conn.begin():
        row: Mapping[str, Any] = dict(
            conn.execute(select(t.opportunities).where(t.opportunities.c.id == deal.id)).one()._mapping
        )
        with pytest.raises(exc.IntegrityError):
            hot_path.send(conn, [[Write(WriteKind.INSERT, t.opportunities, row)]])  # the same primary key again


def test_a_missing_parameter_is_named_instead_of_sent_as_null(engine: Engine) -> None:
    statement = hot_path.Statement(select(t.opportunities).where(t.opportunities.c.id == bindparam("id")))
    with engine.connect() as conn, pytest.raises(KeyError, match="bind parameter 'id'"):
        hot_path.read(conn, statement, {})
