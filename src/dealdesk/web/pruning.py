"""Every server prunes what has expired now and then (services/housekeeping.py), a few short batches at a time, so
that sessions, sign-in counters and idempotency keys do not pile up where nobody runs `dealdesk db prune`; and sums
a few months of closes that are over, for the win/loss report, where nobody runs `dealdesk db summarise`. Several
servers pruning at once delete different rows or nothing; it costs each a few statements per round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.concurrency import run_in_threadpool

from dealdesk.services import housekeeping
from dealdesk.services.ports import UnitOfWork

ROUND_BATCHES = 10
"""Batches per kind in one round: a backlog is worked off over several rounds, never in one long burst."""
ROUND_MONTHS = 6
"""Months of closes summed in one round (db/close_summaries.py), each in a short transaction of its own."""

log = logging.getLogger("dealdesk.web")


def _round(uow_factory: Callable[[], UnitOfWork]) -> tuple[dict[str, int], int]:
    pruned = housekeeping.prune(uow_factory(), max_batches=ROUND_BATCHES)
    return pruned, housekeeping.sum_past_months(uow_factory(), max_months=ROUND_MONTHS)


async def _prune_now_and_then(uow_factory: Callable[[], UnitOfWork], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s * random.uniform(0.5, 1.5))  # servers started together do not prune together
        under_way = asyncio.ensure_future(run_in_threadpool(_round, uow_factory))
        try:
            # A thread cannot be cancelled: when the app stops, the round under way finishes first, so that its
            # connection goes back before the pool closes.
            pruned, summed = await asyncio.shield(under_way)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await under_way
            raise
        except Exception:  # the database may be away; the next round tries again
            log.warning("pruning expired rows or summing past months failed", exc_info=True)
            continue
        if any(pruned.values()):
            log.info("pruned expired rows: %s", pruned)
        if summed:
            log.info("summed %d past months of closes for the win/loss report", summed)


@asynccontextmanager
async def pruning(uow_factory: Callable[[], UnitOfWork], every_s: float) -> AsyncIterator[None]:
    """Prune in the background while the app runs (not at all if `every_s` is 0)."""
    task = asyncio.create_task(_prune_now_and_then(uow_factory, every_s)) if every_s > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
