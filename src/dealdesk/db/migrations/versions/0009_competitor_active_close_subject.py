"""competitors can be deactivated; a close keeps the subject a Dataverse client sent with it

A deactivated competitor stays on every close and quote that names it (history is not rewritten) but is no longer
offered in the Close dialog, the API's choices or an import (SPEC §7, §9). `opportunity_closes.subject` is the
title Dataverse's `WinOpportunity`/`LoseOpportunity` carry in their `OpportunityClose` (SPEC §14); closes made
elsewhere leave it empty.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("competitors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("opportunity_closes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opportunity_closes", schema=None) as batch_op:
        batch_op.drop_column("subject")
    with op.batch_alter_table("competitors", schema=None) as batch_op:
        batch_op.drop_column("active")
