"""Fixtures for the integration tests; every one of them runs on SQLite and on PostgreSQL (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from tests.integration.builders import Desk


@pytest.fixture
def desk(uow: SqlUnitOfWork, admin: Actor) -> Desk:
    """A desk acting as the admin, on a database emptied for this test."""
    return Desk(uow, admin)
