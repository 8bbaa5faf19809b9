"""Fixtures for the trust suite: real server processes and real CLI processes on a real database, users of every
role, and one place where the figures a reviewer wants (operations run, violations found, checks made) are kept.

Server processes run `python -m uvicorn dealdesk.web.app:create_app --factory` against the database named in
DEALDESK_DATABASE_URL, exactly as production does; every process a test starts is stopped when the test ends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import upgrade
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from tests.conftest import empty_all_tables
from tests.serving import free_port, wait_until_answering

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
FIGURES_FILE = ARTIFACTS / "trust-figures.txt"
DEALDESK_CLI = str(Path(sys.executable).with_name("dealdesk"))


# ---------------------------------------------------------------------------------------------- figures
@dataclass
class Figures:
    """What the trust suite measured, printed (pytest -s) and written to test-artifacts/trust-figures.txt."""

    sections: dict[str, list[str]] = field(default_factory=dict)

    def record(self, section: str, *lines: str) -> None:
        self.sections.setdefault(section, []).extend(lines)
        print(f"\n[{section}]", *lines, sep="\n  ")
        self.write()

    def write(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        text = [f"dealdesk trust figures ({stamp})", ""]
        for section, lines in self.sections.items():
            text += [f"[{section}]", *(f"  {line}" for line in lines), ""]
        FIGURES_FILE.write_text("\n".join(text), encoding="utf-8")


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


# ---------------------------------------------------------------------------------------------- databases
@dataclass(frozen=True)
class Database:
    """A migrated database that a test has to itself (emptied for it), and an engine to read it with SQL."""

    url: str
    engine: Engine
    settings: Settings

    @property
    def name(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, SystemClock(self.settings.zone))

    def token(self, name: str, role: Role, *, password: str | None = None) -> str:
        """A new user of that role; answers the user's API token."""
        return auth.add_user(self.uow(), name, role, password=password).token


@contextmanager
def migrated_database(url: str) -> Iterator[Database]:
    settings = Settings(database_url=url, timezone="UTC")
    engine = make_engine(settings)
    try:
        upgrade(engine)
        empty_all_tables(engine)
        yield Database(url=url, engine=engine, settings=settings)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_database(postgres_schema_url: str) -> Iterator[Database]:
    """The session's PostgreSQL schema, migrated (once: Alembic does nothing the second time), emptied."""
    with migrated_database(postgres_schema_url) as database:
        yield database


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    with migrated_database(f"sqlite:///{tmp_path / 'dealdesk.db'}") as database:
        yield database


# ---------------------------------------------------------------------------------------------- processes
def process_env(database: Database) -> dict[str, str]:
    return {**os.environ, "DEALDESK_DATABASE_URL": database.url, "DEALDESK_TIMEZONE": "UTC"}


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one process we started (by its own handle), politely first."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def server_process(database: Database, log: Path) -> Iterator[str]:
    """One uvicorn process serving the app on the database; yields its base URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "dealdesk.web.app:create_app", "--factory", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=process_env(database), stdout=output, stderr=subprocess.STDOUT, cwd=log.parent
        )
        try:
            wait_until_answering(url, process, log)
            yield url
        finally:
            stop(process)


@contextmanager
def server_processes(database: Database, count: int, workdir: Path) -> Iterator[list[str]]:
    """`count` server processes sharing one database, as several app servers behind a load balancer."""
    with ExitStack() as stack:
        urls = [stack.enter_context(server_process(database, workdir / f"server-{i}.log")) for i in range(count)]
        yield urls


def server_logs_with_tracebacks(workdir: Path) -> dict[str, str]:
    """Server logs that mention a traceback: a crash the answers may not show."""
    found = {}
    for log in sorted(workdir.glob("server-*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            found[log.name] = text[-4000:]
    return found
