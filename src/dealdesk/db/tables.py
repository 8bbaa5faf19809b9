"""The schema, as SQLAlchemy Core tables. Migrations in db/migrations create exactly this."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from dealdesk.db.types import FixedPoint2, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JsonDoc = JSON().with_variant(JSONB(), "postgresql")


CURRENCY_SHAPE = {
    "sqlite": "currency GLOB '[A-Z][A-Z][A-Z]'",
    "postgresql": "currency ~ '^[A-Z]{3}$'",
}
"""Three capital letters, in each engine's own pattern language (the code set itself is domain/currencies.py's)."""
FIRST_DAY = "'1900-01-01'"
"""No business date lies before it (SPEC §2); SQLite keeps dates as ISO text, PostgreSQL casts the literal."""


def _checked_at_commit(target: str) -> ForeignKey:
    """A foreign key in a cycle (a deal names its won quote and contract, which name the deal) is checked at commit,
    so rows may be written in whatever order the code writes them; the others are checked at once. `use_alter` breaks
    the cycle for SQLAlchemy's table order (PostgreSQL adds it once both tables exist; SQLite writes it inline)."""
    return ForeignKey(target, use_alter=True, deferrable=True, initially="DEFERRED")


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


def _currency_shape() -> list[CheckConstraint]:
    return [CheckConstraint(sql, name="currency").ddl_if(dialect=dialect) for dialect, sql in CURRENCY_SHAPE.items()]


def _stamps() -> list[Column[object]]:
    return [
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    ]


users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255)),
    Column("active", Boolean(), nullable=False, default=True),
    *_stamps(),
    CheckConstraint("role in ('viewer', 'sales', 'manager', 'admin')", name="role"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(160), nullable=False),
    Column("external_id", String(200)),
    *_stamps(),
    Index("ix_accounts_external_id", "external_id", unique=True),
    Index("ix_accounts_name_id", "name", "id"),
)

competitors = Table(
    "competitors",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(160), nullable=False),
    Column("name_key", String(160), nullable=False, unique=True),
    Column("active", Boolean(), nullable=False, server_default=true()),
    Column("external_id", String(200)),
    *_stamps(),
    Index("ix_competitors_external_id", "external_id", unique=True),
)

