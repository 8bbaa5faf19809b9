"""Bulk close from a CSV file: read in chunks, close, stream every row's result to a CSV file as it comes.

Each batch's results reach the file (flushed) as soon as its transaction commits, so a run that is killed leaves
out at most the results of the batch in flight, and a rerun of the same file reports those deals."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import ValidationFailed
from dealdesk.services import closing
from dealdesk.services.ports import UnitOfWork

CHUNK = 1000
"""Ids per bulk_close call: the API's limit, and what keeps memory flat however long the file is."""


def _chunks(path: Path) -> Iterator[list[tuple[int, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "id" not in reader.fieldnames:
            raise ValidationFailed.field("file", "needs a header row with an `id` column")
        chunk: list[tuple[int, str]] = []
        for line_number, row in enumerate(reader, start=2):
            chunk.append((line_number, (row.get("id") or "").strip()))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def run_bulk_close(
    uow: UnitOfWork, actor: Actor, source: Path, target: Path, details: CloseDetails, *, console: Console
) -> tuple[int, int]:
    closed = failed = 0
    with (
        target.open("w", newline="", encoding="utf-8") as out,
        Progress(
            TextColumn("closing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        writer = csv.writer(out)
        writer.writerow(["line", "id", "ok", "code", "detail"])
        task = progress.add_task("close", total=_count_rows(source))

        def refuse(line: int, raw: str, code: str, detail: str) -> None:
            nonlocal failed
            failed += 1
            writer.writerow([line, raw, "false", code, detail])
            console.print(f"line {line}: {raw or '(empty)'} refused: [red]{code}[/] {detail}")

        lines: dict[UUID, int] = {}  # line number of each id of the chunk at hand

        def on_row(row: closing.BulkRow) -> None:
            nonlocal closed
            if row.ok:
                closed += 1
                writer.writerow([lines[row.id], row.id, "true", "", ""])
            else:
                assert row.error is not None
                refuse(lines[row.id], str(row.id), row.error.code, row.error.detail)
            progress.advance(task)

        for chunk in _chunks(source):
            ids: list[UUID] = []
            lines.clear()
            for line, raw in chunk:
                try:
                    opportunity_id = UUID(raw)
                except ValueError:
                    refuse(line, raw, "validation_error", "not an opportunity id")
                    continue
                if opportunity_id in lines:
                    refuse(line, raw, "validation_error", f"listed already on line {lines[opportunity_id]}")
                    continue
                lines[opportunity_id] = line
                ids.append(opportunity_id)

            if ids:
                closing.bulk_close(uow, ids, details, actor=actor, on_row=on_row, after_batch=out.flush)
            progress.advance(task, len(chunk) - len(ids))
            out.flush()
    return closed, failed
