"""the close policy: what a manager requires of every opportunity close

One row (id 1) holds SPEC §11's close policy: a close reason required per outcome, a competitor when out-sold, a
description when lost. No row means nothing is required, which is where every existing database starts, so the
migration adds no row and cannot fail on existing data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dealdesk.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "close_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("require_close_reason_won", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("require_close_reason_lost", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("require_competitor_when_out_sold", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("require_description_when_lost", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_close_policy_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_close_policy")),
    )


def downgrade() -> None:
    op.drop_table("close_policy")
