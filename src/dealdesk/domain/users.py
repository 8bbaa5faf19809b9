"""People who use dealdesk and the credentials they hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.states import Role

MIN_PASSWORD = 12


@dataclass(eq=False)
class User:
    id: UUID
    name: str
    role: Role
    password_hash: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    def as_actor(self) -> Actor:
        return Actor(id=self.id, name=self.name, role=self.role)


def check_user_name(name: str) -> str:
    """1-80 characters, no spaces at either end; names are how people sign in."""
    if not name or name != name.strip() or len(name) > 80:
        raise ValidationFailed.field("name", "must be 1-80 characters without leading or trailing spaces")
    return name


def check_password(password: str, *, field: str = "password") -> str:
    """A new password: at least 12 characters (SPEC §8)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.field(field, f"must be at least {MIN_PASSWORD} characters")
    return password
