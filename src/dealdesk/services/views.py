"""Read models for screens (names joined in, sorted lists): reading only, never changing anything."""

from __future__ import annotations

from uuid import UUID

from dealdesk.services.ports import UnitOfWork


def user_names(uow: UnitOfWork, ids: list[UUID]) -> dict[UUID, str]:
    """Display names of users, for 'owner', 'closed by' and 'reopened by' columns."""
    with uow.transaction(write=False):
        return uow.views.names_of_users(ids)
