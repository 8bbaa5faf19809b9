"""The transition table of SPEC §3, exhaustively: every (action, state) pair is driven through the real domain
methods; pairs in the table succeed and land in the state the table names, every other pair is refused with the
code SPEC §3 gives and leaves the aggregate as it was. Also the Dataverse numbers of every state and reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from dealdesk.domain.errors import DomainError
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.quote import Quote
from dealdesk.domain.states import (
    OPPORTUNITY_STATUSES,
    QUOTE_STATUSES,
    OpportunityState,
    OpportunityStatus,
    QuoteState,
    QuoteStatus,
)
from dealdesk.domain.transitions import OPPORTUNITY_TRANSITIONS, QUOTE_TRANSITIONS, Action

if TYPE_CHECKING:
    from tests.unit.conftest import Deals

# ---------------------------------------- SPEC §3, as data
DELETED = None

SPEC_QUOTE_TABLE: dict[tuple[Action, QuoteState], QuoteState | None] = {
    (Action.EDIT_QUOTE, QuoteState.DRAFT): QuoteState.DRAFT,  # "Only draft quotes can be edited"
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

SPEC_OPPORTUNITY_TABLE: dict[tuple[Action, OpportunityState], OpportunityState] = {
    (Action.EDIT, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.ADD_QUOTE, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.PUT_ON_HOLD, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.CLOSE_WON, OpportunityState.OPEN): OpportunityState.WON,
    (Action.CLOSE_LOST, OpportunityState.OPEN): OpportunityState.LOST,
    (Action.CLOSE_QUOTES, OpportunityState.OPEN): OpportunityState.OPEN,
    (Action.REOPEN, OpportunityState.WON): OpportunityState.OPEN,
    (Action.REOPEN, OpportunityState.LOST): OpportunityState.OPEN,
}

QUOTE_ACTIONS = (
    Action.EDIT_QUOTE,
    Action.ACTIVATE,
    Action.CLOSE_QUOTE,
    Action.DELETE_QUOTE,
    Action.REVISE,
    Action.COPY,
    Action.WIN,
)
OPPORTUNITY_ACTIONS = (
    Action.EDIT,
    Action.ADD_QUOTE,
    Action.PUT_ON_HOLD,
    Action.CLOSE_WON,
    Action.CLOSE_LOST,
    Action.CLOSE_QUOTES,
    Action.REOPEN,
)

QUOTE_ACTIONS_REFUSED_ON_A_CLOSED_DEAL = frozenset(
    {Action.EDIT_QUOTE, Action.ACTIVATE, Action.REVISE, Action.COPY, Action.WIN}
)
"""SPEC §3: on an opportunity that is not open, quotes cannot be edited, activated, revised, copied or won."""

OPPORTUNITY_ACTIONS_REFUSED_AS_NOT_OPEN = frozenset({Action.EDIT, Action.ADD_QUOTE, Action.CLOSE_QUOTES})
"""SPEC §3 (quotes cannot be created), §4 (close all quotes) and §7 (PATCH open only) name `opportunity_not_open`."""


# ---------------------------------------- the table itself
def test_every_action_is_either_a_quote_action_or_an_opportunity_action() -> None:
    assert sorted(QUOTE_ACTIONS + OPPORTUNITY_ACTIONS) == sorted(Action)
    assert not set(QUOTE_ACTIONS) & set(OPPORTUNITY_ACTIONS)


def test_the_quote_transition_table_is_the_one_in_the_spec() -> None:
    assert dict(QUOTE_TRANSITIONS) == SPEC_QUOTE_TABLE


def test_the_opportunity_transition_table_is_the_one_in_the_spec() -> None:
    assert dict(OPPORTUNITY_TRANSITIONS) == SPEC_OPPORTUNITY_TABLE


@pytest.mark.parametrize("state", list(QuoteState))
@pytest.mark.parametrize("action", list(Action))
def test_a_quote_allows_exactly_the_pairs_of_the_table(deals: Deals, action: Action, state: QuoteState) -> None:
    opportunity = deals.opportunity()
    quote = deals.draft(opportunity)
    quote.state = state  # only the pure table lookup is exercised here; the driven tests below use real moves
    if (action, state) in SPEC_QUOTE_TABLE:
        assert quote.require(action) == SPEC_QUOTE_TABLE[(action, state)]
    else:
        with pytest.raises(DomainError) as refused:
            quote.require(action)
        assert refused.value.code == "invalid_transition"


# ---------------------------------------- quote actions
def _quote_in(deals: Deals, opportunity_state: OpportunityState, quote_state: QuoteState) -> tuple[Opportunity, Quote]:
    """An opportunity in `opportunity_state` holding a quote in `quote_state`, reached by real actions."""
    opportunity = deals.opportunity()
    if quote_state is QuoteState.DRAFT:
        quote = deals.draft(opportunity)
    elif quote_state is QuoteState.ACTIVE:
        quote = deals.active(opportunity)
    elif quote_state is QuoteState.CLOSED:
        quote = deals.closed(opportunity)
    else:
        quote = deals.won(opportunity)
    if opportunity_state is OpportunityState.WON:
        deals.close_won(opportunity)
    elif opportunity_state is OpportunityState.LOST:
        deals.close_lost(opportunity)
    assert (opportunity.state, quote.state) == (opportunity_state, quote_state)
    return opportunity, quote


QuoteDriver = Callable[["Deals", Opportunity, Quote], object]

QUOTE_DRIVERS: dict[Action, QuoteDriver] = {
    Action.EDIT_QUOTE: lambda deals, opp, quote: opp.edit_quote(quote.id, name="Renamed", at=deals.now()),
    Action.ACTIVATE: lambda deals, opp, quote: opp.activate_quote(quote.id, today=deals.today, at=deals.now()),
    Action.CLOSE_QUOTE: lambda deals, opp, quote: opp.close_quote(
        quote.id, QuoteStatus.CANCELED, on=deals.today, description=None, at=deals.now()
    ),
    Action.DELETE_QUOTE: lambda deals, opp, quote: opp.delete_quote(quote.id, at=deals.now()),
    Action.REVISE: lambda deals, opp, quote: deals.revise(opp, quote),
    Action.COPY: lambda deals, opp, quote: deals.copy(opp, quote),
    Action.WIN: lambda deals, opp, quote: deals.win(opp, quote),
}

REACHABLE = [
    (OpportunityState.OPEN, QuoteState.DRAFT),
    (OpportunityState.OPEN, QuoteState.ACTIVE),
    (OpportunityState.OPEN, QuoteState.WON),
    (OpportunityState.OPEN, QuoteState.CLOSED),
    (OpportunityState.WON, QuoteState.DRAFT),
    (OpportunityState.WON, QuoteState.WON),
    (OpportunityState.WON, QuoteState.CLOSED),
    (OpportunityState.LOST, QuoteState.DRAFT),
    (OpportunityState.LOST, QuoteState.CLOSED),
]
"""Every (opportunity state, quote state) that can exist: a closed deal has no active quote (I1), a lost one no won
quote (I3)."""


def _expected_quote_refusal(opportunity_state: OpportunityState, quote_state: QuoteState, action: Action) -> str | None:
    if opportunity_state is not OpportunityState.OPEN and action in QUOTE_ACTIONS_REFUSED_ON_A_CLOSED_DEAL:
        return "opportunity_not_open"
    if quote_state is QuoteState.WON and action in (Action.ACTIVATE, Action.WIN):
        return "won_quote_exists"  # the deal holds this won quote; checked before the quote's own state
    if (action, quote_state) not in SPEC_QUOTE_TABLE:
        return "invalid_transition"
    return None


def test_the_driven_quote_cases_cover_every_quote_action_and_state() -> None:
    assert set(QUOTE_DRIVERS) == set(QUOTE_ACTIONS)
    assert {quote_state for _, quote_state in REACHABLE} == set(QuoteState)
    assert {opp_state for opp_state, _ in REACHABLE} == set(OpportunityState)


@pytest.mark.parametrize("action", QUOTE_ACTIONS)
@pytest.mark.parametrize(("opportunity_state", "quote_state"), REACHABLE)
def test_a_quote_action_succeeds_only_where_the_table_allows_it(
    deals: Deals, opportunity_state: OpportunityState, quote_state: QuoteState, action: Action
) -> None:
    opportunity, quote = _quote_in(deals, opportunity_state, quote_state)
    expected_refusal = _expected_quote_refusal(opportunity_state, quote_state, action)
    before = deals.snapshot(opportunity)
    quotes_before = list(opportunity.quotes)

    if expected_refusal is not None:
        with pytest.raises(DomainError) as refused:
            QUOTE_DRIVERS[action](deals, opportunity, quote)
        assert refused.value.code == expected_refusal
        assert deals.snapshot(opportunity) == before
        return

    QUOTE_DRIVERS[action](deals, opportunity, quote)
    target = SPEC_QUOTE_TABLE[(action, quote_state)]
    if target is DELETED:
        assert quote not in opportunity.quotes
        return
    assert quote.state is target
    assert quote.status_reason in QUOTE_STATUSES[target]
    new_quotes = [q for q in opportunity.quotes if q not in quotes_before]
    if action in (Action.REVISE, Action.COPY):
        assert [(q.state, q.status_reason) for q in new_quotes] == [(QuoteState.DRAFT, QuoteStatus.IN_PROGRESS)]
    else:
        assert new_quotes == []
    assert opportunity.version > before["version"]


# ---------------------------------------- opportunity actions
def _opportunity_in(deals: Deals, state: OpportunityState) -> Opportunity:
    opportunity = deals.opportunity()
    if state is OpportunityState.WON:
        deals.close_won(opportunity)
    elif state is OpportunityState.LOST:
        deals.close_lost(opportunity)
    assert opportunity.state is state
    return opportunity


OpportunityDriver = Callable[["Deals", Opportunity], object]

OPPORTUNITY_DRIVERS: dict[Action, OpportunityDriver] = {
    Action.EDIT: lambda deals, opp: opp.edit(OpportunityChanges(name="Renamed deal"), at=deals.now()),
    Action.ADD_QUOTE: lambda deals, opp: deals.draft(opp),
    Action.PUT_ON_HOLD: lambda deals, opp: opp.put_on_hold(deals.now()),
    Action.CLOSE_WON: lambda deals, opp: deals.close_won(opp),
    Action.CLOSE_LOST: lambda deals, opp: deals.close_lost(opp),
    Action.CLOSE_QUOTES: lambda deals, opp: opp.close_all_quotes(
        QuoteStatus.LOST, description=None, today=deals.today, at=deals.now()
    ),
    Action.REOPEN: lambda deals, opp: deals.reopen(opp),
}


def test_the_driven_opportunity_cases_cover_every_opportunity_action() -> None:
    assert set(OPPORTUNITY_DRIVERS) == set(OPPORTUNITY_ACTIONS)


@pytest.mark.parametrize("action", OPPORTUNITY_ACTIONS)
@pytest.mark.parametrize("state", list(OpportunityState))
def test_an_opportunity_action_succeeds_only_where_the_table_allows_it(
    deals: Deals, state: OpportunityState, action: Action
) -> None:
    opportunity = _opportunity_in(deals, state)
    before = deals.snapshot(opportunity)

    if (action, state) not in SPEC_OPPORTUNITY_TABLE:
        with pytest.raises(DomainError) as refused:
            OPPORTUNITY_DRIVERS[action](deals, opportunity)
        expected = "opportunity_not_open" if action in OPPORTUNITY_ACTIONS_REFUSED_AS_NOT_OPEN else "invalid_transition"
        assert refused.value.code == expected
        assert deals.snapshot(opportunity) == before
        return

    OPPORTUNITY_DRIVERS[action](deals, opportunity)
    target = SPEC_OPPORTUNITY_TABLE[(action, state)]
    assert opportunity.state is target
    assert opportunity.status_reason in OPPORTUNITY_STATUSES[target]


@pytest.mark.parametrize("state", list(QuoteState))
@pytest.mark.parametrize("action", OPPORTUNITY_ACTIONS)
def test_an_opportunity_action_is_never_a_quote_transition(deals: Deals, action: Action, state: QuoteState) -> None:
    quote = deals.draft(deals.opportunity())
    quote.state = state
    with pytest.raises(DomainError) as refused:
        quote.require(action)
    assert refused.value.code == "invalid_transition"


def test_putting_on_hold_and_resuming_switch_the_open_reason(deals: Deals) -> None:
    opportunity = deals.opportunity()
    opportunity.put_on_hold(deals.now())
    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.OPEN, OpportunityStatus.ON_HOLD)
    opportunity.edit(OpportunityChanges(status_reason=OpportunityStatus.IN_PROGRESS), at=deals.now())
    assert (opportunity.state, opportunity.status_reason) == (OpportunityState.OPEN, OpportunityStatus.IN_PROGRESS)


# ---------------------------------------- Dataverse numbers
@pytest.mark.parametrize(
    ("enum", "numbers"),
    [
        pytest.param(OpportunityState, {"open": 0, "won": 1, "lost": 2}, id="OpportunityState"),
        pytest.param(
            OpportunityStatus,
            {"in_progress": 1, "on_hold": 2, "won": 3, "canceled": 4, "out_sold": 5},
            id="OpportunityStatus",
        ),
        pytest.param(QuoteState, {"draft": 0, "active": 1, "won": 2, "closed": 3}, id="QuoteState"),
        pytest.param(
            QuoteStatus,
            {"in_progress": 1, "open": 3, "won": 4, "lost": 5, "canceled": 6, "revised": 7},
            id="QuoteStatus",
        ),
    ],
)
def test_every_state_and_reason_carries_the_dataverse_number_of_the_spec(
    enum: type[OpportunityState | OpportunityStatus | QuoteState | QuoteStatus], numbers: dict[str, int]
) -> None:
    assert {member.value: member.dataverse for member in enum} == numbers
    for member in enum:
        assert enum.from_dataverse(member.dataverse) is member


def test_an_unknown_dataverse_number_is_refused() -> None:
    with pytest.raises(ValueError, match="99"):
        OpportunityState.from_dataverse(99)


def test_dataverse_active_in_progress_is_read_as_open() -> None:
    """SPEC §3: Dataverse's active `in_progress` (2) is read as `open`."""
    assert QuoteStatus.from_dataverse(2) is QuoteStatus.OPEN


def test_each_state_takes_the_reasons_the_spec_gives_it() -> None:
    spec_opportunity_reasons = {
        OpportunityState.OPEN: {OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD},
        OpportunityState.WON: {OpportunityStatus.WON},
        OpportunityState.LOST: {OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD},
    }
    spec_quote_reasons = {
        QuoteState.DRAFT: {QuoteStatus.IN_PROGRESS},
        QuoteState.ACTIVE: {QuoteStatus.OPEN},
        QuoteState.WON: {QuoteStatus.WON},
        QuoteState.CLOSED: {QuoteStatus.LOST, QuoteStatus.CANCELED, QuoteStatus.REVISED},
    }
    assert dict(OPPORTUNITY_STATUSES) == spec_opportunity_reasons
    assert dict(QUOTE_STATUSES) == spec_quote_reasons
