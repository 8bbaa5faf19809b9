"""Idempotency-Key means one execution (SPEC §7), proved with real server processes on SQLite and PostgreSQL:
identical requests sent at once run once (the others are told the first is still running, or get its answer); a
bulk close whose server is killed with SIGKILL half-way is finished by the retry, which answers, and stores, the
whole bulk's result as if it had run once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import pytest
from sqlalchemy import func, select

from dealdesk.db import tables as t
from dealdesk.domain.states import Role
from tests.integration.db_facts import invariant_violations
from tests.serving import free_port, wait_until_answering
from tests.trust.conftest import Database, process_env, stop
from tests.trust.holdups import held_up, open_deals, reading

BULK = "/api/opportunities/bulk-close"
LEASE_S = 2
"""The servers' lease (DEALDESK_IDEMPOTENCY_LEASE_S): short, so that the retry after a crash need not wait 15 s."""
SAME_TIME = 4


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_database")
    return found


@contextmanager
def server(database: Database, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One uvicorn process on the database, with the short lease; yields its URL and process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "dealdesk.web.app:create_app", "--factory", "--port", str(port)]
    env = {**process_env(database), "DEALDESK_IDEMPOTENCY_LEASE_S": str(LEASE_S)}
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        wait_until_answering(url, process, log)
        yield url, process
    finally:
        stop(process)


def _bulk_body(ids: list[UUID]) -> dict[str, Any]:
    return {"ids": [str(i) for i in ids], "outcome": "lost", "status_reason": "canceled", "close_date": _today()}


def _today() -> str:
    return date.today().isoformat()


def _closes_per_deal(database: Database) -> dict[UUID, int]:
    c = t.opportunity_closes.c
    with reading(database) as conn:
        rows = conn.execute(select(c.opportunity_id, func.count()).group_by(c.opportunity_id))
        return {row[0]: row[1] for row in rows}


def _lost(database: Database) -> int:
    with reading(database) as conn:
        return int(conn.execute(select(func.count()).where(t.opportunities.c.state == "lost")).scalar_one())


def _post_all_at_once(
    urls: list[str], path: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx2.Response]:
    """`SAME_TIME` identical requests sent together, spread over the servers."""

    def send(index: int) -> httpx2.Response:
        return httpx2.post(urls[index % len(urls)] + path, json=body, headers=headers, timeout=120)

    with ThreadPoolExecutor(SAME_TIME) as pool:
        return list(pool.map(send, range(SAME_TIME)))


def _replayed(response: httpx2.Response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


def test_identical_bulk_closes_sent_at_once_to_two_servers_run_once(database: Database, tmp_path: Path) -> None:
    ids = open_deals(database, 1000)
    headers = {"Authorization": f"Bearer {database.token('boss', Role.MANAGER)}", "Idempotency-Key": "bulk-once"}
    with ExitStack() as stack:
        urls = [stack.enter_context(server(database, tmp_path / f"server-{i}.log"))[0] for i in range(2)]

        answers = _post_all_at_once(urls, BULK, _bulk_body(ids), headers)
        later = httpx2.post(urls[0] + BULK, json=_bulk_body(ids), headers=headers, timeout=120)

    ran = [a for a in answers if a.status_code == 200 and not _replayed(a)]
    waiting = [a for a in answers if a.status_code == 409]
    assert len(ran) == 1, [(a.status_code, a.text[:200]) for a in answers]
    assert all(a.status_code in (200, 409) for a in answers), [(a.status_code, a.text[:200]) for a in answers]
    assert all(a.content == ran[0].content for a in answers if a.status_code == 200)
    assert all(a.json()["code"] == "idempotency_key_in_progress" for a in waiting)
    assert all(int(a.headers["retry-after"]) >= 1 for a in waiting)
    assert ran[0].json()["closed"] == 1000
    assert (later.status_code, _replayed(later), later.content) == (200, True, ran[0].content)
    assert _closes_per_deal(database) == dict.fromkeys(ids, 1)


@pytest.mark.parametrize("action", ["close", "win"])
def test_identical_closes_or_wins_sent_at_once_to_two_servers_run_once_and_all_get_its_answer(
    database: Database, tmp_path: Path, action: str
) -> None:
    (deal,) = open_deals(database, 1, with_active_quote=True)
    with database.engine.connect() as conn:
        quote_id = conn.execute(select(t.quotes.c.id)).scalar_one()
    if action == "close":
        body: dict[str, object]
        path, body = f"/api/opportunities/{deal}/close", {"outcome": "lost", "status_reason": "canceled"}
        body |= {"close_date": _today(), "close_quotes": "lost"}
    else:
        path, body = f"/api/quotes/{quote_id}/win", {"close_opportunity": True}
    headers = {"Authorization": f"Bearer {database.token('boss', Role.MANAGER)}", "Idempotency-Key": f"{action}-once"}
    with ExitStack() as stack:
        urls = [stack.enter_context(server(database, tmp_path / f"server-{i}.log"))[0] for i in range(2)]

        answers = _post_all_at_once(urls, path, body, headers)

    assert [a.status_code for a in answers] == [200] * SAME_TIME, [a.text[:300] for a in answers]
    assert sum(1 for a in answers if not _replayed(a)) == 1
    assert len({a.content for a in answers}) == 1
    assert _closes_per_deal(database) == {deal: 1}


def test_a_bulk_close_whose_server_is_killed_mid_way_is_finished_by_the_retry_and_answered_as_a_whole(
    database: Database, tmp_path: Path
) -> None:
    ids = open_deals(database, 1000)
    headers = {"Authorization": f"Bearer {database.token('boss', Role.MANAGER)}", "Idempotency-Key": "bulk-crash"}
    body = _bulk_body(ids)
    log = tmp_path / "server.log"

    with (
        server(database, log) as (url, process),
        held_up(database, ids[-1]),
        ThreadPoolExecutor(1) as pool,
    ):
        pending = pool.submit(httpx2.post, url + BULK, json=body, headers=headers, timeout=120)
        deadline = time.monotonic() + 60
        while _lost(database) == 0 and time.monotonic() < deadline and not pending.done():
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        with pytest.raises(httpx2.TransportError):
            pending.result()
    closed_at_kill = _lost(database)
    assert 0 < closed_at_kill < len(ids), "the kill did not land mid-way"

    with server(database, log) as (url, _process):
        retries: list[httpx2.Response] = []
        while not retries or retries[-1].status_code == 409:
            retries.append(httpx2.post(url + BULK, json=body, headers=headers, timeout=120))
            if retries[-1].status_code == 409:
                time.sleep(int(retries[-1].headers["retry-after"]))
        again = httpx2.post(url + BULK, json=body, headers=headers, timeout=120)

    answer = retries[-1]
    assert answer.status_code == 200, answer.text[:500]
    assert all(r.json()["code"] == "idempotency_key_in_progress" for r in retries[:-1])
    assert (answer.json()["closed"], answer.json()["failed"]) == (len(ids), 0)
    assert [row["id"] for row in answer.json()["results"]] == [str(i) for i in ids]
    assert (again.status_code, _replayed(again), again.content) == (200, True, answer.content)
    assert _closes_per_deal(database) == dict.fromkeys(ids, 1)
    with database.engine.connect() as conn:
        assert invariant_violations(conn) == {}
