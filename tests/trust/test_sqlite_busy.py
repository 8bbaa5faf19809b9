"""SQLite has one writer. A request that waits for it past the busy timeout (another process holds it: a large
import, a backup) answers 503 `busy` with Retry-After, never a 500 "database is locked" (SPEC §7), and the same
request succeeds once the writer is free."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx2
from sqlalchemy import select

from dealdesk.db import tables as t
from dealdesk.domain.states import Role
from dealdesk.services import catalogue, opportunities
from dealdesk.services.opportunities import NewOpportunity
from tests.serving import free_port, wait_until_answering
from tests.trust.conftest import Database, process_env, stop


def test_a_change_that_waits_past_the_busy_timeout_is_503_busy_and_succeeds_when_the_writer_is_free(
    sqlite_database: Database, tmp_path: Path
) -> None:
    token = sqlite_database.token("boss", Role.MANAGER)
    uow = sqlite_database.uow()
    with uow.transaction():
        boss = uow.users.ensure("boss", "manager")
    account = catalogue.create_account(uow, name="Acme", actor=boss)
    deal = opportunities.create_opportunity(
        uow, NewOpportunity(name="Plant", account_id=account.id, estimated_revenue=Decimal("10.00")), actor=boss
    )
    port = free_port()
    env = {**process_env(sqlite_database), "DEALDESK_SQLITE_BUSY_TIMEOUT_MS": "300"}
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "uvicorn", "dealdesk.web.app:create_app", "--factory", "--port", str(port)]
    headers = {"Authorization": f"Bearer {token}"}
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base, server, log)
        # The writer held by another process's transaction, as a long import holds it (BEGIN IMMEDIATE).
        with sqlite_database.engine.connect() as holder, holder.begin():
            holder.execute(select(t.accounts.c.id).limit(1))
            waited = httpx2.patch(f"{base}/api/opportunities/{deal.id}", json={"name": "Plant 2"}, headers=headers)
            read = httpx2.get(f"{base}/api/opportunities/{deal.id}", headers=headers)
        retried = httpx2.patch(f"{base}/api/opportunities/{deal.id}", json={"name": "Plant 2"}, headers=headers)
    finally:
        stop(server)

    assert waited.status_code == 503, waited.text
    assert waited.headers["content-type"] == "application/problem+json"
    assert waited.json()["code"] == "busy"
    assert int(waited.headers["retry-after"]) >= 1
    assert read.status_code == 200, "readers are not held up by the writer (WAL)"
    assert retried.status_code == 200 and retried.json()["name"] == "Plant 2"
    assert "Traceback" not in log.read_text()
