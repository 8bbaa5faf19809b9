"""win/loss report: the grouped scan's index and the reopened count's lead with the currency

The report groups one currency's standing closes at a time. Led by the close date, the covering index made a
whole-history report read every standing close and throw the other currencies away (30 % of the rows in the
benchmark); led by the currency, the scan reads only the currency's own entries, for any close-date range. The count
of standing closes by currency, which picks the default currency, reads 0001's slim (currency, close date) index one
currency at a time (db/reports.py).

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
GROUPED = ["outcome", "status_reason", "close_reason_id", "competitor_id", "actual_revenue", "opportunity_created_on"]
OLD = "ix_opportunity_closes_standing_close_date_report"
NEW = "ix_opportunity_closes_standing_currency_close_date_report"
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


def _index(name: str, columns: list[str], where: str, include: list[str]) -> None:
    op.create_index(
        name,
        "opportunity_closes",
        columns,
        postgresql_include=include,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def _standing_by(key: str, *, include: list[str]) -> None:
    name = f"ix_opportunity_closes_standing_{key}_close_date"
    op.drop_index(name, table_name="opportunity_closes")
    _index(name, [key, "close_date"], STANDING, include)


def upgrade() -> None:
    op.drop_index(OLD, table_name="opportunity_closes")
    _index(NEW, ["currency", "close_date"], STANDING, GROUPED)
    for key in BY_PERSON:
        _standing_by(key, include=["currency"])
    op.drop_index(OLD_REOPENED, table_name="opportunity_closes")
    for name, columns, include in REOPENED_INDEXES:
        _index(name, columns, REOPENED, include)


def downgrade() -> None:
    for name, _columns, _include in reversed(REOPENED_INDEXES):
        op.drop_index(name, table_name="opportunity_closes")
    _index(OLD_REOPENED, ["close_date"], REOPENED, ["currency", "owner_id", "account_id"])
    for key in BY_PERSON:
        _standing_by(key, include=[])
    op.drop_index(NEW, table_name="opportunity_closes")
    _index(OLD, ["close_date"], STANDING, ["currency", *GROUPED])
