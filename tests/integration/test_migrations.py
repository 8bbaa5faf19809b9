"""The migrations build exactly the indexes db/tables.py declares, and the newest one goes down and up again cleanly,
on both engines (each in a database of its own: the shared test database stays at head)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from dealdesk.db import tables as t
from dealdesk.db.migrate import alembic_config, upgrade
from tests.conftest import ENGINES, POSTGRES_URL, _with_search_path


@pytest.fixture(params=ENGINES)
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"dd_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(_with_search_path(POSTGRES_URL, schema))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _indexes(engine: Engine, table: str) -> dict[str, tuple[str, ...]]:
    return {ix["name"]: tuple(ix["column_names"]) for ix in inspect(engine).get_indexes(table)}


def test_the_migrations_build_the_close_records_indexes_db_tables_declares(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    declared = {ix.name: tuple(c.name for c in ix.columns) for ix in t.opportunity_closes.indexes}
    assert _indexes(fresh_engine, "opportunity_closes") == declared


def test_the_report_index_migration_goes_down_and_up_again_to_the_same_indexes(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    at_head = _indexes(fresh_engine, "opportunity_closes")
    command.downgrade(alembic_config(fresh_engine), "0004")
    at_0004 = _indexes(fresh_engine, "opportunity_closes")
    assert "ix_opportunity_closes_standing_close_date_report" in at_0004
    assert "ix_opportunity_closes_standing_currency_close_date_report" not in at_0004
    upgrade(fresh_engine)
    assert _indexes(fresh_engine, "opportunity_closes") == at_head
