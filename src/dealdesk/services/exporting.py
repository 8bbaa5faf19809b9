"""CSV export: every record of one kind, streamed to a text stream in one read transaction (a consistent
snapshot), so memory stays flat however many records there are."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TextIO

from dealdesk.services.moving import COLUMNS, VALUE_COLUMNS, Kind
from dealdesk.services.ports import UnitOfWork
from dealdesk.services.spreadsheet_guard import guard_text

PROGRESS_EVERY = 1000


def cell(value: Any) -> str:
    """How a value is written: money with 2 decimals, dates as YYYY-MM-DD, timestamps in ISO 8601 (UTC, with
    offset), booleans as true/false, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def count_rows(uow: UnitOfWork, kind: Kind) -> int:
    """How many rows an export of this kind writes, header aside (a quote takes one row per line)."""
    with uow.transaction(write=False):
        return uow.moving.count(kind)


def export_csv(uow: UnitOfWork, kind: Kind, out: TextIO, *, on_rows: Callable[[int], None] | None = None) -> int:
    """Write the header and every record of `kind` to `out`, oldest first; answers how many rows were written.
    Text cells carry the formula guard (SPEC §7), which import takes off again."""
    columns = COLUMNS[kind]
    guarded = [column not in VALUE_COLUMNS for column in columns]
    writer = csv.writer(out)
    written = 0
    with uow.transaction(write=False):
        writer.writerow(columns)
        for row in uow.moving.export_rows(kind):
            writer.writerow(
                [
                    guard_text(cell(row[column])) if text else cell(row[column])
                    for column, text in zip(columns, guarded, strict=True)
                ]
            )
            written += 1
            if on_rows is not None and written % PROGRESS_EVERY == 0:
                on_rows(PROGRESS_EVERY)
    if on_rows is not None:
        on_rows(written % PROGRESS_EVERY)
    return written
