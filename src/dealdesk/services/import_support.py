"""What every kind of CSV import shares: reading rows with their line numbers, reading cells into domain values
with the domain's own checks, and reporting each bad row with its line, column and reason."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any, Protocol, TextIO, TypeVar
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ChangedWhileImporting, DomainError, ValidationFailed
from dealdesk.domain.records import Change
from dealdesk.domain.values import (
    check_currency,
    check_description,
    check_money,
    check_quantity,
    check_storable,
    check_text,
    parse_decimal_text,
    parse_iso_date,
)
from dealdesk.services.moving import COLUMNS, MAX_EXTERNAL_ID, REQUIRED, VALUE_COLUMNS, Kind
from dealdesk.services.ports import PreparedRows, UnitOfWork
from dealdesk.services.spreadsheet_guard import unguard_text

E = TypeVar("E", bound=StrEnum)

CHUNK = 1000
"""Rows checked together, and what they plan to write spooled together: what keeps memory flat however long the
file is."""
KEPT_PROBLEMS = 1000
"""Problems kept in the report; every one is still counted and passed to `on_problem` as it is found."""


@dataclass(frozen=True)
class RowProblem:
    """One reason a row cannot be imported. Line 1 is the header; `column` is empty for the row as a whole."""

    line: int
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: Kind
    dry_run: bool
    rows: int = 0
    """Data rows read (a quote takes one row per line)."""
    created: int = 0
    unchanged: int = 0
    """Records already in dealdesk with the same values (a re-import), left as they are."""
    awaiting_close: int = 0
    """Opportunities the file says are won or lost: open until their close records are imported."""
    problem_count: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    written: bool = False
    """True when the import was committed: no problem was found and it was not a dry run."""

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


@dataclass(frozen=True)
class SourceRow:
    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


class Run:
    """One import: its unit of work, who imports, the report, and look-ups it keeps. It checks every row in a read
    transaction, then writes what the check planned in a write transaction (`writing`); a problem met while writing
    means the records changed in between, and refuses the whole import."""

    def __init__(
        self,
        uow: UnitOfWork,
        kind: Kind,
        actor: Actor,
        report: ImportReport,
        on_problem: Callable[[RowProblem], None] | None,
    ) -> None:
        self.uow = uow
        self.kind = kind
        self.actor = actor
        self.report = report
        self._on_problem = on_problem
        self._users: dict[str, UUID] = {}
        self._first_lines: dict[str, int] = {}
        self.writing = False
        self.now = uow.clock.now()
        self.today = uow.clock.today()

    def problem(self, line: int, column: str, reason: str) -> None:
        if self.writing:
            where = f"line {line}" + (f", {column}" if column else "")
            raise ChangedWhileImporting(
                f"records changed in dealdesk while the file was imported ({where}: {reason}; it passed when the "
                "file was checked)"
            )
        problem = RowProblem(line, column, reason)
        self.report.problem_count += 1
        if len(self.report.problems) < KEPT_PROBLEMS:
            self.report.problems.append(problem)
        if self._on_problem is not None:
            self._on_problem(problem)

    def refused(self, line: int, error: DomainError, *, columns: Mapping[str, str], column: str = "") -> None:
        """A rule refused the row: each field error at its column, anything else as the rule's own words."""
        if isinstance(error, ValidationFailed):
            for fault in error.errors:
                self.problem(line, columns.get(fault.field, column), fault.message)
        else:
            self.problem(line, column, f"{error.code}: {error.detail}")

    def users(self, names: Collection[str]) -> dict[str, UUID]:
        """Ids of users by name; people are few, so they are remembered for the whole run."""
        missing = [name for name in names if name not in self._users]
        if missing:
            self._users.update(self.uow.moving.user_ids(missing))
        return {name: self._users[name] for name in names if name in self._users}

    def first_line(self, line: int, external_id: str) -> int | None:
        """The line an external id was first on in this file, when that is not this line (the row is then reported,
        and skipped). Nothing is written until every row is checked, so a repeat is found here, not in dealdesk."""
        first = self._first_lines.setdefault(external_id, line)
        return None if first == line else first

    def prepared_audit(self, changes: Sequence[tuple[Change, UUID | None]]) -> PreparedRows:
        """Audit entries made ready to insert with the records they audit (for the import's bulk writes)."""
        return self.uow.moving.prepare_audit(changes, by=self.actor.id, at=self.now)

    def audit(self, changes: list[Change], *, opportunity_id: UUID | None = None) -> None:
        """Imports are audited like any other change, as done now by whoever imports."""
        self.uow.audit.record(changes, by=self.actor.id, at=self.now, opportunity_id=opportunity_id)


