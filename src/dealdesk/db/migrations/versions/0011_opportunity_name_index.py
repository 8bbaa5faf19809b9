"""opportunities by name prefix: an index on lower(name) for `startswith(name, …)`

A Dataverse client's `$filter=startswith(name,'Pilot')` is case-insensitive, as Dataverse's is, so
db/record_reads.py compares `lower(name) LIKE 'pilot%'`. Without an index on that expression PostgreSQL scans the
whole table (about 0.9 s over 1,000,000 opportunities, docs/dataverse.md). `text_pattern_ops` lets the planner turn
the LIKE prefix into a range of the index whatever the database's collation. PostgreSQL only: SQLite's comparison
goes through dealdesk's own Unicode lower-casing function, which an index on SQLite's `lower()` would not serve.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NAME = "ix_opportunities_lower_name"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(NAME, "opportunities", [sa.text("lower(name) text_pattern_ops")], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(NAME, table_name="opportunities")
