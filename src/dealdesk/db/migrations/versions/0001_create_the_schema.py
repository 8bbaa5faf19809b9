"""create the schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 13:59:26.137823
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dealdesk.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_name_id", ["name", "id"], unique=False)

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "before", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column(
            "after", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_record_id_at", ["record_id", "at", "seq"], unique=False)
        batch_op.create_index("ix_audit_entries_opportunity_id_at", ["opportunity_id", "at", "seq"], unique=False)

    op.create_table(
        "close_reasons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome in ('won', 'lost')", name=op.f("ck_close_reasons_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_close_reasons")),
    )
    op.create_table(
        "competitors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("name_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitors")),
        sa.UniqueConstraint("name_key", name=op.f("uq_competitors_name_key")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created_at", ["created_at"], unique=False)

    op.create_table(
        "quote_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_numbers")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role in ('viewer', 'sales', 'manager', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("estimated_revenue", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("estimated_close_date", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("actual_revenue", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=True),
        sa.Column("actual_close_date", sa.Date(), nullable=True),
        sa.Column("won_quote_id", sa.Uuid(), nullable=True),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state in ('open', 'won', 'lost')", name=op.f("ck_opportunities_state")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_opportunities_account_id_accounts")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_opportunities_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index("ix_opportunities_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_opportunities_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_opportunities_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_opportunities_state", ["state"], unique=False)

    op.create_table(
        "opportunity_closes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("close_reason_id", sa.Uuid(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=False),
        sa.Column("actual_revenue", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("competitor_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("won_quote_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("closed_by", sa.Uuid(), nullable=False),
        sa.Column("closed_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reopened_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.Uuid(), nullable=True),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.Column("opportunity_created_on", sa.Date(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome in ('won', 'lost')", name=op.f("ck_opportunity_closes_outcome")),
        sa.ForeignKeyConstraint(
            ["close_reason_id"], ["close_reasons.id"], name=op.f("fk_opportunity_closes_close_reason_id_close_reasons")
        ),
        sa.ForeignKeyConstraint(
            ["competitor_id"], ["competitors.id"], name=op.f("fk_opportunity_closes_competitor_id_competitors")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_opportunity_closes_opportunity_id_opportunities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_closes")),
    )
    with op.batch_alter_table("opportunity_closes", schema=None) as batch_op:
        batch_op.create_index("ix_opportunity_closes_close_date", ["close_date"], unique=False)
        batch_op.create_index(
            "ix_opportunity_closes_opportunity_id_closed_at", ["opportunity_id", "closed_at"], unique=False
        )
        batch_op.create_index(
            "ix_opportunity_closes_standing_currency_close_date",
            ["currency", "close_date"],
            unique=False,
            sqlite_where=sa.text("reopened_at IS NULL"),
            postgresql_where=sa.text("reopened_at IS NULL"),
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("total_amount", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_description", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state in ('draft', 'active', 'won', 'closed')", name=op.f("ck_quotes_state")),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_quotes_opportunity_id_opportunities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", "revision", name="uq_quotes_number_revision"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_opportunity_id", ["opportunity_id"], unique=False)

    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("total_amount", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("created_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dealdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_contracts_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_contracts_opportunity_id_opportunities")
        ),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_contracts_quote_id_quotes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_contracts_quote_id")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index("ix_contracts_opportunity_id", ["opportunity_id"], unique=False)

    op.create_table(
        "quote_lines",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("unit_price", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("amount", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id_quotes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("quote_id", "position", name=op.f("pk_quote_lines")),
    )
    op.create_table(
        "contract_lines",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("unit_price", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.Column("amount", dealdesk.db.types.FixedPoint2(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_lines_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("contract_id", "position", name=op.f("pk_contract_lines")),
    )
    quote_numbers = sa.table("quote_numbers", sa.column("id", sa.Integer()), sa.column("last_number", sa.Integer()))
    op.bulk_insert(quote_numbers, [{"id": 1, "last_number": 0}])


def downgrade() -> None:
    op.drop_table("contract_lines")
    op.drop_table("quote_lines")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_opportunity_id")

    op.drop_table("contracts")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_opportunity_id")

    op.drop_table("quotes")
    with op.batch_alter_table("opportunity_closes", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_opportunity_closes_standing_currency_close_date",
            sqlite_where=sa.text("reopened_at IS NULL"),
            postgresql_where=sa.text("reopened_at IS NULL"),
        )
        batch_op.drop_index("ix_opportunity_closes_opportunity_id_closed_at")
        batch_op.drop_index("ix_opportunity_closes_close_date")

    op.drop_table("opportunity_closes")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_state")
        batch_op.drop_index("ix_opportunities_owner_id")
        batch_op.drop_index("ix_opportunities_created_at_id")
        batch_op.drop_index("ix_opportunities_account_id")

    op.drop_table("opportunities")
    op.drop_table("users")
    op.drop_table("quote_numbers")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")

    op.drop_table("idempotency_keys")
    op.drop_table("competitors")
    op.drop_table("close_reasons")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_record_id_at")

    op.drop_table("audit_entries")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_name_id")

    op.drop_table("accounts")
