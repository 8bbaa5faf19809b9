"""The migrations build exactly the schema db/tables.py declares — every table, column, constraint and index, CHECK
expressions and partial-index conditions included — and they go down and up again cleanly, on both engines (each in
a database of its own: the shared test database stays at head)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from alembic import command
from sqlalchemy import (
    CheckConstraint,
    Connection,
    Engine,
    ForeignKeyConstraint,
    create_engine,
    insert,
    inspect,
    text,
    update,
)
from typer.testing import CliRunner

from dealdesk.cli.app import app as cli
from dealdesk.db import tables as t
from dealdesk.db.migrate import RowsBreakNewRules, alembic_config, upgrade
from tests.conftest import ENGINES, POSTGRES_URL, _with_search_path
from tests.integration.schema_ddl import differences, schema_of

EngineFactory = Callable[[], Engine]


@pytest.fixture(params=ENGINES)
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """Makes empty databases of the engine under test: SQLite files, or PostgreSQL schemas of their own."""
    made: list[Engine] = []
    schemas: list[str] = []
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def make() -> Engine:
        if request.param == "sqlite":
            engine = create_engine(f"sqlite:///{tmp_path / f'db{len(made)}.db'}")
        else:
            schema = f"dd_migrations_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            engine = create_engine(_with_search_path(POSTGRES_URL, schema))
        made.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in made:
            engine.dispose()
        if schemas:
            with admin.connect() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_engine(new_database: EngineFactory) -> Engine:
    return new_database()


def _declared(new_database: EngineFactory) -> Engine:
    """A database built by `metadata.create_all`, from a copy: creating the deal's cyclic foreign keys on PostgreSQL
    (ALTER TABLE … ADD CONSTRAINT) marks them in SQLAlchemy as never to be written inline again, which is how SQLite
    must write them, so a later SQLite build in this process would silently lack them."""
    engine = new_database()
    copy.deepcopy(t.metadata).create_all(engine)
    with engine.begin() as conn:  # triggers are DDL of their own, which `create_all` knows nothing of
        for statement in t.stale_month_triggers(engine.dialect.name):
            conn.execute(text(statement))
    return engine


def _indexes(engine: Engine, table: str) -> dict[str, tuple[str, ...]]:
    return {str(ix["name"]): tuple(str(c) for c in ix["column_names"]) for ix in inspect(engine).get_indexes(table)}


def test_the_migrations_build_exactly_the_schema_db_tables_declares(new_database: EngineFactory) -> None:
    migrated = new_database()
    upgrade(migrated)

    assert differences(schema_of(migrated), schema_of(_declared(new_database))) == []


def _check(table: str, name: str) -> CheckConstraint:
    [check] = [c for c in t.metadata.tables[table].constraints if c.name == name]
    assert isinstance(check, CheckConstraint)
    return check


def _foreign_key(table: str, name: str) -> ForeignKeyConstraint:
    [key] = [c for c in t.metadata.tables[table].constraints if c.name == name]
    assert isinstance(key, ForeignKeyConstraint)
    return key


def _alter_a_check(patch: pytest.MonkeyPatch) -> str:
    patch.setattr(_check("quotes", "ck_quotes_total_amount"), "sqltext", text("total_amount >= 0"))
    return "ck_quotes_total_amount"


def _alter_a_partial_index(patch: pytest.MonkeyPatch) -> str:
    [index] = [ix for ix in t.quotes.indexes if ix.name == "ix_quotes_one_won_per_opportunity"]
    for dialect in ("sqlite", "postgresql"):
        patch.setitem(index.dialect_options[dialect], "where", text("state = 'closed'"))
    return "ix_quotes_one_won_per_opportunity"


def _check_a_key_at_once(patch: pytest.MonkeyPatch) -> str:
    for name in ("deferrable", "initially"):
        patch.setattr(_foreign_key("opportunities", "fk_opportunities_won_quote_id_quotes"), name, None)
    return "fk_opportunities_won_quote_id_quotes"


ALTERATIONS: dict[str, Callable[[pytest.MonkeyPatch], str]] = {
    "a CHECK expression": _alter_a_check,
    "a partial index's condition": _alter_a_partial_index,
    "a foreign key checked at once instead of at commit": _check_a_key_at_once,
}


@pytest.mark.parametrize("alteration", ALTERATIONS)
def test_the_schema_comparison_notices_when_db_tables_declares_something_else(
    new_database: EngineFactory, monkeypatch: pytest.MonkeyPatch, alteration: str
) -> None:
    migrated = new_database()
    upgrade(migrated)
    changed = ALTERATIONS[alteration](monkeypatch)

    found = differences(schema_of(migrated), schema_of(_declared(new_database)))

    assert found and all(changed in line for line in found), found


def test_the_report_index_migration_goes_down_and_up_again_to_the_same_indexes(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    at_head = _indexes(fresh_engine, "opportunity_closes")
    command.downgrade(alembic_config(fresh_engine), "0004")
    at_0004 = _indexes(fresh_engine, "opportunity_closes")
    assert "ix_opportunity_closes_standing_close_date_report" in at_0004
    assert "ix_opportunity_closes_standing_currency_close_date_report" not in at_0004
    upgrade(fresh_engine)
    assert _indexes(fresh_engine, "opportunity_closes") == at_head


def test_the_invariants_migration_goes_down_to_the_0005_schema_and_up_again_to_head(
    new_database: EngineFactory,
) -> None:
    at_0005 = new_database()
    upgrade(at_0005, "0005")
    migrated = new_database()
    upgrade(migrated)
    at_head = schema_of(migrated)

    command.downgrade(alembic_config(migrated), "0005")
    assert differences(schema_of(migrated), schema_of(at_0005)) == []
    upgrade(migrated)
    assert differences(schema_of(migrated), at_head) == []


def test_the_close_policy_migration_goes_down_to_the_0009_schema_and_up_again_to_head(
    new_database: EngineFactory,
) -> None:
    at_0009 = new_database()
    upgrade(at_0009, "0009")
    migrated = new_database()
    upgrade(migrated)
    at_head = schema_of(migrated)
    assert "close_policy" in inspect(migrated).get_table_names()

    command.downgrade(alembic_config(migrated), "0009")
    assert differences(schema_of(migrated), schema_of(at_0009)) == []
    upgrade(migrated)
    assert differences(schema_of(migrated), at_head) == []


# ---------------------------------------------------------------------------------------------- the pre-check of 0006
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _stamped(**row: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "created_at": AT, "updated_at": AT, **row}


def _deal(conn: Connection, user: UUID, account: UUID, **row: Any) -> UUID:
    deal = _stamped(
        name="Deal",
        account_id=account,
        currency="USD",
        estimated_revenue=Decimal("10.00"),
        owner_id=user,
        state="open",
        status_reason="in_progress",
        version=1,
    )
    deal.update(row)
    conn.execute(insert(t.opportunities), [deal])
    return UUID(str(deal["id"]))


def _close(conn: Connection, deal: UUID, user: UUID, account: UUID, **row: Any) -> UUID:
    close = _stamped(
        opportunity_id=deal,
        outcome="won",
        status_reason="won",
        close_date=date(2026, 11, 1),
        actual_revenue=Decimal("10.00"),
        currency="USD",
        owner_id=user,
        account_id=account,
        closed_by=user,
        closed_at=AT,
        opportunity_created_on=date(2026, 10, 1),
    )
    close.update(row)
    conn.execute(insert(t.opportunity_closes), [close])
    return UUID(str(close["id"]))


def _won_quote(conn: Connection, deal: UUID, number: str) -> UUID:
    quote = _stamped(
        opportunity_id=deal,
        number=number,
        revision=0,
        name="Offer",
        state="won",
        status_reason="won",
        total_amount=Decimal("10.00"),
        line_count=0,
        version=1,
    )
    conn.execute(insert(t.quotes), [quote])
    return UUID(str(quote["id"]))


def _rows_breaking_every_new_rule(engine: Engine) -> dict[str, UUID]:
    """At 0005: one row (or pair) for each rule 0006 adds, written straight in SQL as an old bug might have."""
    with engine.begin() as conn:
        user, account = uuid.uuid4(), uuid.uuid4()
        conn.execute(insert(t.users), [_stamped(id=user, name="old", role="sales", active=True)])
        conn.execute(insert(t.accounts), [_stamped(id=account, name="Acme")])
        made_up = _deal(conn, user, account, currency="ZZZ")
        gold = _deal(conn, user, account, currency="XAU")
        negative = _deal(conn, user, account, estimated_revenue=Decimal("-1.00"))
        twice_closed = _deal(conn, user, account, state="won", status_reason="won")
        year_one = _close(conn, twice_closed, user, account, close_date=date(1, 1, 1))
        second = _close(conn, twice_closed, user, account)
        twice_won = _deal(conn, user, account)
        first_won, second_won = _won_quote(conn, twice_won, "Q-1"), _won_quote(conn, twice_won, "Q-2")
        lost_with_won = _deal(conn, user, account, state="lost", status_reason="canceled", won_quote_id=first_won)
        dangling = _close(conn, _deal(conn, user, account), user, account, closed_by=uuid.uuid4())
    return {
        "made_up": made_up,
        "gold": gold,
        "negative": negative,
        "year_one": year_one,
        "second": second,
        "first_won": first_won,
        "second_won": second_won,
        "lost_with_won": lost_with_won,
        "dangling": dangling,
    }


def test_the_invariants_migration_names_every_row_that_breaks_a_new_rule_and_changes_nothing(
    new_database: EngineFactory,
) -> None:
    engine = new_database()
    upgrade(engine, "0005")
    bad = _rows_breaking_every_new_rule(engine)
    before = schema_of(engine)

    with pytest.raises(RowsBreakNewRules) as refused:
        upgrade(engine)

    named = set(refused.value.rows)
    assert {
        f"opportunities {bad['made_up']}: currency 'ZZZ' is not a current ISO 4217 code",
        f"opportunities {bad['gold']}: currency 'XAU' is not a current ISO 4217 code",
        f"opportunities {bad['negative']}: negative estimated_revenue",
        f"opportunity_closes {bad['year_one']}: close_date before 1900-01-01",
        f"opportunities {bad['lost_with_won']}: lost with a won quote",
        f"opportunity_closes {bad['dangling']}: closed_by names no row of users",
    } <= named, named
    assert any(row.startswith(f"opportunity_closes {bad['second']}: ") and "standing close" in row for row in named)
    for quote in ("first_won", "second_won"):
        assert any(row.startswith(f"quotes {bad[quote]}: ") and "one won quote" in row for row in named)
    assert differences(schema_of(engine), before) == [], "nothing changed"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0005"


def test_the_invariants_migration_runs_once_the_rows_named_are_put_right(new_database: EngineFactory) -> None:
    engine = new_database()
    upgrade(engine, "0005")
    bad = _rows_breaking_every_new_rule(engine)
    with pytest.raises(RowsBreakNewRules):
        upgrade(engine)
    with engine.begin() as conn:
        opp, close, quote = t.opportunities, t.opportunity_closes, t.quotes
        conn.execute(update(opp).where(opp.c.currency.in_(["ZZZ", "XAU"])).values(currency="USD"))
        conn.execute(update(opp).where(opp.c.id == bad["negative"]).values(estimated_revenue=Decimal("0.00")))
        conn.execute(update(opp).where(opp.c.id == bad["lost_with_won"]).values(won_quote_id=None))
        conn.execute(update(close).where(close.c.id == bad["year_one"]).values(close_date=date(2001, 1, 1)))
        conn.execute(update(close).where(close.c.id == bad["second"]).values(reopened_at=AT))
        conn.execute(update(close).where(close.c.closed_by != close.c.owner_id).values(closed_by=close.c.owner_id))
        conn.execute(update(quote).where(quote.c.id == bad["second_won"]).values(state="closed", status_reason="lost"))

    upgrade(engine, "0006")

    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"


def test_db_upgrade_prints_the_rows_to_put_right_and_exits_1_changing_nothing(
    new_database: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = new_database()
    upgrade(engine, "0005")
    bad = _rows_breaking_every_new_rule(engine)
    monkeypatch.setenv("DEALDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))

    result = CliRunner().invoke(cli, ["db", "upgrade"])

    assert result.exit_code == 1, result.output
    assert f"opportunities {bad['made_up']}: currency 'ZZZ' is not a current ISO 4217 code" in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0005"
