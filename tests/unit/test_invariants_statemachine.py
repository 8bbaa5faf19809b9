"""Random sequences of domain actions on two opportunities; after every step the invariants of SPEC §6 hold.

I1 no won or lost opportunity has an active quote. I2 a won or lost opportunity has exactly one standing close
record, an open one none. I3 at most one won quote, and a deal with a won quote is never lost. I4 a quote's total is
the sum of its line amounts. I5 (in the domain) a refused action leaves the aggregate exactly as it was."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dealdesk.domain.closing import CloseDetails, OpportunityClose
from dealdesk.domain.errors import DomainError
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.quote import QuoteLine
from dealdesk.domain.states import (
    CLOSE_STATUSES,
    OPPORTUNITY_STATUSES,
    QUOTE_STATUSES,
    OpportunityState,
    OpportunityStatus,
    Outcome,
    QuoteState,
    QuoteStatus,
)

T = TypeVar("T")

TODAY = date(2024, 6, 14)
START = datetime(2024, 6, 14, 9, 0, tzinfo=UTC)
UNKNOWN_QUOTE = UUID(int=999_999)

LINE_SETS: dict[str, list[tuple[str, str, str]]] = {
    "no lines": [],
    "one line": [("Design", "10", "150.00")],
    "with a discount": [("Build", "2.5", "1000.00"), ("Discount", "1", "-300.00")],
    "negative total": [("Build", "1", "100.00"), ("Discount", "1", "-250.00")],
    "zero total": [("Build", "1", "99.99"), ("Discount", "1", "-99.99")],
    "half cents": [("Tiny", "1.5", "0.03"), ("Hours", "0.33", "10.01")],
    "total out of range": [("Big", "1", "600000000000.00"), ("Big", "1", "600000000000.00")],
}

deal = st.sampled_from([0, 0, 0, 1])
"""Which of the two opportunities an action is aimed at; mostly the first, so that its story gets long."""
pick = st.integers(min_value=0, max_value=7)
"""Which quote: 0-3 one in the state the action expects (if any), 4-6 any quote, 7 one that does not exist."""
line_set = st.sampled_from(sorted(LINE_SETS))
close_date = st.sampled_from([TODAY, TODAY, TODAY, TODAY - timedelta(days=30), TODAY + timedelta(days=1)])
"""Mostly valid; tomorrow is in the future and must be refused."""
quote_close_reason = st.sampled_from([QuoteStatus.LOST, QuoteStatus.CANCELED, QuoteStatus.REVISED])


class DealMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self._seconds = itertools.count(1)
        self.user_id = self._new_id()
        self.opportunities = [self._open_new(), self._open_new()]
        self.close_records: dict[UUID, list[OpportunityClose]] = {o.id: [] for o in self.opportunities}
        self.versions = {o.id: o.version for o in self.opportunities}

    # ---------------------------------------- helpers
    def _new_id(self) -> UUID:
        return UUID(int=next(self._ids))

    def _now(self) -> datetime:
        return START + timedelta(seconds=next(self._seconds))

    def _next_number(self) -> str:
        return f"Q-{next(self._numbers):05d}"

    def _open_new(self) -> Opportunity:
        return Opportunity.open_new(
            id=self._new_id(),
            name="Deal",
            account_id=UUID(int=10_000),
            currency="USD",
            estimated_revenue=Decimal("5000.00"),
            estimated_close_date=None,
            description=None,
            owner_id=UUID(int=10_001),
            at=self._now(),
        )

    @staticmethod
    def _lines(kind: str) -> list[QuoteLine]:
        return [
            QuoteLine.checked(text, Decimal(quantity), Decimal(price), field=f"lines[{n}]")
            for n, (text, quantity, price) in enumerate(LINE_SETS[kind])
        ]

    @staticmethod
    def _quote_id(opportunity: Opportunity, index: int, expected: QuoteState | None = None) -> UUID:
        quotes = opportunity.quotes
        if index == 7 or not quotes:
            return UNKNOWN_QUOTE
        fitting = [q for q in quotes if q.state is expected]
        candidates = fitting if index < 4 and fitting else quotes
        return candidates[index % len(candidates)].id

    def _targets(self, state: QuoteState) -> list[tuple[int, UUID]]:
        """Quotes of an open deal that the next step of a sale applies to: a draft that can be activated, or an
        active quote to revise or win."""
        return [
            (which, quote.id)
            for which, opportunity in enumerate(self.opportunities)
            if opportunity.is_open and opportunity.won_quote_id is None
            for quote in opportunity.quotes
            if quote.state is state
            and (state is not QuoteState.DRAFT or (quote.line_count > 0 and quote.total_amount >= 0))
        ]

    def _drafts_of_open_deals(self) -> list[tuple[int, UUID]]:
        return [
            (which, quote.id)
            for which, opportunity in enumerate(self.opportunities)
            if opportunity.is_open
            for quote in opportunity.quotes
            if quote.state is QuoteState.DRAFT
        ]

    def _snapshot(self, opportunity: Opportunity) -> list[str]:
        """Everything the aggregate holds, field by field (dataclass reprs are complete and far cheaper to take than
        deep copies), and every close record it ever wrote. Audit facts are only ever appended, so their count
        stands for them."""
        held = [repr(getattr(opportunity, f.name)) for f in dataclasses.fields(opportunity) if f.name != "changes"]
        return [*held, str(len(opportunity.changes)), *(repr(r) for r in self.close_records[opportunity.id])]

    def _attempt(self, opportunity: Opportunity, action: Callable[[], T], *, bumps: bool = True) -> T | None:
        """Run one action. Refused: nothing may have changed (I5). Done: the version went up, if it changes a state."""
        before = self._snapshot(opportunity)
        version = opportunity.version
        try:
            result = action()
        except DomainError:
            assert self._snapshot(opportunity) == before, "a refused action changed the aggregate"
            return None
        if bumps:
            assert opportunity.version > version, "a change did not bump the opportunity version"
        return result

    # ---------------------------------------- quote actions
    @initialize(kinds=st.tuples(line_set, line_set))
    def each_deal_starts_with_a_draft(self, kinds: tuple[str, str]) -> None:
        for which, kind in enumerate(kinds):
            if kind != "total out of range":
                self.add_quote(which, kind)

    @rule(which=deal, kind=line_set)
    def add_quote(self, which: int, kind: str) -> None:
        opportunity = self.opportunities[which]
        lines = self._lines(kind)
        number = self._next_number()
        new = self._attempt(
            opportunity,
            lambda: opportunity.add_quote(
                quote_id=self._new_id(), number=number, name="Quote", lines=lines, valid_until=None, at=self._now()
            ),
        )
        if new is not None:
            assert (new.number, new.revision, new.state) == (number, 0, QuoteState.DRAFT)

    @rule(which=deal, index=pick, name=st.sampled_from([None, "Renamed", "   "]), kind=st.none() | line_set)
    def edit_quote(self, which: int, index: int, name: str | None, kind: str | None) -> None:
        opportunity = self.opportunities[which]
        lines = None if kind is None else self._lines(kind)
        quote_id = self._quote_id(opportunity, index, QuoteState.DRAFT)
        self._attempt(opportunity, lambda: opportunity.edit_quote(quote_id, name=name, lines=lines, at=self._now()))

    @precondition(lambda self: self._drafts_of_open_deals())
    @rule(n=st.integers(min_value=0, max_value=9), kind=st.sampled_from(["one line", "total out of range"]))
    def rename_and_reprice_a_draft(self, n: int, kind: str) -> None:
        """A valid name with lines that may be refused: the edit must apply whole or not at all."""
        drafts = self._drafts_of_open_deals()
        which, quote_id = drafts[n % len(drafts)]
        opportunity = self.opportunities[which]
        lines = self._lines(kind)
        name = f"Renamed {self._next_number()}"
        self._attempt(opportunity, lambda: opportunity.edit_quote(quote_id, name=name, lines=lines, at=self._now()))

    @rule(which=deal, index=pick)
    def activate_quote(self, which: int, index: int) -> None:
        self._activate(which, self._quote_id(self.opportunities[which], index, QuoteState.DRAFT))

    @precondition(lambda self: self._targets(QuoteState.DRAFT))
    @rule(n=st.integers(min_value=0, max_value=9))
    def activate_a_ready_draft(self, n: int) -> None:
        targets = self._targets(QuoteState.DRAFT)
        self._activate(*targets[n % len(targets)])

    def _activate(self, which: int, quote_id: UUID) -> None:
        opportunity = self.opportunities[which]
        quote = self._attempt(opportunity, lambda: opportunity.activate_quote(quote_id, today=TODAY, at=self._now()))
        if quote is not None:
            assert quote.line_count >= 1
            assert quote.total_amount >= 0

    @rule(which=deal, index=pick, reason=quote_close_reason)
    def close_quote(self, which: int, index: int, reason: QuoteStatus) -> None:
        opportunity = self.opportunities[which]
        quote_id = self._quote_id(opportunity, index, QuoteState.ACTIVE)
        self._attempt(
            opportunity,
            lambda: opportunity.close_quote(quote_id, reason, on=TODAY, description=None, at=self._now()),
        )

    @rule(which=deal, index=pick)
    def delete_quote(self, which: int, index: int) -> None:
        opportunity = self.opportunities[which]
        quote_id = self._quote_id(opportunity, index, QuoteState.DRAFT)
        deleted = self._attempt(opportunity, lambda: opportunity.delete_quote(quote_id, at=self._now()))
        if deleted is not None:
            assert deleted not in opportunity.quotes

    @rule(which=deal, index=pick)
    def revise_quote(self, which: int, index: int) -> None:
        self._revise(which, self._quote_id(self.opportunities[which], index, QuoteState.ACTIVE))

    @precondition(lambda self: self._targets(QuoteState.ACTIVE))
    @rule(n=st.integers(min_value=0, max_value=9))
    def revise_an_active_quote(self, n: int) -> None:
        targets = self._targets(QuoteState.ACTIVE)
        self._revise(*targets[n % len(targets)])

    def _revise(self, which: int, quote_id: UUID) -> None:
        opportunity = self.opportunities[which]
        new = self._attempt(
            opportunity,
            lambda: opportunity.revise_quote(quote_id, new_quote_id=self._new_id(), today=TODAY, at=self._now()),
        )
        if new is not None:
            old = opportunity.quote(quote_id)
            assert (new.number, new.revision, new.lines) == (old.number, old.revision + 1, old.lines)
            assert (old.state, old.status_reason) == (QuoteState.CLOSED, QuoteStatus.REVISED)

    @rule(which=deal, index=pick)
    def copy_quote(self, which: int, index: int) -> None:
        opportunity = self.opportunities[which]
        quote_id = self._quote_id(opportunity, index)
        number = self._next_number()
        new = self._attempt(
            opportunity,
            lambda: opportunity.copy_quote(quote_id, new_quote_id=self._new_id(), number=number, at=self._now()),
        )
        if new is not None:
            assert (new.number, new.revision, new.state) == (number, 0, QuoteState.DRAFT)
            assert new.lines == opportunity.quote(quote_id).lines

    @rule(which=deal, index=pick, close_opportunity=st.booleans(), on=close_date)
    def win_quote(self, which: int, index: int, close_opportunity: bool, on: date) -> None:
        self._win(which, self._quote_id(self.opportunities[which], index, QuoteState.ACTIVE), close_opportunity, on)

    @precondition(lambda self: self._targets(QuoteState.ACTIVE))
    @rule(n=st.integers(min_value=0, max_value=9), close_opportunity=st.booleans(), on=close_date)
    def win_an_active_quote(self, n: int, close_opportunity: bool, on: date) -> None:
        targets = self._targets(QuoteState.ACTIVE)
        self._win(*targets[n % len(targets)], close_opportunity, on)

    def _win(self, which: int, quote_id: UUID, close_opportunity: bool, on: date) -> None:
        opportunity = self.opportunities[which]
        result = self._attempt(
            opportunity,
            lambda: opportunity.win_quote(
                quote_id,
                contract_id=self._new_id(),
                close_date=on,
                description=None,
                competitor_id=None,
                close_opportunity=close_opportunity,
                close_id=self._new_id(),
                by=self.user_id,
                today=TODAY,
                at=self._now(),
            ),
        )
        if result is None:
            return
        assert (result.quote.state, result.quote.status_reason) == (QuoteState.WON, QuoteStatus.WON)
        assert result.contract.total_amount == result.quote.total_amount
        assert [(ln.description, ln.quantity, ln.unit_price) for ln in result.contract.lines] == [
            (ln.description, ln.quantity, ln.unit_price) for ln in result.quote.loaded_lines()
        ]
        assert not any(q.is_open for q in opportunity.quotes), "winning leaves no other quote active or draft"
        assert (result.close is not None) is close_opportunity
        assert opportunity.is_open is not close_opportunity
        if result.close is not None:
            assert opportunity.actual_revenue == result.quote.total_amount
            self.close_records[opportunity.id].append(result.close)

    # ---------------------------------------- deal actions
    @rule(
        which=deal,
        outcome=st.sampled_from(Outcome),
        reason_choice=st.integers(min_value=0, max_value=5),
        close_quotes=st.sampled_from([None, None, QuoteStatus.LOST, QuoteStatus.CANCELED]),
        on=close_date,
        actual_revenue=st.sampled_from([None, None, Decimal("0.00"), Decimal("1234.56")]),
    )
    def close(
        self,
        which: int,
        outcome: Outcome,
        reason_choice: int,
        close_quotes: QuoteStatus | None,
        on: date,
        actual_revenue: Decimal | None,
    ) -> None:
        opportunity = self.opportunities[which]
        fitting: list[OpportunityStatus | None] = [*sorted(CLOSE_STATUSES[outcome])]
        if outcome is Outcome.WON:
            fitting.append(None)
        any_reason: list[OpportunityStatus | None] = [None, *OpportunityStatus]
        status_reason = fitting[reason_choice % len(fitting)] if reason_choice < 4 else any_reason[reason_choice]
        details = CloseDetails(
            outcome=outcome,
            close_date=on,
            status_reason=status_reason,
            actual_revenue=actual_revenue,
            close_quotes=close_quotes,
        )
        had_open_quotes = any(q.is_open for q in opportunity.quotes)
        result = self._attempt(
            opportunity,
            lambda: opportunity.close(details, close_id=self._new_id(), by=self.user_id, today=TODAY, at=self._now()),
        )
        if result is None:
            return
        self.close_records[opportunity.id].append(result.close)
        assert opportunity.state.value == outcome.value
        if close_quotes is not None:
            assert not any(q.is_open for q in opportunity.quotes)
        elif had_open_quotes:
            assert result.closed_quotes == ()
        if actual_revenue is not None:
            assert opportunity.actual_revenue == actual_revenue
        elif outcome is Outcome.LOST:
            assert opportunity.actual_revenue == Decimal("0.00")
        else:
            won = opportunity.won_quote
            assert opportunity.actual_revenue == (won.total_amount if won else opportunity.estimated_revenue)

    @rule(which=deal, reason=quote_close_reason)
    def close_all_quotes(self, which: int, reason: QuoteStatus) -> None:
        opportunity = self.opportunities[which]
        closed = self._attempt(
            opportunity,
            lambda: opportunity.close_all_quotes(reason, description=None, today=TODAY, at=self._now()),
            bumps=False,
        )
        if closed is not None:
            assert not any(q.is_open for q in opportunity.quotes)
            assert all(c.status_reason is reason for c in closed)

    @rule(
        which=deal,
        status_reason=st.sampled_from(
            [None, None, OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD, OpportunityStatus.WON]
        ),
    )
    def reopen(self, which: int, status_reason: OpportunityStatus | None) -> None:
        self._reopen(which, status_reason)

    @precondition(lambda self: not all(o.is_open for o in self.opportunities))
    @rule(n=deal, status_reason=st.sampled_from([None, OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD]))
    def reopen_a_closed_deal(self, n: int, status_reason: OpportunityStatus | None) -> None:
        closed = [which for which, o in enumerate(self.opportunities) if not o.is_open]
        self._reopen(closed[n % len(closed)], status_reason)

    def _reopen(self, which: int, status_reason: OpportunityStatus | None) -> None:
        opportunity = self.opportunities[which]
        won_quote = opportunity.won_quote
        self._attempt(
            opportunity,
            lambda: opportunity.reopen(status_reason=status_reason, reason="again", by=self.user_id, at=self._now()),
        )
        assert opportunity.won_quote is won_quote, "a won quote stays won"

    @rule(which=deal)
    def put_on_hold(self, which: int) -> None:
        opportunity = self.opportunities[which]
        self._attempt(opportunity, lambda: opportunity.put_on_hold(self._now()), bumps=False)

    @rule(which=deal)
    def resume(self, which: int) -> None:
        opportunity = self.opportunities[which]
        self._attempt(
            opportunity,
            lambda: opportunity.edit(OpportunityChanges(status_reason=OpportunityStatus.IN_PROGRESS), at=self._now()),
            bumps=False,
        )

    @precondition(lambda self: any(o.standing_close is not None for o in self.opportunities))
    @rule(which=deal)
    def correct_the_standing_close(self, which: int) -> None:
        opportunity = self.opportunities[which]
        record = opportunity.standing_close
        if record is not None:
            record.correct(changes={"description": f"corrected at {self._now()}"}, at=self._now())

    # ---------------------------------------- invariants
    @invariant()
    def no_closed_deal_has_an_active_quote(self) -> None:  # I1
        for opportunity in self.opportunities:
            if not opportunity.is_open:
                assert not opportunity.active_quotes()

    @invariant()
    def a_closed_deal_has_exactly_one_standing_close_and_an_open_one_none(self) -> None:  # I2
        for opportunity in self.opportunities:
            standing = [r for r in self.close_records[opportunity.id] if r.reopened_at is None]
            if opportunity.is_open:
                assert standing == []
                assert opportunity.standing_close is None
                assert (opportunity.actual_revenue, opportunity.actual_close_date) == (None, None)
            else:
                assert len(standing) == 1
                (record,) = standing
                assert opportunity.standing_close is record
                assert record.outcome.value == opportunity.state.value
                assert record.status_reason is opportunity.status_reason
                assert record.actual_revenue == opportunity.actual_revenue
                assert record.close_date == opportunity.actual_close_date

    @invariant()
    def at_most_one_won_quote_and_never_lost_with_one(self) -> None:  # I3
        for opportunity in self.opportunities:
            won = [q for q in opportunity.quotes if q.state is QuoteState.WON]
            assert len(won) <= 1
            if won:
                assert opportunity.state is not OpportunityState.LOST
                assert opportunity.won_quote_id == won[0].id
                assert opportunity.contract_id is not None
                assert not opportunity.active_quotes(), "no other quote is activated once one is won"
            else:
                assert opportunity.won_quote_id is None

    @invariant()
    def every_quote_total_is_the_sum_of_its_lines(self) -> None:  # I4
        for opportunity in self.opportunities:
            for quote in opportunity.quotes:
                lines = quote.loaded_lines()
                assert quote.total_amount == sum((line.amount for line in lines), Decimal("0.00"))
                assert quote.line_count == len(lines)

    @invariant()
    def states_reasons_numbers_and_versions_stay_consistent(self) -> None:
        for opportunity in self.opportunities:
            assert opportunity.status_reason in OPPORTUNITY_STATUSES[opportunity.state]
            for quote in opportunity.quotes:
                assert quote.status_reason in QUOTE_STATUSES[quote.state]
                assert quote.opportunity_id == opportunity.id
            pairs = Counter((q.number, q.revision) for q in opportunity.quotes)
            assert all(count == 1 for count in pairs.values()), pairs
            assert opportunity.version >= self.versions[opportunity.id]
            self.versions[opportunity.id] = opportunity.version


DealMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None, database=None)
TestDealInvariants = DealMachine.TestCase
