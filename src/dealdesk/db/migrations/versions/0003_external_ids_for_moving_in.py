"""external ids for moving in

Records imported from another system (a Dynamics 365 export, another dealdesk) keep the id they had there, so a
re-import finds them instead of creating them twice. Nullable: records made in dealdesk have none. Unique indexes
rather than constraints, so SQLite adds them without rebuilding the tables (and the rows pointing at them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:47:36.779569
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("accounts", "competitors", "close_reasons", "opportunities", "quotes", "opportunity_closes")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
            batch_op.create_index(f"ix_{table}_external_id", ["external_id"], unique=True)


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch rebuild would drop tables other rows point at.
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_external_id", table_name=table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN external_id")
