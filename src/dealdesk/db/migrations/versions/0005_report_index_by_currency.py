"""win/loss report: the grouped scan's index leads with the currency

The report groups one currency's standing closes at a time. Led by the close date, the covering index made a
whole-history report read every standing close and throw the other currencies away (30 % of the rows in the
benchmark); led by the currency, the scan reads only the currency's own entries, for any close-date range. It takes
the place of 0001's plain (currency, close date) index, which has the same key. The count of standing closes by
currency in a range, which picks the default currency, keeps a slim close-date index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STANDING = "reopened_at IS NULL"
GROUPED = ["outcome", "status_reason", "close_reason_id", "competitor_id", "actual_revenue", "opportunity_created_on"]
OLD = "ix_opportunity_closes_standing_close_date_report"
REPLACED = "ix_opportunity_closes_standing_currency_close_date"
"""The plain (currency, close date) index of migration 0001: the new covering one has the same key."""


def upgrade() -> None:
    op.drop_index(OLD, table_name="opportunity_closes")
    op.drop_index(REPLACED, table_name="opportunity_closes")
    op.create_index(
        "ix_opportunity_closes_standing_currency_close_date_report",
        "opportunity_closes",
        ["currency", "close_date"],
        postgresql_include=GROUPED,
        postgresql_where=sa.text(STANDING),
        sqlite_where=sa.text(STANDING),
    )
    op.create_index(
        "ix_opportunity_closes_standing_close_date",
        "opportunity_closes",
        ["close_date"],
        postgresql_include=["currency"],
        postgresql_where=sa.text(STANDING),
        sqlite_where=sa.text(STANDING),
    )


def downgrade() -> None:
    op.create_index(
        REPLACED,
        "opportunity_closes",
        ["currency", "close_date"],
        postgresql_where=sa.text(STANDING),
        sqlite_where=sa.text(STANDING),
    )
    op.drop_index("ix_opportunity_closes_standing_close_date", table_name="opportunity_closes")
    op.drop_index("ix_opportunity_closes_standing_currency_close_date_report", table_name="opportunity_closes")
    op.create_index(
        OLD,
        "opportunity_closes",
        ["close_date"],
        postgresql_include=["currency", *GROUPED],
        postgresql_where=sa.text(STANDING),
        sqlite_where=sa.text(STANDING),
    )
