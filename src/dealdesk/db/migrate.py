"""Running Alembic migrations from code (the CLI's `db upgrade`, the test session, the run script)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


class RowsBreakNewRules(Exception):
    """A migration found rows that a rule it adds would refuse; it changed nothing. Fix the rows named, then run
    `dealdesk db upgrade` again."""

    def __init__(self, rows: list[str]) -> None:
        self.rows = rows
        listed = "\n".join(f"  {row}" for row in rows)
        super().__init__(
            f"{len(rows)} existing row(s) break a rule this migration adds; nothing was changed:\n{listed}"
        )
