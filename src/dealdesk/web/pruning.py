"""Every server prunes what has expired now and then (services/housekeeping.py), a few short batches at a time, so
that sessions, sign-in counters and idempotency keys do not pile up where nobody runs `dealdesk db prune`. Several
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

log = logging.getLogger("dealdesk.web")


async def _prune_now_and_then(uow_factory: Callable[[], UnitOfWork], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s * random.uniform(0.5, 1.5))  # servers started together do not prune together
        try:
            pruned = await run_in_threadpool(housekeeping.prune, uow_factory(), max_batches=ROUND_BATCHES)
        except Exception:  # the database may be away; the next round tries again
            log.warning("pruning expired rows failed", exc_info=True)
            continue
        if any(pruned.values()):
            log.info("pruned expired rows: %s", pruned)


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
                await task  # a round under way finishes first: its connection goes back before the pool closes
