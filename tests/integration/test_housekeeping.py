"""Expired sessions, old sign-in counters and idempotency keys older than 24 hours are pruned, in short batches, by
`dealdesk db prune` and by every server now and then; everything still alive stays."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from dealdesk.cli.app import app as cli
from dealdesk.config import Settings
from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.services.housekeeping import prune
from dealdesk.web.app import create_app

EXPIRED = 3
"""Rows of each kind that have expired (more than one batch of 2)."""


def _fill(engine: Engine, admin: Actor) -> None:
    """Of each kind, EXPIRED rows that have expired and one that has not."""
    now = datetime.now(UTC)
    times = [now - timedelta(days=2, minutes=n) for n in range(EXPIRED)] + [now - timedelta(minutes=1)]
    with engine.begin() as conn:
        for n, at in enumerate(times):
            conn.execute(
                insert(t.web_sessions).values(
                    digest=f"session-{n}",
                    user_id=admin.id,
                    csrf_token="x",
                    created_at=at - timedelta(hours=1),
                    expires_at=at if at < now - timedelta(hours=1) else now + timedelta(hours=8),
                )
            )
            conn.execute(insert(t.rate_limits).values(key=f"name:{n}", window_start=at, hits=1))
            common = {"user_id": admin.id, "scope": "POST /api/opportunities/bulk-close", "key": f"key-{n}"}
            conn.execute(
                insert(t.idempotency_keys).values(**common, fingerprint="f", status_code=200, body=b"{}", created_at=at)
            )
            conn.execute(
                insert(t.idempotency_runs).values(
                    **common, fingerprint="f", lease_owner=uuid4(), lease_until=at, progress=None, created_at=at
                )
            )


def _left(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: len(conn.execute(select(table)).all())
            for table in (t.web_sessions, t.rate_limits, t.idempotency_keys, t.idempotency_runs)
        }


ONE_EACH = {"web_sessions": 1, "rate_limits": 1, "idempotency_keys": 1, "idempotency_runs": 1}


def test_pruning_deletes_what_expired_in_batches_and_keeps_the_rest(
    engine: Engine, uow: SqlUnitOfWork, admin: Actor
) -> None:
    _fill(engine, admin)

    pruned = prune(uow, batch=2)

    assert pruned == dict.fromkeys(("sessions", "rate_limits", "idempotency_keys", "idempotency_runs"), EXPIRED)
    assert _left(engine) == ONE_EACH


def test_a_round_stops_after_its_batches_and_the_next_round_goes_on(
    engine: Engine, uow: SqlUnitOfWork, admin: Actor
) -> None:
    _fill(engine, admin)

    first = prune(uow, batch=2, max_batches=1)
    second = prune(uow, batch=2, max_batches=1)

    assert set(first.values()) == {2} and set(second.values()) == {EXPIRED - 2}
    assert _left(engine) == ONE_EACH


def test_dealdesk_db_prune_prunes_and_says_how_much(
    engine: Engine, admin: Actor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(engine, admin)
    monkeypatch.setenv("DEALDESK_DATABASE_URL", settings.database_url)

    done = CliRunner().invoke(cli, ["db", "prune"])

    assert done.exit_code == 0, done.output
    assert f"pruned {EXPIRED} sessions, {EXPIRED} rate limits" in done.output
    assert _left(engine) == ONE_EACH


def test_a_running_server_prunes_now_and_then(engine: Engine, admin: Actor, settings: Settings) -> None:
    _fill(engine, admin)

    with TestClient(create_app(settings.model_copy(update={"prune_every_s": 0.1}))):
        deadline = time.monotonic() + 20
        while _left(engine) != ONE_EACH and time.monotonic() < deadline:
            time.sleep(0.1)

    assert _left(engine) == ONE_EACH