close_reasons = Table(
    "close_reasons",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("outcome", String(8), nullable=False),
    Column("name", String(160), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("external_id", String(200)),
    *_stamps(),
    Index("ix_close_reasons_external_id", "external_id", unique=True),
    CheckConstraint("outcome in ('won', 'lost')", name="outcome"),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("account_id", Uuid(), ForeignKey("accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("estimated_revenue", FixedPoint2(), nullable=False),
    Column("estimated_close_date", Date()),
    Column("description", Text()),
    Column("owner_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("state", String(8), nullable=False),
    Column("status_reason", String(16), nullable=False),
    Column("actual_revenue", FixedPoint2()),
    Column("actual_close_date", Date()),
    Column("won_quote_id", Uuid(), _checked_at_commit("quotes.id")),
    Column("contract_id", Uuid(), _checked_at_commit("contracts.id")),
    Column("version", Integer(), nullable=False),
    Column("external_id", String(200)),
    *_stamps(),
    Index("ix_opportunities_external_id", "external_id", unique=True),
    CheckConstraint("state in ('open', 'won', 'lost')", name="state"),
    CheckConstraint(OPPORTUNITY_STATUS, name="status_reason"),
    CheckConstraint("estimated_revenue >= 0", name="estimated_revenue"),
    CheckConstraint("actual_revenue >= 0", name="actual_revenue"),
    CheckConstraint(f"estimated_close_date >= {FIRST_DAY}", name="estimated_close_date"),
    CheckConstraint(f"actual_close_date >= {FIRST_DAY}", name="actual_close_date"),
    CheckConstraint("state <> 'lost' OR won_quote_id IS NULL", name="lost_without_won_quote"),
    *_currency_shape(),
    Index("ix_opportunities_created_at_id", "created_at", "id"),
    # Carrying the id: one owner's or one account's lost quotes are found from these alone (db/reports.py).
    Index("ix_opportunities_account_id", "account_id", postgresql_include=["id"]),
    Index("ix_opportunities_owner_id", "owner_id", postgresql_include=["id"]),
    Index("ix_opportunities_state", "state"),
)
Index(
    "ix_opportunities_lower_name",
    func.lower(opportunities.c.name).label("lower_name"),
    postgresql_ops={"lower_name": "text_pattern_ops"},
).ddl_if(dialect="postgresql")
"""`startswith(name, …)` of the Dataverse collection reads compares `lower(name) LIKE 'prefix%'` (migration 0011):
a range of this index on PostgreSQL. SQLite's comparison uses dealdesk's own Unicode lower-casing, so it has none."""

quote_numbers = Table(
    "quote_numbers",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("last_number", Integer(), nullable=False),
)
"""A single counter row; taking the next number locks it briefly, after the opportunity lock."""

QUOTES_LOST_TO_COMPETITOR = "status_reason = 'lost' AND competitor_id IS NOT NULL"

quotes = Table(
    "quotes",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("opportunity_id", Uuid(), ForeignKey("opportunities.id"), nullable=False),
    Column("number", String(20), nullable=False),
    Column("revision", Integer(), nullable=False),
    Column("name", String(300), nullable=False),
    Column("state", String(8), nullable=False),
    Column("status_reason", String(16), nullable=False),
    Column("total_amount", FixedPoint2(), nullable=False),
    Column("line_count", Integer(), nullable=False),
    Column("valid_until", Date()),
    Column("closed_on", Date()),
    Column("close_description", Text()),
    Column("version", Integer(), nullable=False),
    Column("external_id", String(200)),
    Column("competitor_id", Uuid(), ForeignKey("competitors.id")),
    Column("close_reason_id", Uuid(), ForeignKey("close_reasons.id")),
    Column("superseded_by_quote_id", Uuid(), ForeignKey("quotes.id")),
    Column("currency", String(3), nullable=False),
    *_stamps(),
    Index("ix_quotes_external_id", "external_id", unique=True),
    UniqueConstraint("number", "revision", name="uq_quotes_number_revision"),
    CheckConstraint("state in ('draft', 'active', 'won', 'closed')", name="state"),
    CheckConstraint(QUOTE_STATUS, name="status_reason"),
    CheckConstraint("total_amount >= 0 OR state IN ('draft', 'closed')", name="total_amount"),
    Index("ix_quotes_opportunity_id", "opportunity_id"),
    Index(
        "ix_quotes_one_won_per_opportunity",
        "opportunity_id",
        unique=True,
        sqlite_where=text("state = 'won'"),
        postgresql_where=text("state = 'won'"),
    ),
    Index(
        "ix_quotes_lost_to_competitor",
        "currency",
        "closed_on",
        postgresql_include=["competitor_id", "total_amount"],
        sqlite_where=text(QUOTES_LOST_TO_COMPETITOR),
        postgresql_where=text(QUOTES_LOST_TO_COMPETITOR),
    ),
    Index(
        "ix_quotes_lost_to_competitor_by_opportunity",
        "opportunity_id",
        postgresql_include=["closed_on", "competitor_id", "total_amount", "currency"],
        sqlite_where=text(QUOTES_LOST_TO_COMPETITOR),
        postgresql_where=text(QUOTES_LOST_TO_COMPETITOR),
    ),
)
"""`competitor_id`, `close_reason_id`: what a lost quote was lost to and why (SPEC §11); `superseded_by_quote_id`:
the quote whose win closed this one."""

quote_lines = Table(
    "quote_lines",
    metadata,
    Column("quote_id", Uuid(), ForeignKey("quotes.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("description", String(500), nullable=False),
    Column("quantity", FixedPoint2(), nullable=False),
    Column("unit_price", FixedPoint2(), nullable=False),
    Column("amount", FixedPoint2(), nullable=False),
    CheckConstraint("quantity > 0", name="quantity"),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("opportunity_id", Uuid(), ForeignKey("opportunities.id"), nullable=False),
    Column("quote_id", Uuid(), ForeignKey("quotes.id"), nullable=False, unique=True),
    Column("account_id", Uuid(), ForeignKey("accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(8), nullable=False),
    Column("total_amount", FixedPoint2(), nullable=False),
    *_stamps(),
    CheckConstraint("state in ('draft')", name="state"),
    CheckConstraint("total_amount >= 0", name="total_amount"),
    *_currency_shape(),
    Index("ix_contracts_opportunity_id", "opportunity_id"),
)

contract_lines = Table(
    "contract_lines",
    metadata,
    Column("contract_id", Uuid(), ForeignKey("contracts.id"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("description", String(500), nullable=False),
    Column("quantity", FixedPoint2(), nullable=False),
    Column("unit_price", FixedPoint2(), nullable=False),
    Column("amount", FixedPoint2(), nullable=False),
    CheckConstraint("quantity > 0", name="quantity"),
)


def _report_indexes() -> list[Index]:
    """The win/loss report's scans (migrations 0004 and 0005): one currency's standing closes by close date, carrying
    what the report reads so PostgreSQL answers from the index alone; by owner or account and close date; reopened
    ones apart, by currency, owner or account. (The count by currency reads 0001's slim currency index.) Migration
    0012 added `owner_id` to the covering index for the report's `by_owner`; 0013 made one owner's index cover what
    the report reads of their closes too (one owner's report had become the slowest)."""
    standing, reopened = text("reopened_at IS NULL"), text("reopened_at IS NOT NULL")
    grouped = [
        "outcome",
        "status_reason",
        "close_reason_id",
        "competitor_id",
        "actual_revenue",
        "opportunity_created_on",
        "owner_id",
    ]
    return [
        Index(
            "ix_opportunity_closes_standing_currency_close_date_report",
            "currency",
            "close_date",
            postgresql_include=grouped,
            postgresql_where=standing,
            sqlite_where=standing,
        ),
        Index(
            "ix_opportunity_closes_standing_owner_id_close_date",
            "owner_id",
            "close_date",
            postgresql_include=["currency", *grouped[:-1]],
            postgresql_where=standing,
            sqlite_where=standing,
        ),
        *(
            Index(
                f"ix_opportunity_closes_{state}_{key}_close_date",
                key,
                "close_date",
                postgresql_include=["currency"],
                postgresql_where=where,
                sqlite_where=where,
            )
            for state, where, key in (
                ("standing", standing, "account_id"),
                ("reopened", reopened, "owner_id"),
                ("reopened", reopened, "account_id"),
            )
        ),
        Index(
            "ix_opportunity_closes_reopened_currency_close_date",
            "currency",
            "close_date",
            postgresql_include=["owner_id", "account_id"],
            postgresql_where=reopened,
            sqlite_where=reopened,
        ),
    ]


opportunity_closes = Table(
    "opportunity_closes",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("opportunity_id", Uuid(), ForeignKey("opportunities.id"), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("status_reason", String(16), nullable=False),
    Column("close_reason_id", Uuid(), ForeignKey("close_reasons.id")),
    Column("close_date", Date(), nullable=False),
    Column("actual_revenue", FixedPoint2(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("competitor_id", Uuid(), ForeignKey("competitors.id")),
    Column("description", Text()),
    Column("won_quote_id", Uuid(), ForeignKey("quotes.id")),
    Column("owner_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("account_id", Uuid(), ForeignKey("accounts.id"), nullable=False),
    Column("closed_by", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=False),
    Column("reopened_at", UTCDateTime()),
    Column("reopened_by", Uuid(), ForeignKey("users.id")),
    Column("reopen_reason", Text()),
    Column("opportunity_created_on", Date(), nullable=False),
    Column("subject", String(200)),
    Column("external_id", String(200)),
    *_stamps(),
    Index("ix_opportunity_closes_external_id", "external_id", unique=True),
    CheckConstraint("outcome in ('won', 'lost')", name="outcome"),
    CheckConstraint(CLOSE_STATUS, name="status_reason"),
    CheckConstraint("actual_revenue >= 0", name="actual_revenue"),
    CheckConstraint(f"close_date >= {FIRST_DAY}", name="close_date"),
    *_currency_shape(),
    Index("ix_opportunity_closes_opportunity_id_closed_at", "opportunity_id", "closed_at"),
    Index(
        "ix_opportunity_closes_one_standing_per_opportunity",
        "opportunity_id",
        unique=True,
        sqlite_where=text("reopened_at IS NULL"),
        postgresql_where=text("reopened_at IS NULL"),
    ),
    Index("ix_opportunity_closes_close_date", "close_date"),
    Index(
        "ix_opportunity_closes_standing_currency_close_date",
        "currency",
        "close_date",
        sqlite_where=text("reopened_at IS NULL"),
        postgresql_where=text("reopened_at IS NULL"),
    ),
    *_report_indexes(),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("seq", Integer(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("user_id", Uuid(), nullable=False),  # no key: the CLI's user management is done by SYSTEM, no user
    Column("record_type", String(32), nullable=False),
    Column("record_id", Uuid(), nullable=False),  # names records of several kinds, deleted drafts too: no key
    Column("opportunity_id", Uuid(), ForeignKey("opportunities.id")),
    Column("action", String(32), nullable=False),
    Column("before", JsonDoc),
    Column("after", JsonDoc),
    Index("ix_audit_entries_record_id_at", "record_id", "at", "seq"),
    Index("ix_audit_entries_opportunity_id_at", "opportunity_id", "at", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Uuid(), ForeignKey("users.id"), primary_key=True),
    Column("scope", String(300), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer(), nullable=False),
    Column("body", LargeBinary(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

idempotency_runs = Table(
    "idempotency_runs",
    metadata,
    Column("user_id", Uuid(), ForeignKey("users.id"), primary_key=True),
    Column("scope", String(300), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("lease_owner", Uuid(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=False),
    Column("progress", LargeBinary()),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_idempotency_runs_created_at", "created_at"),
)
"""A request under an Idempotency-Key while it runs (SPEC §7): who runs it, until when its lease holds, and for a
bulk close the result of each opportunity done so far, written in the transaction that closed it. When it finishes,
its answer goes to idempotency_keys and this row goes."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("label", String(80)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Index("ix_api_tokens_user_id", "user_id"),
)
"""Bearer tokens, kept only as SHA-256 digests: a stolen table does not give a working token."""

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_web_sessions_user_id", "user_id"),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", UTCDateTime(), primary_key=True),
    Column("hits", Integer(), nullable=False),
)
"""Counters shared by every server process (sign-in attempts per user name and per client address)."""

close_policy = Table(
    "close_policy",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("require_close_reason_won", Boolean(), nullable=False, server_default=false()),
    Column("require_close_reason_lost", Boolean(), nullable=False, server_default=false()),
    Column("require_competitor_when_out_sold", Boolean(), nullable=False, server_default=false()),
    Column("require_description_when_lost", Boolean(), nullable=False, server_default=false()),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
"""The close policy (SPEC §11): at most one row, id 1; without it nothing is required. Every close reads it in its
own transaction, by primary key."""

# ---------------------------------------------------------------------------------------------- close summaries
# The win/loss report's months that are over, summed once (db/close_summaries.py): the report reads a month's sums
# instead of its closes when the month is summarised and nothing in it has changed since (migration 0013).

close_summary_months = Table(
    "close_summary_months",
    metadata,
    Column("month", Date(), primary_key=True),
    Column("summarised_at", UTCDateTime(), nullable=False),
)
"""The months whose standing closes are summed in `close_summaries` and `close_owner_summaries` (first day)."""

close_summary_stale = Table(
    "close_summary_stale",
    metadata,
    Column("month", Date(), primary_key=True),
)
"""Months of the past in which a close record was written after the month ended (a back-dated close, a reopen, a
correction, an import): their sums may be out of date. Written by the database's own triggers, below."""

close_summaries = Table(
    "close_summaries",
    metadata,
    Column("month", Date(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("status_reason", String(16), nullable=False),
    Column("close_reason_id", Uuid()),
    Column("competitor_id", Uuid()),
    Column("closes", Integer(), nullable=False),
    Column("revenue", FixedPoint2(precision=20, scale=2), nullable=False),
    Column("days", BigInteger(), nullable=False),
    Index("ix_close_summaries_currency_month", "currency", "month"),
    Index("ix_close_summaries_month", "month"),
)
"""A summarised month's standing closes grouped as the report's grouped scan groups them (db/reports.py)."""

close_owner_summaries = Table(
    "close_owner_summaries",
    metadata,
    Column("month", Date(), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("outcome", String(8), primary_key=True),
    Column("owner_id", Uuid(), primary_key=True),
    Column("closes", Integer(), nullable=False),
    Column("revenue", FixedPoint2(precision=20, scale=2), nullable=False),
)
"""A summarised month's standing closes by outcome and owner (the report's `by_owner`)."""


quote_loss_summaries = Table(
    "quote_loss_summaries",
    metadata,
    Column("month", Date(), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("competitor_id", Uuid(), primary_key=True),
    Column("owner_id", Uuid(), primary_key=True),
    Column("quotes", Integer(), nullable=False),
    Column("amount", FixedPoint2(precision=20, scale=2), nullable=False),
    Index("ix_quote_loss_summaries_owner_id_currency_month", "owner_id", "currency", "month"),
)
"""A summarised month's quotes lost to a competitor (by `closed_on`), by the owner of their deal when summed (the
report's `quotes_by_competitor`; a deal changing hands marks the months of its lost quotes stale)."""


@dataclass(frozen=True)
class _Dated:
    """Rows of a table that count in the sums of the month of one of their dates."""

    table: str
    day: str
    counts: str = ""
    """Which rows count, with `{row}` for OLD or NEW; every row when empty."""

    def in_a_past_month(self, row: str, *, postgresql: bool) -> str:
        """Whether a row counts and its date lies before the current month (UTC). A month is summed only once it
        ended two days ago (services/housekeeping.py), so every write to a summed month meets this, whatever the
        business time zone; a close dated in the current month, the close path's usual case, fires no trigger."""
        past = (
            f"{row}.{self.day} < date_trunc('month', now() AT TIME ZONE 'UTC')"
            if postgresql
            else f"{row}.{self.day} < date('now', 'start of month')"
        )
        return f"({self.counts.format(row=row)} AND {past})" if self.counts else past


_DATED = (
    _Dated("opportunity_closes", "close_date"),
    _Dated("quotes", "closed_on", "{row}.status_reason = 'lost' AND {row}.competitor_id IS NOT NULL"),
)

_MARK_FUNCTION = """
CREATE FUNCTION {table}_mark_month_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.{day} IS NOT NULL THEN
        INSERT INTO close_summary_stale (month) VALUES (date_trunc('month', OLD.{day})::date) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.{day} IS NOT NULL THEN
        INSERT INTO close_summary_stale (month) VALUES (date_trunc('month', NEW.{day})::date) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$
"""

_OWNER_CHANGE_FUNCTION = """
CREATE FUNCTION opportunities_mark_quote_months_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO close_summary_stale (month)
    SELECT DISTINCT date_trunc('month', closed_on)::date FROM quotes
    WHERE opportunity_id = NEW.id AND status_reason = 'lost' AND competitor_id IS NOT NULL
      AND closed_on < date_trunc('month', now() AT TIME ZONE 'UTC')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""
_OWNER_CHANGE_SQLITE = (
    "CREATE TRIGGER opportunities_owner_marks_stale AFTER UPDATE ON opportunities FOR EACH ROW "
    "WHEN OLD.owner_id <> NEW.owner_id BEGIN "
    "INSERT OR IGNORE INTO close_summary_stale (month) SELECT DISTINCT date(closed_on, 'start of month') FROM quotes "
    "WHERE opportunity_id = NEW.id AND status_reason = 'lost' AND competitor_id IS NOT NULL "
    "AND closed_on < date('now', 'start of month'); END"
)
_OPERATIONS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}


def stale_month_triggers(dialect: str) -> list[str]:
    """The DDL of the triggers that mark a past month stale when a row that counts in its sums is written, or when
    a deal with lost quotes changes hands (both engines: the sums must hold whichever door wrote the row, COPY and
    raw SQL included)."""
    postgresql = dialect == "postgresql"
    statements: list[str] = []
    for dated in _DATED:
        if postgresql:
            statements.append(_MARK_FUNCTION.format(table=dated.table, day=dated.day))
        for operation, rows in _OPERATIONS.items():
            when = " OR ".join(dated.in_a_past_month(row, postgresql=postgresql) for row in rows)
            head = f"CREATE TRIGGER {dated.table}_{operation}_marks_stale AFTER {operation.upper()} ON {dated.table}"
            if postgresql:
                statements.append(
                    f"{head} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {dated.table}_mark_month_stale()"
                )
            else:
                marks = " ".join(
                    "INSERT OR IGNORE INTO close_summary_stale (month) "
                    f"VALUES (date({row}.{dated.day}, 'start of month'));"
                    for row in rows
                )
                statements.append(f"{head} FOR EACH ROW WHEN {when} BEGIN {marks} END")
    if postgresql:
        statements += [
            _OWNER_CHANGE_FUNCTION,
            "CREATE TRIGGER opportunities_owner_marks_stale AFTER UPDATE ON opportunities FOR EACH ROW "
            "WHEN (OLD.owner_id <> NEW.owner_id) EXECUTE FUNCTION opportunities_mark_quote_months_stale()",
        ]
    else:
        statements.append(_OWNER_CHANGE_SQLITE)
    return statements


def drop_stale_month_triggers(dialect: str) -> list[str]:
    postgresql = dialect == "postgresql"
    named = [(f"{d.table}_{operation}_marks_stale", d.table) for d in _DATED for operation in _OPERATIONS]
    named.append(("opportunities_owner_marks_stale", "opportunities"))
    statements = [f"DROP TRIGGER {name}" + (f" ON {table}" if postgresql else "") for name, table in named]
    if postgresql:
        statements += [f"DROP FUNCTION {d.table}_mark_month_stale()" for d in _DATED]
        statements.append("DROP FUNCTION opportunities_mark_quote_months_stale()")
    return statements
