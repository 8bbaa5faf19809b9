"""Fixtures for the JSON API tests: one app per test, on a database emptied for it, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.api.builders import Desk


@pytest.fixture
def admin_token(engine: Engine, settings: Settings) -> str:
    """An API token of a fresh admin user (every table was emptied for this test)."""
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "admin", Role.ADMIN, password=None).token


@pytest.fixture
def api(engine: Engine, settings: Settings, admin_token: str) -> Iterator[TestClient]:
    """A client of a fresh app, signed in as an admin with a bearer token."""
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {admin_token}"}) as client:
        yield client


@pytest.fixture
def today(settings: Settings) -> date:
    """The business "today", judged in the business time zone as the app judges it."""
    return datetime.now(settings.zone).date()


@pytest.fixture
def desk(api: TestClient, today: date) -> Desk:
    return Desk(api, today)
