"""win/loss report indexes

The report (SPEC §7.1) counts the standing closes of a close-date range by currency, groups those of one currency,
optionally of one owner or one account, and counts the reopened ones apart. These partial indexes answer each scan:
on PostgreSQL the close-date ones carry every column the report reads (INCLUDE), so the whole-company report never
touches the table rows; one owner's or one account's closes are few enough to fetch. SQLite has no INCLUDE and gets
the plain partial indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 15:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STANDING = "reopened_at IS NULL"
REOPENED = "reopened_at IS NOT NULL"
GROUPED = [
    "currency",
    "outcome",
    "status_reason",
    "close_reason_id",
    "competitor_id",
    "actual_revenue",
    "opportunity_created_on",
]
"""What the report's queries read besides the close date: see db/reports.py."""

INDEXES: list[tuple[str, list[str], str, list[str]]] = [
    ("ix_opportunity_closes_standing_close_date_report", ["close_date"], STANDING, GROUPED),
    ("ix_opportunity_closes_standing_owner_id_close_date", ["owner_id", "close_date"], STANDING, []),
    ("ix_opportunity_closes_standing_account_id_close_date", ["account_id", "close_date"], STANDING, []),
    ("ix_opportunity_closes_reopened_close_date", ["close_date"], REOPENED, ["currency", "owner_id", "account_id"]),
]


def upgrade() -> None:
    for name, columns, where, include in INDEXES:
        op.create_index(
            name,
            "opportunity_closes",
            columns,
            unique=False,
            postgresql_include=include,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where, _include in reversed(INDEXES):
        op.drop_index(name, table_name="opportunity_closes")
