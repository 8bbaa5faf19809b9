"""What the close costs in round trips to PostgreSQL, read from libpq's own trace of every connection the app uses:
each answer that ends with ReadyForQuery is one round trip (a simple query, or a pipeline's sync). This holds the
hot path (db/hot_path.py) to what it exists for.

PostgreSQL only: SQLite has no round trips, so this module runs on the session's PostgreSQL schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.api.builders import Desk


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    return postgresql_url


@contextmanager
def traced(engine: Engine) -> Iterator[list[str]]:
    """The client's messages (F) and the server's (B) of every connection checked out while the block runs."""
    messages: list[str] = []
    files: dict[int, IO[str]] = {}

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        trace = files[id(dbapi_connection)] = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - read at checkin
        dbapi_connection.pgconn.trace(trace.fileno())

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        trace = files.pop(id(dbapi_connection), None)
        if trace is None:
            return
        dbapi_connection.pgconn.untrace()
        trace.seek(0)
        for line in trace:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 4:  # the rest of a statement's text that runs over several lines
                continue
            _at, direction, _length, message, *text = fields
            messages.append(f"{direction} {message.strip()}" + (f" {text[0].strip()[:70]}" if text else ""))
        trace.close()

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield messages
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def round_trips(messages: list[str]) -> list[list[str]]:
    """The messages cut after each ReadyForQuery: one list per round trip."""
    trips: list[list[str]] = [[]]
    for message in messages:
        trips[-1].append(message)
        if message.startswith("B ReadyForQuery"):
            trips.append([])
    return trips[:-1]


def statements(trip: list[str]) -> int:
    return sum(1 for message in trip if message.startswith(("F Execute", "F Query")))


def close_traced(api: TestClient, desk: Desk, headers: dict[str, str]) -> list[list[str]]:
    """The round trips of one close (lost, closing its active quote) through the API."""
    opportunity = desk.opportunity()
    desk.active_quote(opportunity)
    app_engine: Engine = api.app.state.engine  # type: ignore[attr-defined]
    body = {
        "outcome": "lost",
        "status_reason": "canceled",
        "close_date": desk.today.isoformat(),
        "close_quotes": "lost",
    }
    with traced(app_engine) as messages:
        response = api.post(f"/api/opportunities/{opportunity['id']}/close", json=body, headers=headers)
    assert response.status_code == 200, response.text
    trips = round_trips(messages)
    print("\n" + "\n".join(f"{statements(trip)}: {[m for m in trip if m.startswith('F Parse')]}" for trip in trips))
    return trips


def test_on_postgresql_a_close_takes_one_round_trip_for_the_token_and_three_for_itself(
    api: TestClient, desk: Desk
) -> None:
    token, deal, writes, commit = close_traced(api, desk, headers={})
    assert statements(token) == 1 and not any("BEGIN" in m or "COMMIT" in m for m in token)
    # BEGIN goes out with the reads: the lock, the quotes, the standing close and the close policy
    assert any("BEGIN" in m for m in deal[:3]) and statements(deal) == 5
    # the quote's and the deal's updates, the close record, and the audit entries of the quote, the deal and the close
    assert statements(writes) == 6 and not any("COMMIT" in m for m in writes)
    assert any("COMMIT" in m for m in commit) and statements(commit) == 1


def test_with_an_idempotency_key_the_answer_kept_is_read_with_the_deal_and_written_with_the_close(
    api: TestClient, desk: Desk
) -> None:
    token, deal, writes, commit = close_traced(api, desk, headers={"Idempotency-Key": "round-trips-1"})
    assert statements(token) == 1
    assert statements(deal) == 6 and any("idempotency_keys" in m for m in deal)
    assert statements(writes) == 7 and any("idempotency_keys" in m for m in writes)
    assert any("COMMIT" in m for m in commit)
