"""CSV import (the `dealdesk import` command and the Import / export page): all or nothing.

Every row is checked — its cells, its references, and the rules its record must obey — and every bad row is
reported with its line, column and reason. If any row is bad, nothing is written. A dry run checks the same way and
writes nothing. The file is read a chunk of rows at a time, so memory stays flat however long it is.

The check runs in a read transaction, which on SQLite leaves the one writer free: other users keep working while a
long file is checked. What it plans to write is spooled to a temporary file and then written in one short write
transaction. The database's unique ids and references are the last guard: a record someone made or removed
between the two passes refuses the whole import (`changed_while_importing`; run it again), never half of it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import TextIO

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ChangedWhileImporting
from dealdesk.services.import_catalogue import AccountImport, CloseReasonImport, CompetitorImport, OpportunityImport
from dealdesk.services.import_deals import CloseImport, QuoteImport
from dealdesk.services.import_support import Importer, ImportReport, Plan, RowProblem, Run, chunks, read_rows
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


def import_csv(
    uow: UnitOfWork,
    kind: Kind,
    source: TextIO,
    *,
    actor: Actor,
    dry_run: bool = False,
    on_rows: Callable[[int], None] | None = None,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_checked: Callable[[], None] | None = None,
) -> ImportReport:
    """Import one kind of record from CSV text. Importers act on anyone's deals and on the catalogues, so only
    managers and admins may. `on_rows` hears how many rows each chunk held; `on_problem` hears each problem as
    it is found (the report keeps the first ones); `on_checked` hears that every row passed, before the write."""
    actor.require_manager("import records")
    report = ImportReport(kind=kind, dry_run=dry_run)
    run = Run(uow, kind, actor, report, on_problem)
    importer = IMPORTERS[kind](run)
    with tempfile.TemporaryFile(prefix="dealdesk-import-") as spool:
        plan = Plan(spool)
        with uow.transaction(write=False):
            for chunk in chunks(read_rows(source, kind, run)):
                plan.add(importer.check(chunk))
                report.rows += len(chunk)
                if on_rows is not None:
                    on_rows(len(chunk))
            plan.add(importer.finish())
        if report.ok and not dry_run:
            if on_checked is not None:
                on_checked()
            _write(uow, run, importer, plan)
    report.problems.sort(key=lambda problem: problem.line)
    return report


def _write(uow: UnitOfWork, run: Run, importer: Importer, plan: Plan) -> None:
    """Everything the check planned, in one write transaction; a change made meanwhile rolls all of it back."""
    run.writing = True
    try:
        with uow.transaction():
            for planned in plan:
                importer.write(planned)
        run.report.written = True
    except ChangedWhileImporting as error:
        run.writing = False
        run.problem(1, "", f"{error.code}: {error.detail}. Nothing was imported: run the import again.")
