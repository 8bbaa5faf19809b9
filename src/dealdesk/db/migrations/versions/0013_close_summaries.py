"""the win/loss report sums each month that is over once, and the database marks a month whose closes change after

The report over a million closes grouped every standing close of the range on each request (~0.9 s for the whole
history once `by_owner` was added). A month that is over rarely changes, so a server sums it once
(`close_summaries`, `close_owner_summaries`; `close_summary_months` says which months are summed) and the report
reads those sums for the whole months of its range, grouping only the closes of the current month, of partial months
at the range's ends and of months whose sums are stale. Quotes lost to a competitor are summed the same way, by
the month of `closed_on` and the owner of their deal (`quote_loss_summaries`). Triggers (both engines) put a month
in `close_summary_stale` whenever a close record, or a quote lost to a competitor, dated in a past month is written,
and when a deal with such quotes changes hands, so no door (the API, a bulk close, an import, COPY, raw SQL) can
leave a sum out of date unnoticed. A close dated in the current month fires none, so the close path pays nothing.
Nothing is summed by the migration: until a server's round sums them the report groups the closes as before
(db/close_summaries.py). The DDL of the triggers is db/tables.py's; should it ever change, copy this revision's
version here first.

One owner's report reads no sums of closes (only of lost quotes); on PostgreSQL the owner's index of standing
closes now carries what the report groups, and the owner and account indexes of deals and the by-deal index of lost
quotes carry what `quotes_by_competitor` needs, so that one owner's report reads from indexes alone (it had become
the slowest of the report's scenarios, bench/report_bench.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dealdesk.db.types
from dealdesk.db.tables import drop_stale_month_triggers, stale_month_triggers

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "close_summary_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("summarised_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_close_summary_months")),
    )
    op.create_table(
        "close_summary_stale",
        sa.Column("month", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_close_summary_stale")),
    )
    op.create_table(
        "close_summaries",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("close_reason_id", sa.Uuid(), nullable=True),
        sa.Column("competitor_id", sa.Uuid(), nullable=True),
        sa.Column("closes", sa.Integer(), nullable=False),
        sa.Column("revenue", dealdesk.db.types.FixedPoint2(precision=20, scale=2), nullable=False),
        sa.Column("days", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_close_summaries_currency_month", "close_summaries", ["currency", "month"])
    op.create_index("ix_close_summaries_month", "close_summaries", ["month"])
    op.create_table(
        "close_owner_summaries",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("closes", sa.Integer(), nullable=False),
        sa.Column("revenue", dealdesk.db.types.FixedPoint2(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("month", "currency", "outcome", "owner_id", name=op.f("pk_close_owner_summaries")),
    )
    op.create_table(
        "quote_loss_summaries",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("competitor_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("quotes", sa.Integer(), nullable=False),
        sa.Column("amount", dealdesk.db.types.FixedPoint2(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("month", "currency", "competitor_id", "owner_id", name=op.f("pk_quote_loss_summaries")),
    )
    op.create_index(
        "ix_quote_loss_summaries_owner_id_currency_month", "quote_loss_summaries", ["owner_id", "currency", "month"]
    )
    for statement in stale_month_triggers(op.get_bind().dialect.name):
        op.execute(statement)

    if op.get_bind().dialect.name == "postgresql":
        _replace_indexes(covering=True)


_GROUPED = ["outcome", "status_reason", "close_reason_id", "competitor_id", "actual_revenue", "opportunity_created_on"]
_LOST_WITH_COMPETITOR = "status_reason = 'lost' AND competitor_id IS NOT NULL"


def _replace_indexes(*, covering: bool) -> None:
    """PostgreSQL only: what an index carries (INCLUDE) is all that changes, and SQLite's indexes carry nothing."""
    owner_index = "ix_opportunity_closes_standing_owner_id_close_date"
    op.drop_index(owner_index, table_name="opportunity_closes")
    op.create_index(
        owner_index,
        "opportunity_closes",
        ["owner_id", "close_date"],
        postgresql_include=["currency", *_GROUPED] if covering else ["currency"],
        postgresql_where=sa.text("reopened_at IS NULL"),
    )
    for key in ("account_id", "owner_id"):
        op.drop_index(f"ix_opportunities_{key}", table_name="opportunities")
        carried_id = ["id"] if covering else []
        op.create_index(f"ix_opportunities_{key}", "opportunities", [key], postgresql_include=carried_id)
    quotes_index = "ix_quotes_lost_to_competitor_by_opportunity"
    op.drop_index(quotes_index, table_name="quotes")
    carried = ["closed_on", "competitor_id", "total_amount"]
    op.create_index(
        quotes_index,
        "quotes",
        ["opportunity_id"],
        postgresql_include=[*carried, "currency"] if covering else carried,
        postgresql_where=sa.text(_LOST_WITH_COMPETITOR),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_indexes(covering=False)
    for statement in drop_stale_month_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("quote_loss_summaries")
    op.drop_table("close_owner_summaries")
    op.drop_table("close_summaries")
    op.drop_table("close_summary_stale")
    op.drop_table("close_summary_months")
