"""win/loss report: the grouped scan's index and the reopened count's lead with the currency

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
REOPENED = "reopened_at IS NOT NULL"
OLD_REOPENED = "ix_opportunity_closes_reopened_close_date"
REOPENED_INDEXES = [
    ("ix_opportunity_closes_reopened_currency_close_date", ["currency", "close_date"], ["owner_id", "account_id"]),
    ("ix_opportunity_closes_reopened_owner_id_close_date", ["owner_id", "close_date"], ["currency"]),
    ("ix_opportunity_closes_reopened_account_id_close_date", ["account_id", "close_date"], ["currency"]),
]
"""The reopened count of one currency, optionally of one owner or one account: a close-date-led index made it read
every reopened close. These partial indexes are written only when a close is reopened."""
BY_PERSON = ["owner_id", "account_id"]
"""The standing (owner or account, close date) indexes of 0004 now carry the currency, so that counting one owner's
or one account's closes by currency reads the index alone."""
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
    for key in BY_PERSON:
        _standing_by(key, include=["currency"])
    op.drop_index(OLD_REOPENED, table_name="opportunity_closes")
    for name, columns, include in REOPENED_INDEXES:
        op.create_index(
            name,
            "opportunity_closes",
            columns,
            postgresql_include=include,
            postgresql_where=sa.text(REOPENED),
            sqlite_where=sa.text(REOPENED),
        )


def _standing_by(key: str, *, include: list[str]) -> None:
    name = f"ix_opportunity_closes_standing_{key}_close_date"
    op.drop_index(name, table_name="opportunity_closes")
    op.create_index(
        name,
        "opportunity_closes",
        [key, "close_date"],
        postgresql_include=include,
        postgresql_where=sa.text(STANDING),
        sqlite_where=sa.text(STANDING),
    )


def downgrade() -> None:
    for key in BY_PERSON:
        _standing_by(key, include=[])
    for name, _columns, _include in reversed(REOPENED_INDEXES):
        op.drop_index(name, table_name="opportunity_closes")
    op.create_index(
        OLD_REOPENED,
        "opportunity_closes",
        ["close_date"],
        postgresql_include=["currency", "owner_id", "account_id"],
        postgresql_where=sa.text(REOPENED),
        sqlite_where=sa.text(REOPENED),
    )
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
