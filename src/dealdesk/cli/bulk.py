"""Bulk close from a CSV file: read in chunks, close, stream every row's result to a CSV file as it comes.

Each batch's results reach the file (flushed) as soon as its transaction commits, so a run that is killed leaves
out at most the results of the batch in flight (up to closing.BULK_BATCH deals, committed or not: per-row commits
would make a large file many times slower). A rerun reports every row, those included: each chunk of the file runs
as one bulk close under an implicit Idempotency-Key (SPEC §7), derived from the chunk's ids in order and the close
details, and scoped to the user. So a rerun of the same file with the same options, by the same user, within the
key's 24 hours, is the same bulk close: a chunk that finished is replayed (a deal it closed is reported closed,
not refused as closed already), and a chunk that was cut short is finished from the progress its batches
committed. Deals the earlier run refused are tried again, under a key of their own, so that a rerun after putting
them right closes them (and a rerun killed meanwhile is as safe). Other options, a new day (the close date
defaults to today) or another user make another bulk close, which refuses deals closed already as before."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import IdempotencyKeyInProgress, ValidationFailed
from dealdesk.services import closing
from dealdesk.services.guards import Preconditions, Replay
from dealdesk.services.ports import IdempotencyRequest, UnitOfWork

CHUNK = 1000
"""Ids per bulk_close call: the API's limit, and what keeps memory flat however long the file is."""

SCOPE = "dealdesk bulk-close"
"""Where the command line's implicit Idempotency-Keys live, apart from the API's (scoped by path)."""


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

        lines: dict[UUID, int] = {}  # line number of each id of the chunk at hand, until it is reported

        def on_row(row: closing.BulkRow) -> None:
            nonlocal closed
            line = lines.pop(row.id)  # reported: each id once
            if row.ok:
                closed += 1
                writer.writerow([line, row.id, "true", "", ""])
            else:
                assert row.error is not None
                refuse(line, str(row.id), row.error.code, row.error.detail)
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
                _close_chunk(uow, ids, details, actor=actor, on_row=on_row, after_batch=out.flush, console=console)
            progress.advance(task, len(chunk) - len(ids))
            out.flush()
    return closed, failed


def _close_chunk(
    uow: UnitOfWork,
    ids: Sequence[UUID],
    details: CloseDetails,
    *,
    actor: Actor,
    on_row: Callable[[closing.BulkRow], None],
    after_batch: Callable[[], None],
    console: Console,
) -> None:
    """Close one chunk as the same bulk close an earlier run of the file began, if there was one: hear every row
    once, as the earlier run settled it or as this one does. A replayed run's refusals are tried again as a bulk
    close of their own (the next `attempt`), until one of them runs here rather than replays."""
    pending, attempt, heard = ids, 0, 0

    def hear(row: closing.BulkRow) -> None:
        nonlocal heard
        heard += 1
        on_row(row)

    while pending:
        pre = Preconditions(idempotency=_implicit_key(actor, details, attempt, pending), answer=closing.bulk_answer)
        try:
            closing.bulk_close(uow, pending, details, actor=actor, pre=pre, on_row=hear, after_batch=after_batch)
            return
        except Replay as replay:
            rows = closing.replayed_rows(replay.answer)
        except IdempotencyKeyInProgress as running:
            if heard:  # another run took the chunk over from this one: its rows are its to report
                raise
            console.print(
                f"an earlier run of this bulk close is still running, or was stopped moments ago; "
                f"waiting {running.retry_after} s for it"
            )
            time.sleep(running.retry_after)
            continue
        for row in rows:
            if row.ok:
                hear(row)
        after_batch()
        pending, attempt = [row.id for row in rows if not row.ok], attempt + 1


def _implicit_key(actor: Actor, details: CloseDetails, attempt: int, ids: Sequence[UUID]) -> IdempotencyRequest:
    """What makes a rerun the same bulk close: the user (the key's scope), the close details as given, and the ids
    in order. The key is a digest of them, so it can never be reused for another body (it is its own fingerprint)."""
    canonical = json.dumps(
        {"details": asdict(details), "attempt": attempt, "ids": [str(i) for i in ids]}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return IdempotencyRequest(user_id=actor.id, scope=SCOPE, key=f"cli-bulk-close:{digest}", fingerprint=digest)
