"""States and status reasons, each carrying its Dataverse number for the compatibility layer."""

from __future__ import annotations

from enum import StrEnum


class _Numbered(StrEnum):
    """A string enum whose members also carry the number Dataverse uses for them."""

    dataverse: int

    def __new__(cls, value: str, dataverse: int) -> _Numbered:
        member = str.__new__(cls, value)
        member._value_ = value
        member.dataverse = dataverse
        return member

    @classmethod
    def from_dataverse(cls, number: int) -> _Numbered:
        for member in cls:
            if member.dataverse == number:
                return member
        raise ValueError(f"{number} is not a {cls.__name__} number")


class OpportunityState(_Numbered):
    OPEN = ("open", 0)
    WON = ("won", 1)
    LOST = ("lost", 2)


class OpportunityStatus(_Numbered):
    IN_PROGRESS = ("in_progress", 1)
    ON_HOLD = ("on_hold", 2)
    WON = ("won", 3)
    CANCELED = ("canceled", 4)
    OUT_SOLD = ("out_sold", 5)


class QuoteState(_Numbered):
    DRAFT = ("draft", 0)
    ACTIVE = ("active", 1)
    WON = ("won", 2)
    CLOSED = ("closed", 3)


class QuoteStatus(_Numbered):
    IN_PROGRESS = ("in_progress", 1)
    OPEN = ("open", 3)
    WON = ("won", 4)
    LOST = ("lost", 5)
    CANCELED = ("canceled", 6)
    REVISED = ("revised", 7)


class Outcome(StrEnum):
    WON = "won"
    LOST = "lost"


class ContractState(StrEnum):
    DRAFT = "draft"


class Role(StrEnum):
    VIEWER = "viewer"
    SALES = "sales"
    MANAGER = "manager"
    ADMIN = "admin"


OPPORTUNITY_STATUSES: dict[OpportunityState, frozenset[OpportunityStatus]] = {
    OpportunityState.OPEN: frozenset({OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD}),
    OpportunityState.WON: frozenset({OpportunityStatus.WON}),
    OpportunityState.LOST: frozenset({OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD}),
}
"""Which status reasons belong to which opportunity state."""

QUOTE_STATUSES: dict[QuoteState, frozenset[QuoteStatus]] = {
    QuoteState.DRAFT: frozenset({QuoteStatus.IN_PROGRESS}),
    QuoteState.ACTIVE: frozenset({QuoteStatus.OPEN}),
    QuoteState.WON: frozenset({QuoteStatus.WON}),
    QuoteState.CLOSED: frozenset({QuoteStatus.LOST, QuoteStatus.CANCELED, QuoteStatus.REVISED}),
}
"""Which status reasons belong to which quote state."""

QUOTE_CLOSE_REASONS: frozenset[QuoteStatus] = frozenset({QuoteStatus.LOST, QuoteStatus.CANCELED})
"""Reasons a user may give when closing a quote; `revised` is set only by revising."""

CLOSE_STATUSES: dict[Outcome, frozenset[OpportunityStatus]] = {
    Outcome.WON: OPPORTUNITY_STATUSES[OpportunityState.WON],
    Outcome.LOST: OPPORTUNITY_STATUSES[OpportunityState.LOST],
}
"""Status reasons allowed for each close outcome."""
