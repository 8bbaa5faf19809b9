"""Several use cases in one transaction, all or nothing: a Dataverse `$batch` changeset (SPEC §10), or a PATCH that
reopens an opportunity and edits it in one request.

Each use case still runs exactly as it does alone — its own locks, checks and audit entries — but its
`uow.transaction()` joins the changeset's transaction instead of opening one, so the first failure rolls back
every operation before it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from dealdesk.services.ports import UnitOfWork


class _JoinedUnitOfWork:
    """The unit of work a changeset's use cases see: everything as the real one, except that `transaction()`
    joins the transaction already open."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        yield


@contextmanager
def changeset(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """`with changeset(uow) as joined:` — use cases called with `joined` commit together when the block ends, or
    roll back together if it raises."""
    with uow.transaction():
        yield cast(UnitOfWork, _JoinedUnitOfWork(uow))
