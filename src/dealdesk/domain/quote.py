"""Project quotes and their lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from dealdesk.domain.errors import FieldError, InvalidTransition, QuoteRef, ValidationFailed
from dealdesk.domain.states import QuoteState, QuoteStatus
from dealdesk.domain.transitions import QUOTE_TRANSITIONS, Action
from dealdesk.domain.values import MAX_TITLE, ZERO, check_money, check_quantity, check_text, round_cents

MAX_LINE_DESCRIPTION = 500
MAX_LINES = 500


@dataclass(frozen=True)
class QuoteLine:
    """One priced line. A negative unit price is a discount line."""

    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """quantity x unit price, rounded half-up to cents."""
        return round_cents(self.quantity * self.unit_price)

    @classmethod
    def checked(cls, description: str, quantity: Decimal, unit_price: Decimal, *, field: str) -> QuoteLine:
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        for name, check in (
            (
                "description",
                lambda: check_text(description, field=f"{field}.description", max_length=MAX_LINE_DESCRIPTION),
            ),
            ("quantity", lambda: check_quantity(quantity, field=f"{field}.quantity")),
            ("unit_price", lambda: check_money(unit_price, field=f"{field}.unit_price", allow_negative=True)),
        ):
            try:
                values[name] = check()
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        line = cls(**values)
        check_money(abs(line.amount), field=f"{field}.amount")
        return line


def check_lines(lines: Sequence[QuoteLine]) -> tuple[QuoteLine, ...]:
    """A quote holds at most 500 lines and its total must stay within the money range."""
    if len(lines) > MAX_LINES:
        raise ValidationFailed.field("lines", f"at most {MAX_LINES} lines")
    total = sum((line.amount for line in lines), ZERO)
    check_money(abs(total), field="lines")
    return tuple(lines)


def check_quote_name(name: str) -> str:
    return check_text(name, field="name", max_length=MAX_TITLE)


@dataclass(frozen=True)
class ClosedQuote:
    """How a close reports each quote it closed."""

    id: UUID
    number: str
    revision: int
    name: str
    previous_state: QuoteState
    state: QuoteState
    status_reason: QuoteStatus


@dataclass(frozen=True)
class QuoteLoss:
    """What a quote close keeps beside its reason and description (SPEC §11)."""

    competitor_id: UUID | None = None
    close_reason_id: UUID | None = None
    superseded_by_quote_id: UUID | None = None


@dataclass(eq=False)
class Quote:
    """A priced offer for an opportunity. State changes go through the opportunity, which owns the rules
    that span its quotes; the methods here only move this one quote along the transition table."""

    id: UUID
    opportunity_id: UUID
    number: str
    revision: int
    name: str
    state: QuoteState
    status_reason: QuoteStatus
    total_amount: Decimal
    line_count: int
    valid_until: date | None
    closed_on: date | None
    close_description: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: tuple[QuoteLine, ...] | None = None
    """None while the lines were not loaded: only edits, copies and wins need them."""
    competitor_id: UUID | None = None
    """Whom a closed quote was lost to (SPEC §11)."""
    close_reason_id: UUID | None = None
    """The lost reason detail of a closed quote (a close reason of outcome lost)."""
    superseded_by_quote_id: UUID | None = None
    """The won quote whose win closed this one."""

    @classmethod
    def new_draft(
        cls,
        *,
        id: UUID,
        opportunity_id: UUID,
        number: str,
        revision: int,
        name: str,
        lines: Sequence[QuoteLine],
        valid_until: date | None,
        at: datetime,
    ) -> Quote:
        quote = cls(
            id=id,
            opportunity_id=opportunity_id,
            number=number,
            revision=revision,
            name=check_quote_name(name),
            state=QuoteState.DRAFT,
            status_reason=QuoteStatus.IN_PROGRESS,
            total_amount=ZERO,
            line_count=0,
            valid_until=valid_until,
            closed_on=None,
            close_description=None,
            version=1,
            created_at=at,
            updated_at=at,
        )
        quote._set_lines(lines)
        return quote

    def ref(self) -> QuoteRef:
        return QuoteRef(id=str(self.id), number=self.number, revision=self.revision, name=self.name)

    @property
    def is_open(self) -> bool:
        """Draft and active quotes are still in play; won and closed ones are final."""
        return self.state in (QuoteState.DRAFT, QuoteState.ACTIVE)

    def is_expired(self, today: date) -> bool:
        """Expired: still in play (draft or active) and valid only until a day before `today` (the business time
        zone's date). Derived, never a state: a won or closed quote stays what it is, whatever its validity."""
        return self.is_open and self.valid_until is not None and self.valid_until < today

    @property
    def is_revivable(self) -> bool:
        """A quote closed as lost or canceled can start a new draft revision when its deal is reopened."""
        return self.state is QuoteState.CLOSED and self.status_reason in (QuoteStatus.LOST, QuoteStatus.CANCELED)

    def loaded_lines(self) -> tuple[QuoteLine, ...]:
        if self.lines is None:
            raise RuntimeError(f"lines of quote {self.id} were not loaded")
        return self.lines

    def require(self, action: Action) -> QuoteState | None:
        """The state this action leads to; refused when the table has no such transition."""
        key = (action, self.state)
        if key not in QUOTE_TRANSITIONS:
            verb = action.value.replace("_", " ")
            raise InvalidTransition(f"Quote {self.number} rev {self.revision} is {self.state.value}: cannot {verb}")
        return QUOTE_TRANSITIONS[key]

    def audit_state(self) -> dict[str, Any]:
        return {"state": self.state.value, "status_reason": self.status_reason.value}

    def audit_view(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "revision": self.revision,
            "name": self.name,
            "state": self.state.value,
            "status_reason": self.status_reason.value,
            "total_amount": f"{self.total_amount:.2f}",
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "lines": [
                {"description": ln.description, "quantity": f"{ln.quantity:.2f}", "unit_price": f"{ln.unit_price:.2f}"}
                for ln in self.lines or ()
            ],
        }

    def _set_lines(self, lines: Sequence[QuoteLine]) -> None:
        """Total and line count always follow the lines (invariant I4)."""
        self.lines = check_lines(lines)
        self.total_amount = sum((line.amount for line in self.lines), ZERO)
        self.line_count = len(self.lines)

    def _touch(self, at: datetime) -> None:
        self.version += 1
        self.updated_at = at

    def _move(self, action: Action, status: QuoteStatus, at: datetime) -> None:
        target = self.require(action)
        assert target is not None
        self.state = target
        self.status_reason = status
        self._touch(at)

    def edit(
        self,
        *,
        name: str | None,
        lines: Sequence[QuoteLine] | None,
        valid_until: date | None,
        set_valid_until: bool,
        at: datetime,
    ) -> None:
        # Everything is checked before anything changes (input faults first, then the state), so a refused
        # edit leaves the quote as it was.
        new_name = check_quote_name(name) if name is not None else self.name
        if lines is not None:
            check_lines(lines)
        self.require(Action.EDIT_QUOTE)
        self.name = new_name
        if lines is not None:
            self._set_lines(lines)
        if set_valid_until:
            self.valid_until = valid_until
        self._touch(at)

    def activate(self, at: datetime) -> None:
        self._move(Action.ACTIVATE, QuoteStatus.OPEN, at)

    def close(
        self,
        reason: QuoteStatus,
        *,
        on: date,
        description: str | None,
        at: datetime,
        loss: QuoteLoss | None = None,
    ) -> ClosedQuote:
        previous = self.state
        self._move(Action.CLOSE_QUOTE, reason, at)
        self.closed_on = on
        self.close_description = description
        loss = loss or QuoteLoss()
        self.competitor_id = loss.competitor_id
        self.close_reason_id = loss.close_reason_id
        self.superseded_by_quote_id = loss.superseded_by_quote_id
        return self._closed_from(previous)

    def audit_close(self) -> dict[str, Any]:
        """The state after a close, with what the close kept (only what is set)."""
        view = self.audit_state()
        for name in ("competitor_id", "close_reason_id", "superseded_by_quote_id"):
            if (value := getattr(self, name)) is not None:
                view[name] = str(value)
        if self.close_description is not None:
            view["description"] = self.close_description
        return view

    def mark_revised(self, *, on: date, at: datetime) -> ClosedQuote:
        previous = self.state
        self._move(Action.REVISE, QuoteStatus.REVISED, at)
        self.closed_on = on
        return self._closed_from(previous)

    def win(self, *, on: date, description: str | None, at: datetime) -> None:
        self._move(Action.WIN, QuoteStatus.WON, at)
        self.closed_on = on
        self.close_description = description

    def _closed_from(self, previous: QuoteState) -> ClosedQuote:
        return ClosedQuote(
            id=self.id,
            number=self.number,
            revision=self.revision,
            name=self.name,
            previous_state=previous,
            state=self.state,
            status_reason=self.status_reason,
        )
