"""Closing a deal: what the Close dialog sends, the close record a close writes, and what a close or a win
answers. The rules that span the deal's quotes are the aggregate's (`domain/opportunity.py`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy
from dealdesk.domain.errors import FieldError, InvalidTransition, ValidationFailed
from dealdesk.domain.quote import ClosedQuote, Quote
from dealdesk.domain.records import Change, Contract, audit_id, audit_money
from dealdesk.domain.states import CLOSE_STATUSES, QUOTE_CLOSE_REASONS, OpportunityStatus, Outcome, QuoteStatus
from dealdesk.domain.values import MAX_SUBJECT, check_description, check_money, check_text

if TYPE_CHECKING:
    from dealdesk.domain.opportunity import Opportunity


@dataclass(frozen=True)
class CloseDetails:
    """What the Close opportunity dialog sends."""

    outcome: Outcome
    close_date: date
    status_reason: OpportunityStatus | None = None
    actual_revenue: Decimal | None = None
    close_reason_id: UUID | None = None
    competitor_id: UUID | None = None
    description: str | None = None
    close_quotes: QuoteStatus | None = None
    subject: str | None = None
    """A title for the close (Dataverse's `OpportunityClose.subject`); blank means none."""

    def checked(self, *, today: date, policy: ClosePolicy = NO_POLICY) -> CloseDetails:
        """Input rules, reported together: reason fits the outcome, no future date, sane money and text, and
        whatever the close policy requires.

        A won close takes the reason `won` when none is given; a lost one must say canceled or out_sold."""
        errors: list[FieldError] = []
        status = self.status_reason
        allowed = CLOSE_STATUSES[self.outcome]
        if status is None:
            if self.outcome is Outcome.WON:
                status = OpportunityStatus.WON
            else:
                errors.append(FieldError("status_reason", "is required for a lost close: canceled or out_sold"))
        elif status not in allowed:
            names = " or ".join(sorted(s.value for s in allowed))
            errors.append(FieldError("status_reason", f"must be {names} for a {self.outcome.value} close"))
        if self.close_date > today:
            errors.append(FieldError("close_date", f"must not be in the future (today is {today.isoformat()})"))
        if self.close_quotes is not None and self.close_quotes not in QUOTE_CLOSE_REASONS:
            errors.append(FieldError("close_quotes", "must be lost or canceled"))
        description: str | None = None
        try:
            description = check_description(self.description)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        subject: str | None = None
        try:
            if self.subject is not None:
                subject = check_text(self.subject, field="subject", max_length=MAX_SUBJECT, required=False) or None
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        if self.actual_revenue is not None:
            try:
                check_money(self.actual_revenue, field="actual_revenue")
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        faulty = {error.field for error in errors}
        errors.extend(
            fault
            for fault in policy.missing(
                outcome=self.outcome,
                status_reason=status,
                close_reason_id=self.close_reason_id,
                competitor_id=self.competitor_id,
                description=description,
            )
            if fault.field not in faulty
        )
        if errors:
            raise ValidationFailed(errors)
        return replace(self, status_reason=status, description=description, subject=subject)


@dataclass(eq=False)
class OpportunityClose:
    """One close of an opportunity. Never deleted: a reopen stamps it and a later close writes a new one."""

    id: UUID
    opportunity_id: UUID
    outcome: Outcome
    status_reason: OpportunityStatus
    close_reason_id: UUID | None
    close_date: date
    actual_revenue: Decimal
    currency: str
    competitor_id: UUID | None
    description: str | None
    won_quote_id: UUID | None
    owner_id: UUID
    account_id: UUID
    closed_by: UUID
    closed_at: datetime
    reopened_at: datetime | None
    reopened_by: UUID | None
    reopen_reason: str | None
    created_at: datetime
    updated_at: datetime
    opportunity_created_on: date
    """The deal's creation date in the business time zone, kept for days-to-close figures."""
    subject: str | None = None
    """The close's title when one was given (a Dataverse `OpportunityClose.subject`), else None."""

    @property
    def is_standing(self) -> bool:
        return self.reopened_at is None

    def audit_view(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "status_reason": self.status_reason.value,
            "close_reason_id": audit_id(self.close_reason_id),
            "close_date": self.close_date.isoformat(),
            "actual_revenue": audit_money(self.actual_revenue),
            "currency": self.currency,
            "competitor_id": audit_id(self.competitor_id),
            "description": self.description,
            "won_quote_id": audit_id(self.won_quote_id),
        }

    def correct(
        self,
        *,
        changes: dict[str, Any],
        at: datetime,
        policy: ClosePolicy = NO_POLICY,
    ) -> Change:
        """Only the standing record's description, competitor and reason detail may be corrected, and not to
        empty where the close policy requires a value."""
        if not self.is_standing:
            raise InvalidTransition("This close was ended by a reopen and can no longer be corrected")
        allowed = {"description", "competitor_id", "close_reason_id"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationFailed([FieldError(name, "cannot be corrected") for name in sorted(unknown)])
        description = check_description(changes["description"]) if "description" in changes else self.description
        policy_faults = policy.missing(
            outcome=self.outcome,
            status_reason=self.status_reason,
            close_reason_id=changes.get("close_reason_id", self.close_reason_id),
            competitor_id=changes.get("competitor_id", self.competitor_id),
            description=description,
            only=changes,
        )
        if policy_faults:
            raise ValidationFailed(policy_faults)
        before = {name: self._audit_value(name) for name in changes}
        if "description" in changes:
            self.description = description
        if "competitor_id" in changes:
            self.competitor_id = changes["competitor_id"]
        if "close_reason_id" in changes:
            self.close_reason_id = changes["close_reason_id"]
        self.updated_at = at
        after = {name: self._audit_value(name) for name in changes}
        return Change("opportunity_close", self.id, "correct", before, after)

    def _audit_value(self, name: str) -> Any:
        value = getattr(self, name)
        return str(value) if isinstance(value, UUID) else value


@dataclass(frozen=True)
class ClosePreview:
    """What the Close dialog shows before the user confirms."""

    can_close: bool
    blocking_quotes: tuple[Quote, ...]
    draft_quotes: tuple[Quote, ...]
    won_quote: Quote | None
    version: int
    expired_quotes: tuple[Quote, ...] = ()
    """Draft and active quotes whose `valid_until` is before today: the dialog warns about them."""


@dataclass(frozen=True)
class CloseResult:
    opportunity: Opportunity
    close: OpportunityClose
    closed_quotes: tuple[ClosedQuote, ...]


@dataclass(frozen=True)
class WinResult:
    quote: Quote
    opportunity: Opportunity
    contract: Contract
    closed_quotes: tuple[ClosedQuote, ...]
    close: OpportunityClose | None
