"""Fixtures for moving in: CSV import and export, and the Dataverse-compatible endpoints, on SQLite and PostgreSQL
(the `engine`, `uow` and `admin` fixtures of tests/conftest.py)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, func, select

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.services.exporting import export_csv
from dealdesk.services.import_support import ImportReport
from dealdesk.services.importing import import_csv
from dealdesk.services.moving import IMPORT_ORDER, Kind
from dealdesk.web.app import create_app
from dealdesk.web.i18n import Languages
from dealdesk.web.ui.import_reasons import shown_reason

CHINESE = Languages.load().find("zh-Hant-HK")
"""Every reason an import test provokes must be one the Import / export page can show in Chinese."""


def csv_text(header: str, *rows: str) -> str:
    """A CSV file as text: the header line, then one line per row (written as CSV already)."""
    return "\n".join([header, *rows]) + "\n"


class Mover:
    """Moves records in and out through the use cases, as the CLI and the Import / export page do."""

    def __init__(self, uow: SqlUnitOfWork, engine: Engine, actor: Actor) -> None:
        self.uow = uow
        self.engine = engine
        self.actor = actor

    def import_(
        self,
        kind: Kind,
        text: str,
        *,
        dry_run: bool = False,
        actor: Actor | None = None,
        on_rows: Callable[[int], None] | None = None,
        on_checked: Callable[[], None] | None = None,
    ) -> ImportReport:
        source = io.StringIO(text)
        actor = actor or self.actor
        report = import_csv(
            self.uow, kind, source, actor=actor, dry_run=dry_run, on_rows=on_rows, on_checked=on_checked
        )
        assert CHINESE is not None
        untranslated = [p.reason for p in report.problems if not shown_reason(CHINESE, p.reason).translated]
        assert not untranslated, f"reasons the Import / export page cannot show in Chinese: {untranslated}"
        return report

    def import_all(self, files: dict[Kind, str]) -> list[ImportReport]:
        return [self.import_(kind, files[kind]) for kind in IMPORT_ORDER]

    def export(self, kind: Kind) -> str:
        out = io.StringIO()
        export_csv(self.uow, kind, out)
        return out.getvalue()

    def export_all(self) -> dict[Kind, str]:
        return {kind: self.export(kind) for kind in IMPORT_ORDER}

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def problems(self, report: ImportReport) -> list[tuple[int, str]]:
        return [(problem.line, problem.column) for problem in report.problems]

    def users(self, names: Sequence[tuple[str, str]]) -> None:
        with self.uow.transaction():
            for name, role in names:
                self.uow.users.ensure(name, role)


@pytest.fixture
def mover(uow: SqlUnitOfWork, engine: Engine, admin: Actor) -> Mover:
    return Mover(uow, engine, admin)


@pytest.fixture
def admin_token(engine: Engine, settings: Settings) -> str:
    """An API token of a fresh admin user (every table was emptied for this test)."""
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "admin", Role.ADMIN, password=None).token


@pytest.fixture
def api(engine: Engine, settings: Settings, admin_token: str) -> Iterator[TestClient]:
    """A client of a fresh app, signed in as an admin with a bearer token, as a Dynamics script would be."""
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {admin_token}"}) as client:
        yield client
