"""Bulk reads and writes for CSV export and import: streamed exports in a stable order, references looked up a
batch at a time, and new rows inserted a chunk per statement."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, String, Table, cast, exc, func, insert, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError

from dealdesk.db import tables as t
from dealdesk.db.mapping import audit_row, opportunity_row
from dealdesk.db.types import driver_values
from dealdesk.domain.errors import ChangedWhileImporting
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.records import Account, Change
from dealdesk.services.moving import Kind
from dealdesk.services.ports import PreparedRows

BATCH = 500
"""References per IN (…) list: far below every engine's limit on bound parameters."""
STREAM = 1000
"""Rows fetched at a time while exporting (a server-side cursor on PostgreSQL)."""

TABLES: dict[Kind, Table] = {
    Kind.ACCOUNTS: t.accounts,
    Kind.COMPETITORS: t.competitors,
    Kind.CLOSE_REASONS: t.close_reasons,
    Kind.OPPORTUNITIES: t.opportunities,
    Kind.QUOTES: t.quotes,
    Kind.CLOSES: t.opportunity_closes,
}


def _ref(external_id: str | None, record_id: UUID | None) -> str | None:
    """How an export names a record: the id it came with, else its dealdesk id."""
    if external_id is not None:
        return external_id
    return None if record_id is None else str(record_id)


