"""Moving in and out: the kinds of record that CSV export and import carry, and their columns.

One file per kind. Every record carries `external_id`, the id it has in the system it came from; records that
were made in dealdesk are exported with their dealdesk id there, so an export imports into another dealdesk, and
back into the same one without creating anything twice. References to other records use the same ids
(`account_external_id`, …); people are named by their user name.

Import in this order, each kind after the ones it refers to: accounts, competitors, close reasons, opportunities,
quotes, closes. A won or lost opportunity is imported open and closes when its close records are imported, through
the same rules as a close made in dealdesk; its quotes must be imported before that."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    ACCOUNTS = "accounts"
    COMPETITORS = "competitors"
    CLOSE_REASONS = "close-reasons"
    OPPORTUNITIES = "opportunities"
    QUOTES = "quotes"
    CLOSES = "closes"


IMPORT_ORDER: Final = (
    Kind.ACCOUNTS,
    Kind.COMPETITORS,
    Kind.CLOSE_REASONS,
    Kind.OPPORTUNITIES,
    Kind.QUOTES,
    Kind.CLOSES,
)

COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.ACCOUNTS: ("external_id", "name", "created_at"),
    Kind.COMPETITORS: ("external_id", "name", "active", "created_at"),
    Kind.CLOSE_REASONS: ("external_id", "outcome", "name", "active", "created_at"),
    Kind.OPPORTUNITIES: (
        "external_id",
        "name",
        "account_external_id",
        "currency",
        "estimated_revenue",
        "estimated_close_date",
        "description",
        "owner",
        "state",
        "status_reason",
        "actual_revenue",
        "actual_close_date",
        "created_at",
    ),
    Kind.QUOTES: (
        "external_id",
        "opportunity_external_id",
        "number",
        "revision",
        "name",
        "state",
        "status_reason",
        "valid_until",
        "closed_on",
        "close_description",
        "competitor_external_id",
        "close_reason_external_id",
        "superseded_by_quote_external_id",
        "total_amount",
        "created_at",
        "line",
        "line_description",
        "line_quantity",
        "line_unit_price",
        "line_amount",
    ),
    Kind.CLOSES: (
        "external_id",
        "opportunity_external_id",
        "outcome",
        "status_reason",
        "close_reason_external_id",
        "close_date",
        "actual_revenue",
        "currency",
        "competitor_external_id",
        "description",
        "won_quote_external_id",
        "closed_by",
        "closed_at",
        "reopened_at",
        "reopened_by",
        "reopen_reason",
    ),
}
"""Export writes every column in this order; import needs the REQUIRED ones in its header, in any order."""

REQUIRED: Final[dict[Kind, frozenset[str]]] = {
    Kind.ACCOUNTS: frozenset({"external_id", "name"}),
    Kind.COMPETITORS: frozenset({"external_id", "name"}),
    Kind.CLOSE_REASONS: frozenset({"external_id", "outcome", "name"}),
    Kind.OPPORTUNITIES: frozenset({"external_id", "name", "account_external_id", "estimated_revenue"}),
    Kind.QUOTES: frozenset({"external_id", "opportunity_external_id", "number", "name", "state"}),
    Kind.CLOSES: frozenset({"external_id", "opportunity_external_id", "outcome", "close_date"}),
}

QUOTE_LINE_COLUMNS: Final = ("line", "line_description", "line_quantity", "line_unit_price", "line_amount")
"""Quotes take one row per line; the quote's own columns repeat on each of its rows."""

QUOTE_COLUMNS: Final = tuple(c for c in COLUMNS[Kind.QUOTES] if c not in QUOTE_LINE_COLUMNS)

VALUE_COLUMNS: Final = frozenset(
    {
        "active",
        "revision",
        "line",
        "estimated_revenue",
        "actual_revenue",
        "total_amount",
        "line_quantity",
        "line_unit_price",
        "line_amount",
        "estimated_close_date",
        "actual_close_date",
        "valid_until",
        "closed_on",
        "close_date",
        "created_at",
        "closed_at",
        "reopened_at",
    }
)
"""Columns of numbers, money, quantities, dates, timestamps and flags. Every other column is text, which export
writes with the formula guard and import reads without it (services/spreadsheet_guard.py)."""

MAX_EXTERNAL_ID = 200
