"""the database holds the invariants: one standing close and one won quote per deal, foreign keys, CHECKs

I2 and I3 (SPEC §6) were kept by the code alone. Now the database keeps them too, on both engines: a partial unique
index allows one close record without `reopened_at` per opportunity, another one won quote per opportunity, and a
CHECK forbids a lost opportunity with a won quote. Every column that names a record of one kind becomes a foreign
key (the audit entry's `record_id` names several kinds, deleted drafts too, and its `user_id` may be the SYSTEM
actor: both stay free); the two of the deal's
cycle with its won quote and contract are checked at commit. Cheap CHECKs guard money signs, state and status-reason
pairs, the currency's shape and dates before 1900.

Existing rows are checked first: if any breaks a new rule, the migration changes nothing and raises
`RowsBreakNewRules` naming each (table, id, what is wrong). On SQLite the changed tables are rebuilt (batch mode);
db/migrations/env.py turns foreign keys off around it and checks them all afterwards.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:30:00.000000
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from alembic import op

from dealdesk.db.migrate import RowsBreakNewRules
from dealdesk.domain.currencies import CURRENT_ISO_4217

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FIRST_DAY = "'1900-01-01'"
CURRENCY_SHAPE = {"sqlite": "currency GLOB '[A-Z][A-Z][A-Z]'", "postgresql": "currency ~ '^[A-Z]{3}$'"}
OPPORTUNITY_STATUS = (
    "(state = 'open' AND status_reason IN ('in_progress', 'on_hold'))"
    " OR (state = 'won' AND status_reason = 'won')"
    " OR (state = 'lost' AND status_reason IN ('canceled', 'out_sold'))"
)
QUOTE_STATUS = (
    "(state = 'draft' AND status_reason = 'in_progress')"
    " OR (state = 'active' AND status_reason = 'open')"
    " OR (state = 'won' AND status_reason = 'won')"
    " OR (state = 'closed' AND status_reason IN ('lost', 'canceled', 'revised'))"
)
CLOSE_STATUS = (
    "(outcome = 'won' AND status_reason = 'won') OR (outcome = 'lost' AND status_reason IN ('canceled', 'out_sold'))"
)

CHECKS: dict[str, list[tuple[str, str, str]]] = {
    "opportunities": [
        ("status_reason", OPPORTUNITY_STATUS, "status reason does not fit the state"),
        ("estimated_revenue", "estimated_revenue >= 0", "negative estimated_revenue"),
        ("actual_revenue", "actual_revenue >= 0", "negative actual_revenue"),
        ("estimated_close_date", f"estimated_close_date >= {FIRST_DAY}", "estimated_close_date before 1900-01-01"),
        ("actual_close_date", f"actual_close_date >= {FIRST_DAY}", "actual_close_date before 1900-01-01"),
        ("lost_without_won_quote", "state <> 'lost' OR won_quote_id IS NULL", "lost with a won quote"),
    ],
    "quotes": [
        ("status_reason", QUOTE_STATUS, "status reason does not fit the state"),
        ("total_amount", "total_amount >= 0 OR state IN ('draft', 'closed')", "negative total_amount"),
    ],
    "quote_lines": [("quantity", "quantity > 0", "quantity not above 0")],
    "contracts": [
        ("state", "state in ('draft')", "unknown state"),
        ("total_amount", "total_amount >= 0", "negative total_amount"),
    ],
    "contract_lines": [("quantity", "quantity > 0", "quantity not above 0")],
    "opportunity_closes": [
        ("status_reason", CLOSE_STATUS, "status reason does not fit the outcome"),
        ("actual_revenue", "actual_revenue >= 0", "negative actual_revenue"),
        ("close_date", f"close_date >= {FIRST_DAY}", "close_date before 1900-01-01"),
    ],
}
"""Per table: (constraint name, SQL, what a row that breaks it is wrong about). The date CHECKs compare with a text
literal: SQLite keeps dates as ISO text, PostgreSQL casts it to a date."""
WITH_CURRENCY = ["opportunities", "contracts", "opportunity_closes"]
FOREIGN_KEYS: dict[str, list[tuple[str, str, bool]]] = {
    "opportunities": [("won_quote_id", "quotes", True), ("contract_id", "contracts", True)],
    "opportunity_closes": [
        ("won_quote_id", "quotes", False),
        ("owner_id", "users", False),
        ("account_id", "accounts", False),
        ("closed_by", "users", False),
        ("reopened_by", "users", False),
    ],
    "audit_entries": [("opportunity_id", "opportunities", False)],
    "idempotency_keys": [("user_id", "users", False)],
}
"""Per table: (column, referred table, checked at commit). The deal's won quote and contract name the deal back.
The audit entry's `user_id` stays free: user management from the command line is audited as done by SYSTEM, the nil
UUID, which is no user (services/auth.py)."""
UNIQUE_PARTIAL = [
    ("ix_opportunity_closes_one_standing_per_opportunity", "opportunity_closes", "reopened_at IS NULL"),
    ("ix_quotes_one_won_per_opportunity", "quotes", "state = 'won'"),
]
KEYS = {
    "quote_lines": "quote_id || '/' || position",
    "contract_lines": "contract_id || '/' || position",
    "idempotency_keys": "user_id",
}
"""How a row is named in the refusal, for tables without an `id`."""


# ---------------------------------------------------------------------------------------------- the pre-check
def _named(value: object) -> str:
    """An id as people read it: SQLite keeps UUIDs as 32 hex digits, PostgreSQL answers them dashed."""
    text = str(value)
    return "/".join(str(uuid.UUID(part)) if re.fullmatch(r"[0-9a-f]{32}", part) else part for part in text.split("/"))


def _rows(conn: sa.Connection, sql: str, **params: object) -> list[tuple[str, str]]:
    return [(_named(row[0]), _named(row[1])) for row in conn.execute(sa.text(sql), params)]


def _key(table: str) -> str:
    return KEYS.get(table, "id")


def rows_that_break_the_new_rules(conn: sa.Connection) -> list[str]:
    """Every row that a new constraint would refuse, as `table id: what is wrong`."""
    found: list[str] = []

    def note(table: str, rows: list[tuple[str, str]]) -> None:
        found.extend(f"{table} {row_id}: {what}" for row_id, what in rows)

    for table, checks in CHECKS.items():
        for _name, sql, what in checks:
            note(table, _rows(conn, f"SELECT {_key(table)}, :what FROM {table} WHERE NOT ({sql})", what=what))
    codes: sa.BindParameter[list[str]] = sa.bindparam("codes", sorted(CURRENT_ISO_4217), expanding=True)
    for table in WITH_CURRENCY:
        statement = sa.text(f"SELECT id, currency FROM {table} WHERE currency NOT IN :codes").bindparams(codes)
        rows = conn.execute(statement).all()
        note(table, [(_named(row[0]), f"currency {row[1]!r} is not a current ISO 4217 code") for row in rows])
    for table, references in FOREIGN_KEYS.items():
        for column, referred, _deferred in references:
            sql = (
                f"SELECT {_key(table)}, :what FROM {table} WHERE {column} IS NOT NULL"
                f" AND NOT EXISTS (SELECT 1 FROM {referred} WHERE {referred}.id = {table}.{column})"
            )
            note(table, _rows(conn, sql, what=f"{column} names no row of {referred}"))
    for _name, table, where in UNIQUE_PARTIAL:
        sql = (
            f"SELECT id, opportunity_id FROM {table} WHERE {where} AND opportunity_id IN"
            f" (SELECT opportunity_id FROM {table} WHERE {where} GROUP BY opportunity_id HAVING count(*) > 1)"
            " ORDER BY opportunity_id, id"
        )
        rule = "one standing close record" if table == "opportunity_closes" else "one won quote"
        note(table, [(row_id, f"opportunity {opp} has more than {rule}") for row_id, opp in _rows(conn, sql)])
    return found


# ---------------------------------------------------------------------------------------------- the change
def upgrade() -> None:
    conn = op.get_bind()
    if found := rows_that_break_the_new_rules(conn):
        raise RowsBreakNewRules(found)
    dialect = conn.dialect.name
    for table in ["opportunities", "quotes", "quote_lines", "contracts", "contract_lines", "opportunity_closes"]:
        checks = [(name, sql) for name, sql, _what in CHECKS[table]]
        if table in WITH_CURRENCY:
            checks.append(("currency", CURRENCY_SHAPE[dialect]))
        with op.batch_alter_table(table) as batch:
            for name, sql in checks:
                batch.create_check_constraint(op.f(f"ck_{table}_{name}"), sa.text(sql))
            for column, referred, deferred in FOREIGN_KEYS.get(table, []):
                batch.create_foreign_key(
                    op.f(f"fk_{table}_{column}_{referred}"),
                    referred,
                    [column],
                    ["id"],
                    deferrable=True if deferred else None,
                    initially="DEFERRED" if deferred else None,
                )
    for table in ["audit_entries", "idempotency_keys"]:
        with op.batch_alter_table(table) as batch:
            for column, referred, _deferred in FOREIGN_KEYS[table]:
                batch.create_foreign_key(op.f(f"fk_{table}_{column}_{referred}"), referred, [column], ["id"])
    for name, table, where in UNIQUE_PARTIAL:
        op.create_index(
            name,
            table,
            ["opportunity_id"],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, table, _where in reversed(UNIQUE_PARTIAL):
        op.drop_index(name, table_name=table)
    for table in ["idempotency_keys", "audit_entries", *reversed(CHECKS)]:
        with op.batch_alter_table(table) as batch:
            for column, referred, _deferred in FOREIGN_KEYS.get(table, []):
                batch.drop_constraint(op.f(f"fk_{table}_{column}_{referred}"), type_="foreignkey")
            names = [name for name, _sql, _what in CHECKS.get(table, [])]
            for name in [*names, *(["currency"] if table in WITH_CURRENCY else [])]:
                batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
