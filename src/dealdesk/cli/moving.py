"""`dealdesk export KIND FILE` and `dealdesk import KIND FILE [--dry-run]`: moving records in and out as CSV.

Both stream, so a file of a million rows takes no more memory than one of a thousand. Files are UTF-8 with a byte
order mark (spreadsheets then read them as UTF-8); import takes them with or without one. Import shows every bad
row on stderr as it is found (the first ones) and writes all of them to a problems file; if there is any, nothing
is imported and the command exits 1."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dealdesk.cli.refusals import EXIT_REFUSED, err, refusals
from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.services import exporting, importing
from dealdesk.services.import_support import ImportReport, RowProblem
from dealdesk.services.moving import IMPORT_ORDER, Kind

SHOWN_PROBLEMS = 200
"""Problems printed as they are found; the problems file has every one."""
KIND_HELP = "One of: " + ", ".join(kind.value for kind in IMPORT_ORDER) + " (import them in this order)"


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a file, so the progress bar can follow the file rather than a row count."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        read = self._raw.readinto(buffer)
        self.count += read or 0
        return read or 0


@contextmanager
def desk() -> Iterator[tuple[SqlUnitOfWork, Actor]]:
    """A unit of work acting as the CLI's user (an admin: the CLI runs on the server), its engine closed after."""
    settings = Settings()
    engine = make_engine(settings)
    try:
        uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
        with uow.transaction():
            actor = uow.users.ensure(settings.default_user, "admin")
        yield uow, actor
    finally:
        engine.dispose()


def export_command(
    kind: Annotated[Kind, typer.Argument(help=KIND_HELP)],
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the CSV; - for stdout")],
) -> None:
    """Export every record of one kind as CSV (import it here or into another dealdesk)."""
    with desk() as (uow, _actor), refusals():
        total = exporting.count_rows(uow, kind)
        if str(file) == "-":
            written = exporting.export_csv(uow, kind, sys.stdout)
        else:
            with (
                file.open("w", newline="", encoding="utf-8-sig") as out,
                Progress(
                    TextColumn(f"exporting {kind.value}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err,
                ) as progress,
            ):
                task = progress.add_task("export", total=total)
                written = exporting.export_csv(uow, kind, out, on_rows=lambda rows: progress.advance(task, rows))
    err.print(f"exported {written} rows of {kind.value} to {file}")


def import_command(
    kind: Annotated[Kind, typer.Argument(help=KIND_HELP)],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV to import")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row and report; write nothing")] = False,
    problems: Annotated[
        Path | None, typer.Option(help="Where every bad row is listed (default FILE.problems.csv)")
    ] = None,
) -> None:
    """Import one kind of record from CSV: every row is checked first; one bad row and nothing is written."""
    problems_path = problems or file.with_suffix(".problems.csv")
    listing = _ProblemList(problems_path)
    with (
        desk() as (uow, actor),
        refusals(),
        file.open("rb") as raw,
        Progress(
            TextColumn(f"{'checking' if dry_run else 'importing'} {kind.value}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TimeElapsedColumn(),
            console=err,
        ) as progress,
    ):
        counting = _CountingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8-sig", newline="")
        task = progress.add_task("import", total=file.stat().st_size, rows=0)
        read = 0

        def advance(rows: int) -> None:
            nonlocal read
            read += rows
            progress.update(task, completed=counting.count, rows=read)

        try:
            report = importing.import_csv(
                uow, kind, text, actor=actor, dry_run=dry_run, on_rows=advance, on_problem=listing.add
            )
        finally:
            listing.close()
        progress.update(task, completed=file.stat().st_size)
    _summary(report, listing)
    if not report.ok:
        raise typer.Exit(EXIT_REFUSED)


class _ProblemList:
    """Every problem goes to a CSV file (created at the first one); the first ones are also printed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: TextIO | None = None
        self._writer: csv.DictWriter[str] | None = None

    def add(self, problem: RowProblem) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.DictWriter(self._handle, fieldnames=["line", "column", "reason"])
            self._writer.writeheader()
        self._writer.writerow({"line": problem.line, "column": problem.column, "reason": problem.reason})
        self.count += 1
        if self.count <= SHOWN_PROBLEMS:
            where = f"line {problem.line}" + (f", {problem.column}" if problem.column else "")
            err.print(f"[red]{escape(where)}[/]: {escape(problem.reason)}")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _summary(report: ImportReport, listing: _ProblemList) -> None:
    if not report.ok:
        more = (
            f" ({report.problem_count - SHOWN_PROBLEMS} more not shown)"
            if report.problem_count > SHOWN_PROBLEMS
            else ""
        )
        err.print(
            f"[bold red]import_refused[/]: {report.problem_count} problem(s) in {report.rows} rows{more}; "
            f"all are listed in {listing.path}. Nothing was imported."
        )
        return
    verb = "would import" if report.dry_run else "imported"
    err.print(
        f"{verb} {report.created} {report.kind.value}, {report.unchanged} already in dealdesk and unchanged "
        f"({report.rows} rows)" + ("; dry run: nothing was written" if report.dry_run else "")
    )
    if report.awaiting_close:
        err.print(
            f"{report.awaiting_close} of them are won or lost in the file: they stay open until their close "
            "records are imported (after their quotes)."
        )
