"""Whether this server can do its work: the database answers, and its schema is at the newest migration."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError


@dataclass(frozen=True)
class Readiness:
    database: bool
    migrations: bool

    @property
    def ready(self) -> bool:
        return self.database and self.migrations


def newest_revisions(engine: Engine) -> frozenset[str]:
    """The heads of the migrations shipped with this code, read from the migration files.

    Alembic is imported here, not at the top: it is a large import that a server only needs once /readyz is asked,
    and every worker process would otherwise pay for it at start-up."""
    from alembic.script import ScriptDirectory

    from dealdesk.db.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def check(engine: Engine, heads: frozenset[str]) -> Readiness:
    """One short connection: `SELECT 1`, then the revision Alembic recorded. An unreachable database fails both."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
            connection.rollback()
    except SQLAlchemyError:
        return Readiness(database=False, migrations=False)
    return Readiness(database=True, migrations=current == heads)
