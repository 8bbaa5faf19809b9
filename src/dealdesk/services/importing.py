"""CSV import (the `dealdesk import` command and the Import / export page): all or nothing.

Every row is checked — its cells, its references, and the rules its record must obey — and every bad row is
reported with its line, column and reason. If any row is bad, nothing is written; otherwise everything is
written in one transaction. A dry run checks the same way and writes nothing. The file is read a chunk of rows
at a time, so memory stays flat however long it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from dealdesk.domain.access import Actor
from dealdesk.services.import_catalogue import AccountImport, CloseReasonImport, CompetitorImport, OpportunityImport
from dealdesk.services.import_deals import CloseImport, QuoteImport
from dealdesk.services.import_support import Importer, ImportReport, RowProblem, Run, chunks, read_rows
from dealdesk.services.moving import Kind
from dealdesk.services.ports import UnitOfWork

IMPORTERS: dict[Kind, Callable[[Run], Importer]] = {
    Kind.ACCOUNTS: AccountImport,
    Kind.COMPETITORS: CompetitorImport,
    Kind.CLOSE_REASONS: CloseReasonImport,
    Kind.OPPORTUNITIES: OpportunityImport,
    Kind.QUOTES: QuoteImport,
    Kind.CLOSES: CloseImport,
}


class _NothingToKeep(Exception):
    """Leaves the import's transaction so that it rolls back: a dry run, or a file with a bad row."""


def import_csv(
    uow: UnitOfWork,
    kind: Kind,
    source: TextIO,
    *,
    actor: Actor,
    dry_run: bool = False,
    on_rows: Callable[[int], None] | None = None,
    on_problem: Callable[[RowProblem], None] | None = None,
) -> ImportReport:
    """Import one kind of record from CSV text. Importers act on anyone's deals and on the catalogues, so only
    managers and admins may. `on_rows` hears how many rows each chunk held; `on_problem` hears each problem as
    it is found (the report keeps the first ones)."""
    actor.require_manager("import records")
    report = ImportReport(kind=kind, dry_run=dry_run)
    try:
        with uow.transaction():
            run = Run(uow, kind, actor, report, on_problem)
            importer = IMPORTERS[kind](run)
            for chunk in chunks(read_rows(source, kind, run)):
                importer.take(chunk)
                report.rows += len(chunk)
                if on_rows is not None:
                    on_rows(len(chunk))
            importer.finish()
            if dry_run or not report.ok:
                raise _NothingToKeep
        report.written = True
    except _NothingToKeep:
        pass
    report.problems.sort(key=lambda problem: problem.line)
    return report
