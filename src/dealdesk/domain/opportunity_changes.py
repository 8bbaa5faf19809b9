"""An edit of an open deal's own fields: which fields it sets, and their input rules."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, Final, TypeVar
from uuid import UUID

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.states import OPPORTUNITY_STATUSES, OpportunityState, OpportunityStatus
from dealdesk.domain.values import MAX_TITLE, check_currency, check_description, check_money, check_text

Value = TypeVar("Value")


class Keep(Enum):
    """A field the edit leaves as it is (None cannot say so: it clears an optional field)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def new_or(value: Value | Keep, current: Value) -> Value:
    """The edited value, or the current one where the edit keeps the field."""
    return current if isinstance(value, Keep) else value


@dataclass(frozen=True)
class OpportunityChanges:
    """The fields an edit sets; the others are `KEEP`. `None` clears the close date or the description."""

    name: str | Keep = KEEP
    account_id: UUID | Keep = KEEP
    currency: str | Keep = KEEP
    estimated_revenue: Decimal | Keep = KEEP
    estimated_close_date: date | Keep | None = KEEP
    description: str | Keep | None = KEEP
    status_reason: OpportunityStatus | Keep = KEEP
    owner_id: UUID | Keep = KEEP

    def given(self) -> dict[str, Any]:
        """The set fields by name, in the order of the edit form."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not KEEP}

    def checked(self) -> OpportunityChanges:
        """The set values normalised (text trimmed, money to cents); every faulty field is reported together.

        The status reason of an open deal is in progress or on hold: closing is not an edit."""
        errors: list[FieldError] = []
        normalised: dict[str, Any] = {}
        for name, value in self.given().items():
            try:
                normalised[name] = _checked(name, value)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        return replace(self, **normalised)


def _checked(name: str, value: Any) -> Any:
    if name == "name":
        return check_text(value, field="name", max_length=MAX_TITLE)
    if name == "estimated_revenue":
        return check_money(value, field="estimated_revenue")
    if name == "description":
        return check_description(value)
    if name == "currency":
        return check_currency(value)
    if name == "status_reason" and value not in OPPORTUNITY_STATUSES[OpportunityState.OPEN]:
        raise ValidationFailed.field("status_reason", "must be in_progress or on_hold while open")
    return value
