"""The use-case tier: every test runs three times, on the in-memory unit of work (`fake`) and on SQLite and
PostgreSQL (`sqlite`, `postgresql`). A test here speaks to the use cases only, never to tables, so that one test
holds both paths to the same rule; `-k fake` runs the fast path alone while iterating."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.services.ports import UnitOfWork
from tests.conftest import ENGINES, emptied_engine
from tests.fake_uow import FakeStore, FakeUnitOfWork
from tests.integration.builders import Desk
from tests.use_cases.support import UnitOfWorkFactory

PATHS = ["fake", *ENGINES]


@pytest.fixture(params=PATHS)
def make_uow(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> UnitOfWorkFactory:
    if request.param == "fake":
        store = FakeStore()
        return lambda clock: FakeUnitOfWork(clock, store)
    engine = emptied_engine(Settings(database_url=request.getfixturevalue(f"{request.param}_url")), engines)
    return lambda clock: SqlUnitOfWork(engine, clock)


@pytest.fixture
def uow(make_uow: UnitOfWorkFactory) -> UnitOfWork:
    return make_uow(SystemClock(ZoneInfo("UTC")))


@pytest.fixture
def admin(uow: UnitOfWork) -> Actor:
    with uow.transaction():
        return uow.users.ensure("admin", "admin")


@pytest.fixture
def desk(uow: UnitOfWork, admin: Actor) -> Desk:
    """A desk acting as the admin, on an empty store or database."""
    return Desk(uow, admin)
