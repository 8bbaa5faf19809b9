"""Pruning what has expired (`dealdesk db prune`, and every server now and then): web sessions past their expiry,
sign-in rate-limit counters whose window has long passed, idempotency keys and runs older than 24 hours.

Each batch is a short transaction of its own, and a round stops after `max_batches` per kind, so that pruning never
holds SQLite's writer for long and a server's periodic round stays cheap however much has piled up."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

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
