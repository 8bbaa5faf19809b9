"""States and status reasons, each carrying its Dataverse number for the compatibility layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class DataverseEnum(StrEnum):
    """A string enum whose members also carry the number Dataverse uses for them."""

    @property
    def dataverse(self) -> int:
        return DATAVERSE_NUMBERS[self]

    @classmethod
    def from_dataverse(cls, number: int) -> Self:
        for member in cls:
            if member.dataverse == number:
                return member
        raise ValueError(f"{number} is not a {cls.__name__} number")


class OpportunityState(DataverseEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class OpportunityStatus(DataverseEnum):
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    WON = "won"
    CANCELED = "canceled"
    OUT_SOLD = "out_sold"


class QuoteState(DataverseEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    WON = "won"
    CLOSED = "closed"


class QuoteStatus(DataverseEnum):
    IN_PROGRESS = "in_progress"
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    CANCELED = "canceled"
    REVISED = "revised"


DATAVERSE_NUMBERS: dict[DataverseEnum, int] = {
    OpportunityState.OPEN: 0,
    OpportunityState.WON: 1,
    OpportunityState.LOST: 2,
    OpportunityStatus.IN_PROGRESS: 1,
    OpportunityStatus.ON_HOLD: 2,
    OpportunityStatus.WON: 3,
    OpportunityStatus.CANCELED: 4,
    OpportunityStatus.OUT_SOLD: 5,
    QuoteState.DRAFT: 0,
    QuoteState.ACTIVE: 1,
    QuoteState.WON: 2,
    QuoteState.CLOSED: 3,
    QuoteStatus.IN_PROGRESS: 1,
    QuoteStatus.OPEN: 3,
    QuoteStatus.WON: 4,
    QuoteStatus.LOST: 5,
    QuoteStatus.CANCELED: 6,
    QuoteStatus.REVISED: 7,
}
"""SPEC §3. Dataverse's active/in_progress (2) is read as open (3) by the compatibility layer."""


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
