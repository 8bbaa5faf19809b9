"""a quote close keeps its competitor and lost reason detail; a sibling closed by a win keeps the won quote

`quotes.competitor_id` and `quotes.close_reason_id` are set by a quote close (SPEC §11) and by the close of its
opportunity with `close_quotes` on a lost close; `quotes.superseded_by_quote_id` names the quote whose win closed
this one. All three are foreign keys and nullable: quotes closed before this migration simply have none.
`quotes.currency` is the deal's currency, kept on the quote (it cannot change once the deal has quotes) so that the
report's `quotes_by_competitor` sums one currency's lost quotes from a partial index alone (by currency and
`closed_on`, carrying what it sums), instead of joining a million deals to learn their currency; a second partial
index by deal serves one owner's or one account's report.

The report's covering index of standing closes (0005) also carries `owner_id` now, so that `by_owner` is grouped
from the index alone, as the rest of the report is (db/reports.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_LOST_WITH_COMPETITOR = "status_reason = 'lost' AND competitor_id IS NOT NULL"
_REPORT_INDEX = "ix_opportunity_closes_standing_currency_close_date_report"
_GROUPED = ["outcome", "status_reason", "close_reason_id", "competitor_id", "actual_revenue", "opportunity_created_on"]


def _report_index(include: list[str]) -> None:
    op.drop_index(_REPORT_INDEX, table_name="opportunity_closes")
    op.create_index(
        _REPORT_INDEX,
        "opportunity_closes",
        ["currency", "close_date"],
        postgresql_include=include,
        postgresql_where=sa.text("reopened_at IS NULL"),
        sqlite_where=sa.text("reopened_at IS NULL"),
    )


def upgrade() -> None:
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("competitor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("close_reason_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_quote_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.create_foreign_key("fk_quotes_competitor_id_competitors", "competitors", ["competitor_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_quotes_close_reason_id_close_reasons", "close_reasons", ["close_reason_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_quotes_superseded_by_quote_id_quotes", "quotes", ["superseded_by_quote_id"], ["id"]
        )
    op.execute(
        "UPDATE quotes SET currency = "
        "(SELECT currency FROM opportunities WHERE opportunities.id = quotes.opportunity_id)"
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.alter_column("currency", existing_type=sa.String(length=3), nullable=False)
    op.create_index(
        "ix_quotes_lost_to_competitor",
        "quotes",
        ["currency", "closed_on"],
        postgresql_include=["competitor_id", "total_amount"],
        postgresql_where=sa.text(_LOST_WITH_COMPETITOR),
        sqlite_where=sa.text(_LOST_WITH_COMPETITOR),
    )
    op.create_index(
        "ix_quotes_lost_to_competitor_by_opportunity",
        "quotes",
        ["opportunity_id"],
        postgresql_include=["closed_on", "competitor_id", "total_amount"],
        postgresql_where=sa.text(_LOST_WITH_COMPETITOR),
        sqlite_where=sa.text(_LOST_WITH_COMPETITOR),
    )
    _report_index([*_GROUPED, "owner_id"])


def downgrade() -> None:
    _report_index(_GROUPED)
    op.drop_index("ix_quotes_lost_to_competitor_by_opportunity", table_name="quotes")
    op.drop_index("ix_quotes_lost_to_competitor", table_name="quotes")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_quotes_superseded_by_quote_id_quotes", type_="foreignkey")
        batch_op.drop_constraint("fk_quotes_close_reason_id_close_reasons", type_="foreignkey")
        batch_op.drop_constraint("fk_quotes_competitor_id_competitors", type_="foreignkey")
        batch_op.drop_column("currency")
        batch_op.drop_column("superseded_by_quote_id")
        batch_op.drop_column("close_reason_id")
        batch_op.drop_column("competitor_id")
