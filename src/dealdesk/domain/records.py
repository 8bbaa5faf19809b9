"""Records around a deal that have no life cycle of their own: accounts, competitors, the close reason
catalogue, project contracts, and the audit facts every change leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.states import ContractState, Outcome


@dataclass(eq=False)
class Account:
    id: UUID
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class Competitor:
    """Whom a deal was lost to (or won against). A deactivated one stays on past closes but is no longer chosen."""

    id: UUID
    name: str
    created_at: datetime
    updated_at: datetime
    active: bool = True

    def require_usable(self, *, field: str = "competitor_id") -> None:
        """Only an active competitor may be named on a close."""
        if not self.active:
            raise ValidationFailed.field(field, "this competitor is no longer active")


@dataclass(eq=False)
class CloseReason:
    """Optional detail under a status reason, from a catalogue a manager keeps."""

    id: UUID
    outcome: Outcome
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime

    def require_usable_for(self, outcome: Outcome, *, field: str = "close_reason_id") -> None:
        """Only an active reason of the close's own outcome may be chosen."""
        if not self.active:
            raise ValidationFailed.field(field, "this close reason is no longer active")
        if self.outcome is not outcome:
            raise ValidationFailed.field(field, f"this close reason is for {self.outcome.value} closes")


@dataclass(frozen=True)
class ContractLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(eq=False)
class Contract:
    """A draft project contract, started when a quote is won. Reopening the deal leaves it alone."""

    id: UUID
    opportunity_id: UUID
    quote_id: UUID
    account_id: UUID
    currency: str
    state: ContractState
    lines: tuple[ContractLine, ...]
    total_amount: Decimal
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Change:
    """What an audit entry records: which record changed, how, and its fields before and after."""

    record_type: str
    record_id: UUID
    action: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = field(default=None)


def audit_money(value: Decimal | None) -> str | None:
    """Amounts are audited as text with two decimals, so that a JSON reader keeps them exact."""
    return None if value is None else f"{value:.2f}"


def audit_day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def audit_id(value: UUID | None) -> str | None:
    return None if value is None else str(value)
