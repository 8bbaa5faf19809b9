"""Shared fixtures: every DB-backed test runs on SQLite and on PostgreSQL.

Each engine is migrated once per test session (PostgreSQL in a fresh schema of its own, dropped at the end);
tables are emptied before each test, which is far cheaper than migrating again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import upgrade
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor

ENGINES = ["sqlite", "postgresql"]
POSTGRES_URL = os.environ.get("DEALDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema for this test session; PostgreSQL must answer (tests never skip it)."""
    schema = f"dd_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _migrated(url: str) -> str:
    engine = make_engine(Settings(database_url=url))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's migrated SQLite database."""
    return _migrated(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'dealdesk.db'}")


@pytest.fixture(scope="session")
def postgresql_url(postgres_schema_url: str) -> str:
    """The session's migrated PostgreSQL schema."""
    return _migrated(postgres_schema_url)


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database per engine, once per session (`sqlite_url` or `postgresql_url`)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    cache: dict[str, Engine] = {}
    yield cache
    for engine in cache.values():
        engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            if table is not tables.quote_numbers:
                conn.execute(table.delete())
        conn.execute(tables.close_summary_stale.delete())  # deleting past closes marked their months again


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


def emptied_engine(settings: Settings, engines: dict[str, Engine]) -> Engine:
    """The session's engine for this database, with every table emptied first."""
    if settings.database_url not in engines:
        engines[settings.database_url] = make_engine(settings)
    engine = engines[settings.database_url]
    empty_all_tables(engine)
    return engine


@pytest.fixture
def engine(settings: Settings, engines: dict[str, Engine]) -> Engine:
    """The session's engine for this database, with every table emptied first."""
    return emptied_engine(settings, engines)


@pytest.fixture
def engine_name(settings: Settings) -> str:
    return "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def uow(engine: Engine, settings: Settings) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, SystemClock(settings.zone))


@pytest.fixture
def admin(uow: SqlUnitOfWork) -> Actor:
    with uow.transaction():
        return uow.users.ensure("admin", "admin")


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
