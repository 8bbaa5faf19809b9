"""Statements run straight on the driver (db/direct.py) answer exactly what SQLAlchemy would, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, bindparam, exc, insert, select

from dealdesk.db import tables as t
from dealdesk.db.batched_writes import _insert_into
from dealdesk.db.direct import Direct
from tests.integration.builders import Desk

_opp = t.opportunities
_BY_ID = select(_opp).where(_opp.c.id == bindparam("id"))


def _through_sqlalchemy(engine: Engine, opportunity_id: UUID) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(_BY_ID, {"id": opportunity_id}).one()._mapping)


def test_a_row_read_direct_holds_the_same_values_and_types_as_through_sqlalchemy(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity(estimated_revenue="1250.10")
    with engine.begin() as conn:
        row = Direct(_BY_ID).first(conn, {"id": opportunity.id})
    assert row is not None
    expected = _through_sqlalchemy(engine, opportunity.id)
    assert dict(row._mapping) == expected
    assert {name: type(value) for name, value in row._mapping.items()} == {
        name: type(value) for name, value in expected.items()
    }
    assert row.estimated_revenue == Decimal("1250.10") and str(row.estimated_revenue) == "1250.10"
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)
    assert isinstance(row.id, UUID)


def test_a_read_direct_that_finds_nothing_answers_none_and_no_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        assert Direct(_BY_ID).first(conn, {"id": uuid4()}) is None
        assert Direct(_BY_ID).rows(conn, {"id": uuid4()}) == []


def test_a_write_direct_converts_money_and_times_like_sqlalchemy_and_sees_its_own_transaction(
    desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    row = {
        "id": uuid4(),
        "opportunity_id": opportunity.id,
        "outcome": "won",
        "status_reason": "won",
        "close_date": date(2026, 11, 26),
        "actual_revenue": Decimal("0.10"),
        "currency": "USD",
        "owner_id": opportunity.owner_id,
        "account_id": opportunity.account_id,
        "closed_by": opportunity.owner_id,
        "closed_at": at,
        "opportunity_created_on": date(2026, 11, 1),
        "created_at": at,
        "updated_at": at,
    }
    closes = t.opportunity_closes
    with engine.begin() as conn:
        Direct(_insert_into(closes)).run(conn, [row])
        seen = Direct(select(closes).where(closes.c.id == bindparam("id"))).first(conn, {"id": row["id"]})
        assert seen is not None and seen.actual_revenue == Decimal("0.10") and seen.closed_at == at
        conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(closes.c.id).where(closes.c.id == row["id"])).first() is None


def test_a_database_refusal_direct_comes_out_as_sqlalchemys_integrity_error(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    row = _through_sqlalchemy(engine, opportunity.id)
    with engine.begin() as conn, pytest.raises(exc.IntegrityError):
        Direct(_insert_into(_opp)).run(conn, [row])  # the same primary key again


def test_a_missing_parameter_is_named_instead_of_sent_as_null(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises((KeyError, exc.StatementError), match="bind parameter 'id'"):
        Direct(_BY_ID).first(conn, {})


def test_column_defaults_computed_in_python_are_refused_direct_and_filled_in_through_sqlalchemy(engine: Engine) -> None:
    at = datetime(2026, 11, 26, tzinfo=UTC)
    user = {"id": uuid4(), "name": "direct-default", "role": "sales", "created_at": at, "updated_at": at}
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            with pytest.raises(NotImplementedError, match="column defaults"):
                Direct(insert(t.users)).run(conn, [user])
        else:  # SQLite runs every Direct statement through SQLAlchemy, which computes `active`
            Direct(insert(t.users)).run(conn, [user])
            assert conn.execute(select(t.users.c.active).where(t.users.c.id == user["id"])).scalar_one() is True


def test_an_audit_entry_written_direct_is_stored_exactly_as_through_sqlalchemy(engine: Engine) -> None:
    audit = t.audit_entries
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    user = {"id": uuid4(), "name": "auditor", "role": "sales", "active": True, "created_at": at, "updated_at": at}

    def entry() -> dict[str, Any]:
        return {
            "id": uuid4(),
            "seq": 1,
            "at": at,
            "user_id": user["id"],  # an entry names a real user: the audit table's foreign key
            "record_type": "opportunity_close",
            "record_id": uuid4(),
            "opportunity_id": None,
            "action": "create",
            "before": None,  # JSON null, not SQL NULL, as SQLAlchemy stores it
            "after": {"outcome": "won", "actual_revenue": "10.00"},
        }

    direct, through_sqlalchemy = entry(), entry()
    stored = select(
        audit.c.before.is_(None).label("before_is_sql_null"),
        audit.c.opportunity_id.is_(None).label("opportunity_is_sql_null"),
        audit.c.after,
        audit.c.at,
    ).where(audit.c.id == bindparam("id"))
    with engine.begin() as conn:
        conn.execute(insert(t.users), [user])
        Direct(_insert_into(audit)).run(conn, [direct])
        conn.execute(_insert_into(audit), [through_sqlalchemy])
        seen = {row["id"]: tuple(conn.execute(stored, {"id": row["id"]}).one()) for row in (direct, through_sqlalchemy)}
        conn.rollback()
    assert seen[direct["id"]] == seen[through_sqlalchemy["id"]]
