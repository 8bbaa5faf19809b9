"""Fixtures for the JSON API tests: one app per test, on a database emptied for it, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.web.app import create_app
from tests.api.builders import Desk


@pytest.fixture
def api(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh app; entering it runs the lifespan, which creates the default user."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def today(settings: Settings) -> date:
    """The business "today", judged in the business time zone as the app judges it."""
    return datetime.now(settings.zone).date()


@pytest.fixture
def desk(api: TestClient, today: date) -> Desk:
    return Desk(api, today)
