"""Builders for the domain unit tests.

Every aggregate is built through the real domain methods (never by assigning a state), with predictable ids,
quote numbers, a fixed `today` and a clock that only moves forward."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from dealdesk.domain.closing import CloseDetails, CloseResult, OpportunityClose, WinResult
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote, QuoteLine
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus

TODAY = date(2024, 6, 14)
START = datetime(2024, 6, 14, 9, 0, tzinfo=UTC)


class Deals:
    """A small factory for opportunities and quotes in every state the rules talk about."""

    today = TODAY

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self._minutes = itertools.count(1)
        self.owner_id = self.new_id()
        self.account_id = self.new_id()
        self.user_id = self.new_id()

    # ---------------------------------------- ids, numbers and time
    def new_id(self) -> UUID:
        return UUID(int=next(self._ids))

    def next_number(self) -> str:
        return f"Q-{next(self._numbers):05d}"

    def now(self) -> datetime:
        """A timezone-aware instant one minute after the previous one."""
        return START + timedelta(minutes=next(self._minutes))

    # ---------------------------------------- lines and opportunities
    @staticmethod
    def line(description: str = "Consulting", quantity: str = "1", unit_price: str = "100.00") -> QuoteLine:
        return QuoteLine.checked(description, Decimal(quantity), Decimal(unit_price), field="lines[0]")

    def standard_lines(self) -> list[QuoteLine]:
        """Two lines totalling 4000.00."""
        return [self.line("Design", "10", "150.00"), self.line("Build", "2.5", "1000.00")]

    def opportunity(self, *, estimated_revenue: str = "5000.00", currency: str = "USD") -> Opportunity:
        return Opportunity.open_new(
            id=self.new_id(),
            name="Data platform rollout",
            account_id=self.account_id,
            currency=currency,
            estimated_revenue=Decimal(estimated_revenue),
            estimated_close_date=None,
            description=None,
            owner_id=self.owner_id,
            at=self.now(),
        )

    # ---------------------------------------- quotes in each state
    def draft(
        self, opportunity: Opportunity, *, lines: Sequence[QuoteLine] | None = None, name: str = "Implementation"
    ) -> Quote:
        return opportunity.add_quote(
            quote_id=self.new_id(),
            number=self.next_number(),
            name=name,
            lines=self.standard_lines() if lines is None else lines,
            valid_until=date(2024, 7, 31),
            at=self.now(),
        )

    def active(
        self, opportunity: Opportunity, *, lines: Sequence[QuoteLine] | None = None, name: str = "Implementation"
    ) -> Quote:
        quote = self.draft(opportunity, lines=lines, name=name)
        return opportunity.activate_quote(quote.id, today=self.today, at=self.now())

    def closed(self, opportunity: Opportunity, *, reason: QuoteStatus = QuoteStatus.LOST) -> Quote:
        quote = self.draft(opportunity)
        opportunity.close_quote(quote.id, reason, on=self.today, description=None, at=self.now())
        return quote

    def won(self, opportunity: Opportunity, *, lines: Sequence[QuoteLine] | None = None) -> Quote:
        quote = self.active(opportunity, lines=lines)
        self.win(opportunity, quote)
        return quote

    def win(
        self,
        opportunity: Opportunity,
        quote: Quote,
        *,
        close_opportunity: bool = False,
        close_date: date | None = None,
        description: str | None = None,
        competitor_id: UUID | None = None,
        accept_expired: bool = False,
    ) -> WinResult:
        return opportunity.win_quote(
            quote.id,
            contract_id=self.new_id(),
            close_date=self.today if close_date is None else close_date,
            description=description,
            competitor_id=competitor_id,
            close_opportunity=close_opportunity,
            close_id=self.new_id(),
            by=self.user_id,
            today=self.today,
            at=self.now(),
            accept_expired=accept_expired,
        )

    def revise(self, opportunity: Opportunity, quote: Quote) -> Quote:
        return opportunity.revise_quote(quote.id, new_quote_id=self.new_id(), today=self.today, at=self.now())

    def copy(self, opportunity: Opportunity, quote: Quote) -> Quote:
        return opportunity.copy_quote(quote.id, new_quote_id=self.new_id(), number=self.next_number(), at=self.now())

    # ---------------------------------------- closing and reopening
    def close(
        self,
        opportunity: Opportunity,
        outcome: Outcome,
        *,
        status_reason: OpportunityStatus | None = None,
        close_quotes: QuoteStatus | None = None,
        actual_revenue: Decimal | None = None,
        close_date: date | None = None,
        description: str | None = None,
        competitor_id: UUID | None = None,
        close_reason_id: UUID | None = None,
    ) -> CloseResult:
        if status_reason is None and outcome is Outcome.LOST:
            status_reason = OpportunityStatus.CANCELED
        details = CloseDetails(
            outcome=outcome,
            close_date=self.today if close_date is None else close_date,
            status_reason=status_reason,
            actual_revenue=actual_revenue,
            close_reason_id=close_reason_id,
            competitor_id=competitor_id,
            description=description,
            close_quotes=close_quotes,
        )
        return opportunity.close(details, close_id=self.new_id(), by=self.user_id, today=self.today, at=self.now())

    def close_won(self, opportunity: Opportunity, **options: Any) -> CloseResult:
        return self.close(opportunity, Outcome.WON, **options)

    def close_lost(self, opportunity: Opportunity, **options: Any) -> CloseResult:
        return self.close(opportunity, Outcome.LOST, **options)

    def reopen(
        self, opportunity: Opportunity, *, status_reason: OpportunityStatus | None = None, reason: str | None = None
    ) -> OpportunityClose:
        return opportunity.reopen(status_reason=status_reason, reason=reason, by=self.user_id, at=self.now())

    def reopen_and_revive(self, opportunity: Opportunity, quote: Quote) -> Quote:
        return opportunity.reopen_and_revive(
            quote.id, new_quote_id=self.new_id(), status_reason=None, reason=None, by=self.user_id, at=self.now()
        )

    # ---------------------------------------- comparing
    @staticmethod
    def snapshot(opportunity: Opportunity) -> dict[str, Any]:
        """Everything the aggregate holds, deeply copied: quotes, lines, close record, contract, audit facts."""
        return dataclasses.asdict(opportunity)


@pytest.fixture
def deals() -> Deals:
    return Deals()
