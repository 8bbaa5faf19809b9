"""The command line when things go wrong (SPEC §9): a database that cannot be reached or used is exit 3, never 1
(which means "refused by a rule"); a bulk close that is killed leaves in its results file every deal it closed,
save those of the batch in flight, and a rerun of the same file is the same bulk close: it reports every deal the
killed run closed as closed."""

from __future__ import annotations

import csv
import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from dealdesk.db import tables as t
from dealdesk.services import closing
from tests.trust.conftest import DEALDESK_CLI, Database, process_env, stop
from tests.trust.holdups import held_up, open_deals, reading

BATCH = 500
"""services/closing.py's BULK_BATCH: the first 500 ids of the file commit together, then the next 500."""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_database")
    return found


LEASE_S = "1"
"""DEALDESK_IDEMPOTENCY_LEASE_S for these runs: a rerun waits this long at most for a killed run's chunk."""


def _closed(database: Database) -> set[UUID]:
    with reading(database) as conn:
        return set(conn.execute(select(t.opportunities.c.id).where(t.opportunities.c.state == "lost")).scalars())


def _results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _ok(rows: list[dict[str, str]]) -> set[UUID]:
    return {UUID(row["id"]) for row in rows if row["ok"] == "true"}


def _bulk_close(source: Path, results: Path, *options: str) -> list[str]:
    return [
        DEALDESK_CLI,
        "bulk-close",
        str(source),
        "--outcome",
        "lost",
        "--reason",
        "canceled",
        *options,
        "--results",
        str(results),
    ]


def _run(database: Database, command: list[str]) -> subprocess.CompletedProcess[bytes]:
    env = {**process_env(database), "DEALDESK_IDEMPOTENCY_LEASE_S": LEASE_S}
    return subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)


def _start(database: Database, command: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**process_env(database), "DEALDESK_IDEMPOTENCY_LEASE_S": LEASE_S}
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _kill_once_closed(database: Database, process: subprocess.Popen[bytes], count: int) -> None:
    try:
        deadline = time.monotonic() + 60
        while len(_closed(database)) < count and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        time.sleep(0.5)  # let it run on to where the test holds it up
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop(process)


def _id_file(tmp_path: Path, name: str, ids: list[UUID]) -> Path:
    source = tmp_path / name
    source.write_text("id\n" + "".join(f"{deal}\n" for deal in ids), encoding="utf-8")
    return source


def test_a_killed_bulk_close_has_written_every_committed_result_and_a_rerun_reports_every_deal_closed(
    database: Database, tmp_path: Path
) -> None:
    ids = open_deals(database, 2 * BATCH)
    source = _id_file(tmp_path, "to-close.csv", ids)
    first, second = tmp_path / "first.results.csv", tmp_path / "second.results.csv"

    with held_up(database, ids[-1]):  # the second batch waits on its last deal: the kill lands between batches
        process = _start(database, _bulk_close(source, first), tmp_path / "first.log")
        _kill_once_closed(database, process, BATCH)
    closed_at_kill = _closed(database)
    rerun = _run(database, _bulk_close(source, second))
    again = _results(second)

    assert process.returncode == -signal.SIGKILL
    assert closed_at_kill == set(ids[:BATCH]), "the kill did not land between the two batches"
    assert _ok(_results(first)) == closed_at_kill, "a committed close is missing from the results file"
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert [UUID(row["id"]) for row in again] == ids
    assert _ok(again) == set(ids), "the rerun does not report as closed every deal this bulk close closed"
    assert _closed(database) == set(ids)


def test_a_bulk_close_killed_before_its_results_file_caught_up_is_reported_whole_by_the_rerun(
    database: Database, tmp_path: Path
) -> None:
    """The results go to a pipe that holds 4 KiB and that nobody reads: once the first batch commits, its rows
    fill the pipe and the writer blocks, so the process is killed with committed closes it has not written."""
    ids = open_deals(database, 2 * BATCH)
    source = _id_file(tmp_path, "to-close.csv", ids)
    pipe, second = tmp_path / "first.results.csv", tmp_path / "second.results.csv"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)
        process = _start(database, _bulk_close(source, pipe), tmp_path / "first.log")
        _kill_once_closed(database, process, BATCH)
        written = os.read(reader, 1 << 20).decode()
    finally:
        os.close(reader)
    closed_at_kill = _closed(database)
    reported = _ok(list(csv.DictReader(written.splitlines()[:-1])))  # the last line may be cut short
    rerun = _run(database, _bulk_close(source, second))
    again = _results(second)

    assert process.returncode == -signal.SIGKILL
    assert closed_at_kill == set(ids[:BATCH])
    assert reported < closed_at_kill, "the killed run's file was not behind the database"
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert not {row["code"] for row in again} - {""}, "the rerun refuses deals the killed run closed"
    assert _ok(again) == set(ids)


def test_a_rerun_with_other_close_details_is_another_bulk_close_and_refuses_the_deals_closed_already(
    database: Database, tmp_path: Path
) -> None:
    ids = open_deals(database, 3)
    source = _id_file(tmp_path, "to-close.csv", ids)
    first, second = tmp_path / "first.results.csv", tmp_path / "second.results.csv"

    done = _run(database, _bulk_close(source, first))
    other = _run(database, _bulk_close(source, second, "--description", "Budget moved to next year"))

    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _ok(_results(first)) == set(ids)
    assert other.returncode == 1, other.stderr.decode()[-2000:]
    assert [(UUID(row["id"]), row["code"]) for row in _results(second)] == [(i, "invalid_transition") for i in ids]


def test_a_rerun_reports_the_deals_it_closed_and_tries_again_those_it_refused(
    database: Database, tmp_path: Path
) -> None:
    kept, refused = open_deals(database, 2)
    uow = database.uow()
    with uow.transaction():
        admin = uow.users.ensure("admin", "admin")
    source = _id_file(tmp_path, "to-close.csv", [kept, refused])
    first, second = tmp_path / "first.results.csv", tmp_path / "second.results.csv"
    earlier = _run(database, _bulk_close(_id_file(tmp_path, "one.csv", [refused]), tmp_path / "one.results.csv"))

    _run(database, _bulk_close(source, first))
    closing.reopen_opportunity(uow, refused, status_reason=None, reason="Back on", actor=admin)
    rerun = _run(database, _bulk_close(source, second))

    assert earlier.returncode == 0, earlier.stderr.decode()[-2000:]
    assert [row["code"] for row in _results(first)] == ["", "invalid_transition"]
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert [(UUID(row["id"]), row["ok"]) for row in _results(second)] == [(kept, "true"), (refused, "true")]
    assert _closed(database) == {kept, refused}


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
