"""a quote close keeps its competitor and lost reason detail; a sibling closed by a win keeps the won quote

`quotes.competitor_id` and `quotes.close_reason_id` are set by a quote close (SPEC §11) and by the close of its
opportunity with `close_quotes` on a lost close; `quotes.superseded_by_quote_id` names the quote whose win closed
this one. All three are foreign keys and nullable: quotes closed before this migration simply have none. The
partial index serves the report's `quotes_by_competitor` (lost quotes with a competitor, by `closed_on`).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 12:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None

_LOST_WITH_COMPETITOR = "status_reason = 'lost' AND competitor_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("competitor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("close_reason_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_quote_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_quotes_competitor_id_competitors", "competitors", ["competitor_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_quotes_close_reason_id_close_reasons", "close_reasons", ["close_reason_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_quotes_superseded_by_quote_id_quotes", "quotes", ["superseded_by_quote_id"], ["id"]
        )
    op.create_index(
        "ix_quotes_lost_to_competitor",
        "quotes",
        ["closed_on", "competitor_id"],
        postgresql_where=sa.text(_LOST_WITH_COMPETITOR),
        sqlite_where=sa.text(_LOST_WITH_COMPETITOR),
    )


def downgrade() -> None:
    op.drop_index("ix_quotes_lost_to_competitor", table_name="quotes")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_quotes_superseded_by_quote_id_quotes", type_="foreignkey")
        batch_op.drop_constraint("fk_quotes_close_reason_id_close_reasons", type_="foreignkey")
        batch_op.drop_constraint("fk_quotes_competitor_id_competitors", type_="foreignkey")
        batch_op.drop_column("superseded_by_quote_id")
        batch_op.drop_column("close_reason_id")
        batch_op.drop_column("competitor_id")
