"""States and status reasons, each carrying its Dataverse number for the compatibility layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class DataverseEnum(StrEnum):
    """A string enum whose members also carry the number Dataverse uses for them."""

    @property
    def dataverse(self) -> int:
        # Keyed by class first: members of different string enums with the same text compare (and hash) equal.
        return DATAVERSE_NUMBERS[type(self)][self.value]

    @classmethod
    def from_dataverse(cls, number: int) -> Self:
        for member in cls:
            if member.dataverse == number:
                return member
        alias = DATAVERSE_ALIASES.get((cls, number))
        if alias is not None:
            return cls(alias)
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


DATAVERSE_NUMBERS: dict[type[DataverseEnum], dict[str, int]] = {
    OpportunityState: {"open": 0, "won": 1, "lost": 2},
    OpportunityStatus: {"in_progress": 1, "on_hold": 2, "won": 3, "canceled": 4, "out_sold": 5},
    QuoteState: {"draft": 0, "active": 1, "won": 2, "closed": 3},
    QuoteStatus: {"in_progress": 1, "open": 3, "won": 4, "lost": 5, "canceled": 6, "revised": 7},
}
DATAVERSE_ALIASES: dict[tuple[type[DataverseEnum], int], str] = {(QuoteStatus, 2): "open"}
"""SPEC §3, per enum. Dataverse's active quote reason in_progress (2) is read as open (3)."""


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