def _batches(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


@contextmanager
def _refused_if_taken_meanwhile() -> Iterator[None]:
    """The import checked these rows against what was stored then; a unique id or a reference that broke since is
    someone else's change in between, and refuses the whole import instead of failing it."""
    try:
        yield
    except IntegrityError as error:
        raise ChangedWhileImporting(
            "another change took one of these external ids, or removed a record they refer to, after the file was "
            "checked"
        ) from error


def _exported_id(table: Any) -> Any:
    """Ordering by the id an export shows puts records in the same order in an export and in the export of its
    import, whichever ids they have in each database (on SQLite the id text has no dashes, which sorts alike)."""
    return func.coalesce(table.c.external_id, cast(table.c.id, String))


def ready_rows(dialect: Dialect, table: Table, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows that all name the same columns, made ready for `insert_ready`: on SQLite each value converted by its
    column's type (db/types.py's `driver_values`); elsewhere left as they are, for a plain INSERT."""
    if dialect.name != "sqlite":
        return [tuple(row.values()) for row in rows]
    return list(driver_values(dialect, table, rows))


def insert_ready(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows made ready by `ready_rows`, as one executemany. On SQLite straight on the driver: SQLAlchemy's
    per-row parameter handling cost a large import several times what SQLite took to store the rows, all of it
    while holding the one writer. Elsewhere a plain INSERT."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    try:
        driver.executemany(sql, rows)
    except sqlite3.Error as error:  # as SQLAlchemy would raise it, so callers see one kind of database error
        raise exc.DBAPIError.instance(sql, None, error, sqlite3.Error) from error


class SqlMoving:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection
        self._audited = itertools.count()
        """`seq` of the audit entries prepared here: an opportunity's entries read back in the order made."""

    # ------------------------------------------------------------------------------------------ export
    def count(self, kind: str) -> int:
        source: Any = TABLES[Kind(kind)]
        if kind == Kind.QUOTES:  # one row per line
            source = t.quotes.outerjoin(t.quote_lines, t.quote_lines.c.quote_id == t.quotes.c.id)
        return int(self._conn().execute(select(func.count()).select_from(source)).scalar_one())

    def export_rows(self, kind: str) -> Iterator[dict[str, Any]]:
        match Kind(kind):
            case Kind.ACCOUNTS:
                return self._catalogue(TABLES[Kind.ACCOUNTS])
            case Kind.COMPETITORS:
                return self._competitors()
            case Kind.CLOSE_REASONS:
                return self._close_reasons()
            case Kind.OPPORTUNITIES:
                return self._opportunities()
            case Kind.QUOTES:
                return self._quotes()
            case Kind.CLOSES:
                return self._closes()

    def _stream(self, query: Select[Any]) -> Iterator[dict[str, Any]]:
        result = self._conn().execution_options(stream_results=True, yield_per=STREAM).execute(query)
        for row in result:
            yield dict(row._mapping)

    def _catalogue(self, table: Table) -> Iterator[dict[str, Any]]:
        c = table.c
        query = select(c.id, c.external_id, c.name, c.created_at).order_by(c.created_at, _exported_id(table))
        for row in self._stream(query):
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "name": row["name"],
                "created_at": row["created_at"],
            }

    def _competitors(self) -> Iterator[dict[str, Any]]:
        c = t.competitors.c
        query = select(c.id, c.external_id, c.name, c.active, c.created_at).order_by(
            c.created_at, _exported_id(t.competitors)
        )
        for row in self._stream(query):
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "name": row["name"],
                "active": row["active"],
                "created_at": row["created_at"],
            }

    def _close_reasons(self) -> Iterator[dict[str, Any]]:
        c = t.close_reasons.c
        query = select(c.id, c.external_id, c.outcome, c.name, c.active, c.created_at).order_by(
            c.created_at, _exported_id(t.close_reasons)
        )
        for row in self._stream(query):
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "outcome": row["outcome"],
                "name": row["name"],
                "active": row["active"],
                "created_at": row["created_at"],
            }

    def _opportunities(self) -> Iterator[dict[str, Any]]:
        o, a, u = t.opportunities.c, t.accounts.c, t.users.c
        query = (
            select(
                o.id,
                o.external_id,
                o.name,
                a.id.label("account_id"),
                a.external_id.label("account_external"),
                o.currency,
                o.estimated_revenue,
                o.estimated_close_date,
                o.description,
                u.name.label("owner"),
                o.state,
                o.status_reason,
                o.actual_revenue,
                o.actual_close_date,
                o.created_at,
            )
            .join(t.accounts, a.id == o.account_id)
            .join(t.users, u.id == o.owner_id)
            .order_by(o.created_at, _exported_id(t.opportunities))
        )
        for row in self._stream(query):
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "name": row["name"],
                "account_external_id": _ref(row["account_external"], row["account_id"]),
                "currency": row["currency"],
                "estimated_revenue": row["estimated_revenue"],
                "estimated_close_date": row["estimated_close_date"],
                "description": row["description"],
                "owner": row["owner"],
                "state": row["state"],
                "status_reason": row["status_reason"],
                "actual_revenue": row["actual_revenue"],
                "actual_close_date": row["actual_close_date"],
                "created_at": row["created_at"],
            }

    def _quotes(self) -> Iterator[dict[str, Any]]:
        q, o, ln = t.quotes.c, t.opportunities.c, t.quote_lines.c
        competitor, reason = t.competitors.alias("competitor"), t.close_reasons.alias("reason")
        winner = t.quotes.alias("winner")
        query = (
            select(
                q.id,
                q.external_id,
                o.id.label("opportunity_id"),
                o.external_id.label("opportunity_external"),
                q.number,
                q.revision,
                q.name,
                q.state,
                q.status_reason,
                q.valid_until,
                q.closed_on,
                q.close_description,
                competitor.c.id.label("competitor_id"),
                competitor.c.external_id.label("competitor_external"),
                reason.c.id.label("reason_id"),
                reason.c.external_id.label("reason_external"),
                winner.c.id.label("winner_id"),
                winner.c.external_id.label("winner_external"),
                q.total_amount,
                q.created_at,
                ln.position,
                ln.description.label("line_description"),
                ln.quantity,
                ln.unit_price,
                ln.amount,
            )
            .join(t.opportunities, o.id == q.opportunity_id)
            .outerjoin(t.quote_lines, ln.quote_id == q.id)
            .outerjoin(competitor, competitor.c.id == q.competitor_id)
            .outerjoin(reason, reason.c.id == q.close_reason_id)
            .outerjoin(winner, winner.c.id == q.superseded_by_quote_id)
            .order_by(o.created_at, _exported_id(t.opportunities), q.number, q.revision, ln.position)
        )
        for row in self._stream(query):
            has_line = row["position"] is not None
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "opportunity_external_id": _ref(row["opportunity_external"], row["opportunity_id"]),
                "number": row["number"],
                "revision": row["revision"],
                "name": row["name"],
                "state": row["state"],
                "status_reason": row["status_reason"],
                "valid_until": row["valid_until"],
                "closed_on": row["closed_on"],
                "close_description": row["close_description"],
                "competitor_external_id": _ref(row["competitor_external"], row["competitor_id"]),
                "close_reason_external_id": _ref(row["reason_external"], row["reason_id"]),
                "superseded_by_quote_external_id": _ref(row["winner_external"], row["winner_id"]),
                "total_amount": row["total_amount"],
                "created_at": row["created_at"],
                "line": row["position"] + 1 if has_line else None,
                "line_description": row["line_description"],
                "line_quantity": row["quantity"],
                "line_unit_price": row["unit_price"],
                "line_amount": row["amount"],
            }

    def _closes(self) -> Iterator[dict[str, Any]]:
        c, o = t.opportunity_closes.c, t.opportunities.c
        reason, competitor, won = (
            t.close_reasons.alias("reason"),
            t.competitors.alias("competitor"),
            t.quotes.alias("won"),
        )
        closer, reopener = t.users.alias("closer"), t.users.alias("reopener")
        query = (
            select(
                c.id,
                c.external_id,
                o.id.label("opportunity_id"),
                o.external_id.label("opportunity_external"),
                c.outcome,
                c.status_reason,
                reason.c.id.label("reason_id"),
                reason.c.external_id.label("reason_external"),
                c.close_date,
                c.actual_revenue,
                c.currency,
                competitor.c.id.label("competitor_id"),
                competitor.c.external_id.label("competitor_external"),
                c.description,
                won.c.id.label("won_id"),
                won.c.external_id.label("won_external"),
                closer.c.name.label("closed_by"),
                c.closed_at,
                c.reopened_at,
                reopener.c.name.label("reopened_by"),
                c.reopen_reason,
            )
            .join(t.opportunities, o.id == c.opportunity_id)
            .outerjoin(reason, reason.c.id == c.close_reason_id)
            .outerjoin(competitor, competitor.c.id == c.competitor_id)
            .outerjoin(won, won.c.id == c.won_quote_id)
            .outerjoin(closer, closer.c.id == c.closed_by)
            .outerjoin(reopener, reopener.c.id == c.reopened_by)
            .order_by(o.created_at, _exported_id(t.opportunities), c.closed_at, _exported_id(t.opportunity_closes))
        )
        for row in self._stream(query):
            yield {
                "external_id": _ref(row["external_id"], row["id"]),
                "opportunity_external_id": _ref(row["opportunity_external"], row["opportunity_id"]),
                "outcome": row["outcome"],
                "status_reason": row["status_reason"],
                "close_reason_external_id": _ref(row["reason_external"], row["reason_id"]),
                "close_date": row["close_date"],
                "actual_revenue": row["actual_revenue"],
                "currency": row["currency"],
                "competitor_external_id": _ref(row["competitor_external"], row["competitor_id"]),
                "description": row["description"],
                "won_quote_external_id": _ref(row["won_external"], row["won_id"]),
                "closed_by": row["closed_by"],
                "closed_at": row["closed_at"],
                "reopened_at": row["reopened_at"],
                "reopened_by": row["reopened_by"],
                "reopen_reason": row["reopen_reason"],
            }

    # ------------------------------------------------------------------------------------------ import
    def find(self, kind: str, refs: Collection[str]) -> dict[str, dict[str, Any]]:
        table = TABLES[Kind(kind)]
        conn = self._conn()
        wanted = sorted(set(refs))
        found: dict[str, dict[str, Any]] = {}
        for batch in _batches(wanted):
            for row in conn.execute(select(table).where(table.c.external_id.in_(batch))):
                found[row.external_id] = dict(row._mapping)
        by_id: dict[UUID, str] = {}
        for ref in wanted:
            if ref not in found:
                try:
                    by_id[UUID(ref)] = ref
                except ValueError:
                    continue
        for batch in _batches(list(by_id)):
            for row in conn.execute(select(table).where(table.c.id.in_(batch))):
                found[by_id[row.id]] = dict(row._mapping)
        return found

    def user_ids(self, names: Collection[str]) -> dict[str, UUID]:
        found: dict[str, UUID] = {}
        for batch in _batches(sorted(set(names))):
            for row in self._conn().execute(select(t.users.c.name, t.users.c.id).where(t.users.c.name.in_(batch))):
                found[row.name] = row.id
        return found

    def prepare_accounts(self, accounts: Sequence[tuple[Account, str]]) -> PreparedRows:
        rows = [
            {
                "id": account.id,
                "name": account.name,
                "external_id": external_id,
                "created_at": account.created_at,
                "updated_at": account.updated_at,
            }
            for account, external_id in accounts
        ]
        return self._prepared(t.accounts, rows)

    def prepare_opportunities(self, opportunities: Sequence[tuple[Opportunity, str]]) -> PreparedRows:
        rows = [
            {**opportunity_row(opportunity), "external_id": external_id} for opportunity, external_id in opportunities
        ]
        return self._prepared(t.opportunities, rows)

    def prepare_audit(self, changes: Sequence[tuple[Change, UUID | None]], *, by: UUID, at: datetime) -> PreparedRows:
        rows = [
            audit_row(change, seq=next(self._audited), at=at, by=by, opportunity_id=opportunity_id)
            for change, opportunity_id in changes
        ]
        return self._prepared(t.audit_entries, rows)

    def _prepared(self, table: Table, rows: list[dict[str, Any]]) -> PreparedRows:
        columns = tuple(rows[0]) if rows else ()
        return PreparedRows(table.name, columns, ready_rows(self._conn().dialect, table, rows))

    def insert_prepared(self, prepared: PreparedRows) -> None:
        with _refused_if_taken_meanwhile():
            insert_ready(self._conn(), t.metadata.tables[prepared.table], prepared.columns, prepared.rows)

    def set_external_id(self, kind: str, record_id: UUID, external_id: str) -> None:
        table = TABLES[Kind(kind)]
        with _refused_if_taken_meanwhile():
            self._conn().execute(update(table).where(table.c.id == record_id).values(external_id=external_id))

    def taken_competitor_names(self, names: Collection[str]) -> set[str]:
        keys = sorted({name.casefold() for name in names})
        taken: set[str] = set()
        for batch in _batches(keys):
            query = select(t.competitors.c.name_key).where(t.competitors.c.name_key.in_(batch))
            taken.update(row.name_key for row in self._conn().execute(query))
        return taken

    def taken_quote_numbers(self, numbers: Collection[str]) -> set[tuple[str, int]]:
        taken: set[tuple[str, int]] = set()
        for batch in _batches(sorted(set(numbers))):
            query = select(t.quotes.c.number, t.quotes.c.revision).where(t.quotes.c.number.in_(batch))
            taken.update((row.number, row.revision) for row in self._conn().execute(query))
        return taken

    def keep_quote_numbers_above(self, number: int) -> None:
        counter = t.quote_numbers.c
        self._conn().execute(
            update(t.quote_numbers).where(counter.id == 1, counter.last_number < number).values(last_number=number)
        )
