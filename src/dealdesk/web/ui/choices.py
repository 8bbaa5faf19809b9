"""Options for the pickers of the dialogs: competitors and the close reason catalogue."""

from __future__ import annotations

from uuid import UUID

from dealdesk.domain.states import Outcome
from dealdesk.services import catalogue
from dealdesk.services.ports import UnitOfWork

Choice = tuple[UUID, str]


def competitors(uow: UnitOfWork, *, keep: UUID | None = None) -> list[Choice]:
    """Active competitors by name; `keep` stays listed even if deactivated, so a record that already names it
    shows it."""
    chosen: list[Choice] = []
    cursor: str | None = None
    while True:
        page = catalogue.list_competitors(uow, limit=200, cursor=cursor)
        chosen.extend((c.id, c.name) for c in page.items if c.active or c.id == keep)
        cursor = page.next_cursor
        if cursor is None:
            return chosen


def close_reasons(uow: UnitOfWork, outcome: Outcome, *, keep: UUID | None = None) -> list[Choice]:
    """Active reason details of one outcome, offered under the status reason; `keep` stays listed even if retired,
    so a record that already names it shows it."""
    chosen: list[Choice] = []
    cursor: str | None = None
    while True:
        page = catalogue.list_close_reasons(uow, outcome=outcome, limit=200, cursor=cursor)
        chosen.extend((r.id, r.name) for r in page.items if r.active or r.id == keep)
        cursor = page.next_cursor
        if cursor is None:
            return chosen