class Cells:
    """Reads one row's cells into values, collecting every fault with its column; the rules are the domain's."""

    def __init__(self, row: SourceRow) -> None:
        self.row = row
        self.faults: list[tuple[str, str]] = []

    @property
    def ok(self) -> bool:
        return not self.faults

    def fail(self, column: str, reason: str) -> None:
        self.faults.append((column, reason))

    def report_to(self, run: Run) -> None:
        for column, reason in self.faults:
            run.problem(self.row.line, column, reason)

    def _raw(self, column: str, *, required: bool) -> str | None:
        text = self.row.get(column).strip()
        if not text:
            if required:
                self.fail(column, "is required")
            return None
        return text

    def _checked(self, column: str, check: Callable[[], object]) -> object | None:
        try:
            return check()
        except ValidationFailed as error:
            for fault in error.errors:
                self.fail(column, fault.message)
            return None

    def reference(self, column: str, *, required: bool = False) -> str | None:
        """An id from the other system (or a dealdesk id): at most 200 characters of text."""
        text = self._raw(column, required=required)
        if text is None:
            return None
        if len(text) > MAX_EXTERNAL_ID:
            self.fail(column, f"must be at most {MAX_EXTERNAL_ID} characters")
            return None
        value = self._checked(column, lambda: check_storable(text, field=column))
        return value if isinstance(value, str) else None

    def text(self, column: str, *, max_length: int, required: bool = False) -> str | None:
        raw = self.row.get(column)
        if not raw.strip():
            if required:
                self.fail(column, "is required")
            return None
        value = self._checked(column, lambda: check_text(raw, field=column, max_length=max_length))
        return value if isinstance(value, str) else None

    def description(self, column: str) -> str | None:
        raw = self.row.get(column)
        value = self._checked(column, lambda: check_description(raw or None, field=column))
        return value if isinstance(value, str) else None

    def currency(self, column: str) -> str | None:
        text = self._raw(column, required=False)
        if text is None:
            return None
        value = self._checked(column, lambda: check_currency(text, field=column))
        return value if isinstance(value, str) else None

    def _decimal(self, column: str, *, required: bool) -> Decimal | None:
        text = self._raw(column, required=required)
        if text is None:
            return None
        value = self._checked(column, lambda: parse_decimal_text(text, field=column))
        return value if isinstance(value, Decimal) else None

    def money(self, column: str, *, required: bool = False, allow_negative: bool = False) -> Decimal | None:
        number = self._decimal(column, required=required)
        if number is None:
            return None
        value = self._checked(column, lambda: check_money(number, field=column, allow_negative=allow_negative))
        return value if isinstance(value, Decimal) else None

    def quantity(self, column: str, *, required: bool = False) -> Decimal | None:
        number = self._decimal(column, required=required)
        if number is None:
            return None
        value = self._checked(column, lambda: check_quantity(number, field=column))
        return value if isinstance(value, Decimal) else None

    def day(self, column: str, *, required: bool = False) -> date | None:
        text = self._raw(column, required=required)
        if text is None:
            return None
        value = self._checked(column, lambda: parse_iso_date(text, field=column))
        return value if isinstance(value, date) else None

    def moment(self, column: str, *, required: bool = False) -> datetime | None:
        """A timestamp in ISO 8601 with its offset, such as 2026-03-01T09:30:00+00:00."""
        text = self._raw(column, required=required)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail(column, "must be a timestamp such as 2026-03-01T09:30:00+00:00")
            return None
        if value.tzinfo is None:
            self.fail(column, "must say its offset from UTC, such as +00:00")
            return None
        return value

    def choice(self, column: str, kind: type[E], *, required: bool = False) -> E | None:
        text = self._raw(column, required=required)
        if text is None:
            return None
        try:
            return kind(text)
        except ValueError:
            self.fail(column, "must be one of " + ", ".join(member.value for member in kind))
            return None

    def whole_number(self, column: str, *, default: int) -> int:
        text = self._raw(column, required=False)
        if text is None:
            return default
        if not text.isdigit() or len(text) > 9:
            self.fail(column, "must be a whole number of 0 or more")
            return default
        return int(text)

    def flag(self, column: str, *, default: bool) -> bool:
        text = self._raw(column, required=False)
        if text is None:
            return default
        if text.lower() not in ("true", "false"):
            self.fail(column, "must be true or false")
            return default
        return text.lower() == "true"


