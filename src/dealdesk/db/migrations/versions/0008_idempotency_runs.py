"""idempotency runs: a request under an Idempotency-Key claims the key with a lease while it runs

A bulk close also keeps there the result of each opportunity done so far, committed with its close, so that a
retry after a crash finishes the rest and answers for the whole bulk (SPEC §7).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dealdesk.db.types

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_runs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("lease_owner", sa.Uuid(), nullable=False),
        sa.Column("lease_until", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("progress", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_idempotency_runs_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "scope", "key", name=op.f("pk_idempotency_runs")),
    )
    with op.batch_alter_table("idempotency_runs", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_runs_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_runs_created_at")
    op.drop_table("idempotency_runs")
