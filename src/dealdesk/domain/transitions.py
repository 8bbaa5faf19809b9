"""The one table of legal state transitions. Nothing else decides whether a state may change."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from dealdesk.domain.states import OpportunityState, QuoteState


class Action(StrEnum):
    # quote actions
    EDIT_QUOTE = "edit_quote"
    ACTIVATE = "activate"
    CLOSE_QUOTE = "close_quote"
    DELETE_QUOTE = "delete_quote"
    REVISE = "revise"
    COPY = "copy"
    WIN = "win"
    # opportunity actions
    EDIT = "edit"
    ADD_QUOTE = "add_quote"
    PUT_ON_HOLD = "put_on_hold"
    CLOSE_WON = "close_won"
    CLOSE_LOST = "close_lost"
    CLOSE_QUOTES = "close_quotes"
    REOPEN = "reopen"


DELETED: Final = None
"""Target of a transition that removes the record."""

QUOTE_TRANSITIONS: Final[Mapping[tuple[Action, QuoteState], QuoteState | None]] = {
    (Action.EDIT_QUOTE, QuoteState.DRAFT): QuoteState.DRAFT,
    (Action.ACTIVATE, QuoteState.DRAFT): QuoteState.ACTIVE,
    (Action.CLOSE_QUOTE, QuoteState.DRAFT): QuoteState.CLOSED,
    (Action.CLOSE_QUOTE, QuoteState.ACTIVE): QuoteState.CLOSED,
    (Action.DELETE_QUOTE, QuoteState.DRAFT): DELETED,
    (Action.REVISE, QuoteState.ACTIVE): QuoteState.CLOSED,
    (Action.COPY, QuoteState.DRAFT): QuoteState.DRAFT,
    (Action.COPY, QuoteState.ACTIVE): QuoteState.ACTIVE,
    (Action.COPY, QuoteState.WON): QuoteState.WON,
    (Action.COPY, QuoteState.CLOSED): QuoteState.CLOSED,
    (Action.WIN, QuoteState.ACTIVE): QuoteState.WON,
}
"""(action, quote state) -> quote state after it. A pair missing here is refused."""

OPPORTUNITY_TRANSITIONS: Final[Mapping[tuple[Action, OpportunityState], OpportunityState]] = {
    (Action.EDIT, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.ADD_QUOTE, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.PUT_ON_HOLD, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.CLOSE_WON, OpportunityState.OPEN): OpportunityState.WON,
    (Action.CLOSE_LOST, OpportunityState.OPEN): OpportunityState.LOST,
    (Action.CLOSE_QUOTES, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.REOPEN, OpportunityState.WON): OpportunityState.OPEN,
    (Action.REOPEN, OpportunityState.LOST): OpportunityState.OPEN,
}
"""(action, opportunity state) -> opportunity state after it. A pair missing here is refused."""

QUOTE_ACTIONS_NEEDING_OPEN_OPPORTUNITY: Final[frozenset[Action]] = frozenset(
    {Action.EDIT_QUOTE, Action.ACTIVATE, Action.REVISE, Action.COPY, Action.WIN}
)
"""Quote actions refused with `opportunity_not_open` on a won or lost opportunity.

Closing and deleting a draft stay possible there, one quote at a time."""
