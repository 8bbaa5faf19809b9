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

    def require_may_create(self) -> None:
        """Viewers only read."""
        if self.role not in _WRITERS:
            raise Forbidden(f"{self.role.value} users may not create records")

    def require_may_act_on(self, owner_id: UUID) -> None:
        """Sales act on their own opportunities; managers and admins on anyone's."""
        if self.role in _MANAGERS:
            return
        if self.role is Role.SALES and owner_id == self.id:
            return
        if self.role is Role.SALES:
            raise Forbidden("sales users may act only on opportunities they own")
        raise Forbidden(f"{self.role.value} users may not change opportunities")

    def require_manager(self, what: str) -> None:
        """Bulk close, close record corrections and the catalogues are managers' work."""
        if self.role not in _MANAGERS:
            raise Forbidden(f"only managers and admins may {what}")
