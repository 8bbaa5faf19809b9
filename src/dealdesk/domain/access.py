"""Who may do what (SPEC §8). Checked by the use cases before anything changes."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from dealdesk.domain.errors import Forbidden
from dealdesk.domain.states import Role

_WRITERS = frozenset({Role.SALES, Role.MANAGER, Role.ADMIN})
_MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    """The signed-in user a request acts for."""

    id: UUID
    name: str
    role: Role

    @property
    def writes(self) -> bool:
        """Sales, managers and admins change records; viewers only read."""
        return self.role in _WRITERS

    @property
    def manages(self) -> bool:
        """Managers and admins act on anyone's opportunities and keep the catalogues."""
        return self.role in _MANAGERS

    def require_may_create(self) -> None:
        """Viewers only read."""
        if not self.writes:
            raise Forbidden(f"{self.role.value} users may not create records")

    def require_may_act_on(self, owner_id: UUID) -> None:
        """Sales act on their own opportunities; managers and admins on anyone's."""
        if self.manages:
            return
        if self.role is Role.SALES and owner_id == self.id:
            return
        if self.role is Role.SALES:
            raise Forbidden("sales users may act only on opportunities they own")
        raise Forbidden(f"{self.role.value} users may not change opportunities")

    def require_manager(self, what: str) -> None:
        """Bulk close, close record corrections and the catalogues are managers' work."""
        if not self.manages:
            raise Forbidden(f"only managers and admins may {what}")
