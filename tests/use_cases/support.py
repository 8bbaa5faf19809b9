"""Helpers of the use-case tier. `seen` is what a user can see of a deal through the use cases alone: the tier's
way of saying "nothing changed" without reading a table, so that one check holds on the fake and the databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from dealdesk.services import closing, quotes, reads
from dealdesk.services.ports import Clock, UnitOfWork
from tests.integration.builders import Desk, FixedClock

UnitOfWorkFactory = Callable[[Clock], UnitOfWork]
"""Units of work with a clock of the test's choosing, all over the test's one (emptied) store or database."""


def desk_at(desk: Desk, make_uow: UnitOfWorkFactory, at: datetime) -> Desk:
    """The same desk, on the same store or database, with the clock stopped at `at` (business time zone UTC)."""
    return Desk(make_uow(FixedClock(at, ZoneInfo("UTC"))), desk.actor)


def seen(desk: Desk, opportunity_id: UUID) -> dict[str, Any]:
    """The deal, its quotes, its close records and its history, as plain values."""
    uow = desk.uow
    return {
        "deal": dataclasses.asdict(desk.read(opportunity_id)),
        "quotes": [
            dataclasses.asdict(q) for q in quotes.list_quotes(uow, opportunity_id, limit=200, cursor=None).items
        ],
        "closes": [
            dataclasses.asdict(c) for c in closing.list_closes(uow, opportunity_id, limit=200, cursor=None).items
        ],
        "history": reads.opportunity_history(uow, opportunity_id, limit=500, cursor=None).items,
    }


def history(desk: Desk, record_id: UUID) -> list[tuple[str, str]]:
    """(record type, action) of a record's audit entries, newest first."""
    return [(e.record_type, e.action) for e in reads.audit_for(desk.uow, record_id, limit=100, cursor=None).items]


class Boom(Exception):
    """Stands for the database failing partway through a use case, after some of its writes."""


def fail_after_saving(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let each save of a deal write everything (the deal, its quotes, close record, audit entries), then fail: the
    save comes last in a use case, so the whole change is written when it fails."""
    opportunities = desk.uow.opportunities
    save, save_many = opportunities.save, opportunities.save_many

    def failing_save(*args: Any, **kwargs: Any) -> None:
        save(*args, **kwargs)
        raise Boom

    def failing_save_many(*args: Any, **kwargs: Any) -> None:
        save_many(*args, **kwargs)
        raise Boom

    monkeypatch.setattr(opportunities, "save", failing_save)
    monkeypatch.setattr(opportunities, "save_many", failing_save_many)
