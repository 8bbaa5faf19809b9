"""Pruning what has expired (`dealdesk db prune`, and every server now and then): web sessions past their expiry,
sign-in rate-limit counters whose window has long passed, idempotency keys and runs older than 24 hours; and summing
the months of closes that are over (`dealdesk db summarise`, and every server now and then) for the win/loss report.

Each batch is a short transaction of its own, and a round stops after `max_batches` per kind, so that pruning never
holds SQLite's writer for long and a server's periodic round stays cheap however much has piled up."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Final

from dealdesk.domain.months import first_day
from dealdesk.services.ports import UnitOfWork

KEPT_FOR: Final = {
    "sessions": timedelta(0),
    "rate_limits": timedelta(hours=1),
    "idempotency_keys": timedelta(hours=24),
    "idempotency_runs": timedelta(hours=24),
}
"""How long each kind is kept after its time: a session ends at its expiry; a sign-in counter counts failures
within 15 minutes, so one an hour old counts nothing; an Idempotency-Key is kept 24 hours (SPEC §7)."""
BATCH: Final = 1000


def prune(uow: UnitOfWork, *, batch: int = BATCH, max_batches: int | None = None) -> dict[str, int]:
    """Delete what has expired, `batch` rows per transaction; answers how many rows of each kind went."""
    now = uow.clock.now()
    pruned: dict[str, int] = {}
    for kind, kept_for in KEPT_FOR.items():
        pruned[kind] = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            with uow.transaction():
                deleted = uow.housekeeping.prune(kind, before=now - kept_for, limit=batch)
            pruned[kind] += deleted
            batches += 1
            if deleted < batch:
                break
    return pruned


SUMMED_AFTER: Final = timedelta(days=2)
"""A month is summed once it ended this long ago (UTC), so that the month is over in every business time zone and no
transaction that began while it was the current month can still be writing to it: from then on every write to its
closes marks it stale (the triggers of migration 0013 compare close dates with the current month)."""


def sum_past_months(uow: UnitOfWork, *, max_months: int | None = None) -> int:
    """Sum the months that are over and have no sums, or stale ones, oldest first, one transaction each; answers
    how many months were summed. Until a month is summed the report groups its closes itself: same figures, slower."""
    now = uow.clock.now()
    before = first_day((now.astimezone(UTC) - SUMMED_AFTER).date())
    with uow.transaction(write=False):
        months = uow.close_summaries.months_to_sum(before=before)[:max_months]
    for month in months:
        with uow.transaction():
            uow.close_summaries.sum_month(month, at=now)
    return len(months)