def read_rows(stream: TextIO, kind: Kind, run: Run) -> Iterator[SourceRow]:
    """The file's data rows with the line each starts on. A header that does not fit the kind stops the import;
    so does text that cannot be read as CSV or as UTF-8 (nothing after it is read, and it is reported). Text cells
    lose the formula guard an export gave them; number, money and date cells are read as they are."""
    reader = csv.reader(stream, strict=True)
    last_line = 0
    try:
        first = next(reader, None)
        if first is None:
            run.problem(1, "", "the file is empty: it needs a header row naming its columns")
            return
        header = [cell.strip().lstrip("\ufeff") for cell in first]
        if not _header_fits(header, kind, run):
            return
        text_columns = [column not in VALUE_COLUMNS for column in header]
        last_line = reader.line_num
        for record in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                run.problem(line, "", f"has {len(record)} fields where the header has {len(header)}")
                continue
            values = [unguard_text(cell) if text else cell for cell, text in zip(record, text_columns, strict=True)]
            yield SourceRow(line, dict(zip(header, values, strict=True)))
    except csv.Error as error:
        run.problem(last_line + 1, "", f"cannot be read as CSV ({error}); nothing after it was read")
    except UnicodeDecodeError:
        run.problem(last_line + 1, "", "is not UTF-8 text; nothing after it was read")


def _header_fits(header: list[str], kind: Kind, run: Run) -> bool:
    known = COLUMNS[kind]
    fits = True
    for position, column in enumerate(header):
        if column not in known:
            run.problem(1, column, f"is not a column of {kind.value}; they are: {', '.join(known)}")
            fits = False
        elif column in header[:position]:
            run.problem(1, column, "appears twice in the header")
            fits = False
    for column in sorted(REQUIRED[kind] - set(header)):
        run.problem(1, column, "is a required column but the header lacks it")
        fits = False
    return fits


def lookable(text: str) -> bool:
    """Whether a cell can be looked up at all (an id too long or with a NUL is reported where it is read)."""
    return 0 < len(text) <= MAX_EXTERNAL_ID and "\x00" not in text


def looked_up(rows: Sequence[SourceRow], column: str) -> set[str]:
    """A chunk's references in one column, to look them all up in one go."""
    return {text for text in (row.get(column).strip() for row in rows) if lookable(text)}


def chunks(rows: Iterator[SourceRow], size: int = CHUNK) -> Iterator[list[SourceRow]]:
    chunk: list[SourceRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def with_external_ids(changes: list[Change], external_ids: Mapping[UUID, str]) -> list[Change]:
    """The audit's record of each imported record's creation also says which id it came with."""
    return [
        Change(
            c.record_type,
            c.record_id,
            c.action,
            c.before,
            {**(c.after or {}), "external_id": external_ids[c.record_id]},
        )
        if c.action == "create" and c.record_id in external_ids
        else c
        for c in changes
    ]


class Importer(Protocol):
    """Imports one kind in two passes. Checking takes the file's rows a chunk at a time, in file order, then
    finishes; each returns what it plans to write (picklable, in order) and writes nothing. Writing then takes
    those plans back, in the same order, in one short write transaction."""

    def check(self, rows: Sequence[SourceRow]) -> list[Any]: ...
    def finish(self) -> list[Any]: ...
    def write(self, planned: list[Any]) -> None: ...


class Plan:
    """What the check pass plans to write, spooled to a temporary file a chunk at a time, so a long file's plan
    does not stay in memory; read back in the order it was added."""

    def __init__(self, spool: IO[bytes]) -> None:
        self._spool = spool

    def add(self, planned: list[Any]) -> None:
        if planned:
            pickle.dump(planned, self._spool, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[list[Any]]:
        self._spool.seek(0)
        while True:
            try:
                planned: list[Any] = pickle.load(self._spool)  # our own spool, written just before
            except EOFError:
                return
            yield planned


def first_lines(run: Run, rows: Sequence[tuple[SourceRow, str]]) -> set[int]:
    """Lines that repeat an external id seen earlier in the file: reported, and to be skipped."""
    repeated: set[int] = set()
    for row, external_id in rows:
        first = run.first_line(row.line, external_id)
        if first is not None:
            run.problem(row.line, "external_id", f"is on line {first} already")
            repeated.add(row.line)
    return repeated


def same_as_stored(run: Run, row: SourceRow, stored: Mapping[str, Any], given: Mapping[str, tuple[str, Any]]) -> None:
    """A row whose record is in dealdesk already: unchanged when it says the same, refused when it differs (an
    import never overwrites). `given` maps a column to the stored field it names and the value the row gives."""
    differing = [column for column, (stored_field, value) in given.items() if stored[stored_field] != value]
    if differing:
        run.problem(
            row.line,
            "external_id",
            f"is in dealdesk already with other values ({', '.join(differing)}); an import never overwrites a record",
        )
    else:
        run.report.unchanged += 1
