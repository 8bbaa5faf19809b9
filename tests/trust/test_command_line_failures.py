"""The command line when things go wrong (SPEC §9): a database that cannot be reached or used is exit 3, never 1
(which means "refused by a rule"); a bulk close that is killed leaves in its results file every deal it closed,
save those of the transaction in flight, and a rerun of the same file reports every deal."""

from __future__ import annotations

import csv
import signal
import socket
import subprocess
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from dealdesk.db import tables as t
from tests.trust.conftest import DEALDESK_CLI, Database, process_env, stop
from tests.trust.holdups import held_up, open_deals, reading

BATCH = 500
"""services/closing.py's BULK_BATCH: the first 500 ids of the file commit together, then the next 500."""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_database")
    return found


def _closed(database: Database) -> set[UUID]:
    with reading(database) as conn:
        return set(conn.execute(select(t.opportunities.c.id).where(t.opportunities.c.state == "lost")).scalars())


def _results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _bulk_close(source: Path, results: Path) -> list[str]:
    return [
        DEALDESK_CLI,
        "bulk-close",
        str(source),
        "--outcome",
        "lost",
        "--reason",
        "canceled",
        "--results",
        str(results),
    ]


def test_a_killed_bulk_close_has_written_every_committed_result_and_a_rerun_reports_the_rest(
    database: Database, tmp_path: Path
) -> None:
    ids = open_deals(database, 2 * BATCH)
    source = tmp_path / "to-close.csv"
    source.write_text("id\n" + "".join(f"{deal}\n" for deal in ids), encoding="utf-8")
    first, second = tmp_path / "first.results.csv", tmp_path / "second.results.csv"

    with held_up(database, ids[-1]), (tmp_path / "first.log").open("wb") as log:
        process = subprocess.Popen(
            _bulk_close(source, first), env=process_env(database), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while len(_closed(database)) < BATCH and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.02)
            time.sleep(0.5)  # the first batch committed; the second waits on the held-up deal
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            stop(process)
    closed_at_kill = _closed(database)
    reported = {UUID(row["id"]) for row in _results(first) if row["ok"] == "true"}

    rerun = subprocess.run(_bulk_close(source, second), env=process_env(database), capture_output=True, check=False)
    again = {UUID(row["id"]): row for row in _results(second)}

    assert process.returncode == -signal.SIGKILL
    assert closed_at_kill == set(ids[:BATCH]), "the kill did not land between the two batches"
    assert reported == closed_at_kill, "a committed close is missing from the results file"
    assert rerun.returncode == 1, rerun.stderr.decode()[-2000:]  # those closed already are refused: exit 1
    assert set(again) == set(ids)
    assert {deal for deal, row in again.items() if row["ok"] == "true"} == set(ids[BATCH:])
    assert {row["code"] for deal, row in again.items() if deal in closed_at_kill} == {"invalid_transition"}


def _unreachable_url(database: Database, tmp_path: Path) -> str:
    if database.name == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-directory' / 'dealdesk.db'}"
    with socket.socket() as probe:  # a port that nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


@pytest.mark.parametrize("command", [["users", "list"], ["close", str(uuid4()), "--outcome", "won"], ["db", "upgrade"]])
def test_a_database_that_cannot_be_reached_is_exit_3_not_the_exit_1_of_a_refusal(
    database: Database, tmp_path: Path, command: list[str]
) -> None:
    env = {**process_env(database), "DEALDESK_DATABASE_URL": _unreachable_url(database, tmp_path)}

    done = subprocess.run([DEALDESK_CLI, *command], env=env, capture_output=True, timeout=60, check=False)

    assert done.returncode == 3, done.stderr.decode()[-2000:]
    assert b"Traceback" not in done.stderr


def test_a_sqlite_writer_held_past_the_busy_timeout_is_exit_3_busy(sqlite_database: Database, tmp_path: Path) -> None:
    (deal,) = open_deals(sqlite_database, 1)
    env = {**process_env(sqlite_database), "DEALDESK_SQLITE_BUSY_TIMEOUT_MS": "300"}
    with sqlite_database.engine.connect() as holder, holder.begin():  # BEGIN IMMEDIATE: holds the write lock
        holder.execute(select(t.opportunities.c.id).limit(1))

        done = subprocess.run(
            [DEALDESK_CLI, "close", str(deal), "--outcome", "won"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 3, done.stderr.decode()[-2000:]
    assert b"busy" in done.stderr
    with reading(sqlite_database) as conn:
        assert conn.execute(select(t.opportunities.c.state)).scalar_one() == "open"
