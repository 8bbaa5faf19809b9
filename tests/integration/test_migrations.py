"""The migrations build exactly the schema db/tables.py declares — every table, column, constraint and index, CHECK
expressions and partial-index conditions included — and they go down and up again cleanly, on both engines (each in
a database of its own: the shared test database stays at head)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, Engine, ForeignKeyConstraint, create_engine, inspect, text

from dealdesk.db import tables as t
from dealdesk.db.migrate import alembic_config, upgrade
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
    return engine


def _indexes(engine: Engine, table: str) -> dict[str, tuple[str, ...]]:
    return {ix["name"]: tuple(ix["column_names"]) for ix in inspect(engine).get_indexes(table)}


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


ALTERATIONS: dict[str, Callable[[pytest.MonkeyPatch], str]] = {
    "a CHECK expression": lambda patch: (
        patch.setattr(_check("quotes", "ck_quotes_total_amount"), "sqltext", text("total_amount >= 0"))
        or "ck_quotes_total_amount"
    ),
    "a partial index's condition": lambda patch: (
        [
            patch.setitem(ix.dialect_options[dialect], "where", text("state = 'closed'"))
            for ix in t.quotes.indexes
            if ix.name == "ix_quotes_one_won_per_opportunity"
            for dialect in ("sqlite", "postgresql")
        ]
        and "ix_quotes_one_won_per_opportunity"
    ),
    "a foreign key checked at once instead of at commit": lambda patch: (
        [
            patch.setattr(_foreign_key("opportunities", "fk_opportunities_won_quote_id_quotes"), name, None)
            for name in ("deferrable", "initially")
        ]
        and "fk_opportunities_won_quote_id_quotes"
    ),
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
