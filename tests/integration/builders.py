"""A factory for integration tests: every record is made through the real use cases, in its own transaction,
so a test starts from exactly the rows a user could have produced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails, CloseResult, OpportunityClose, WinResult
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote, QuoteLine
from dealdesk.domain.records import Account, CloseReason, Competitor
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.services import catalogue, closing, opportunities, quotes
from dealdesk.services.guards import NO_PRECONDITIONS, Preconditions
from dealdesk.services.ports import UnitOfWork


def line(description: str = "Consulting", quantity: str = "1", unit_price: str = "100.00") -> QuoteLine:
    return QuoteLine.checked(description, Decimal(quantity), Decimal(unit_price), field="lines[0]")


def standard_lines() -> list[QuoteLine]:
    """Two lines totalling 4000.00."""
    return [line("Design", "10", "150.00"), line("Build", "2.5", "1000.00")]


STANDARD_TOTAL = Decimal("4000.00")


class FixedClock:
    """A clock stopped at one instant; "today" is that instant's date in the business time zone."""

    def __init__(self, at: datetime, zone: ZoneInfo) -> None:
        self._at = at
        self._zone = zone

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.astimezone(self._zone).date()

    def date_of(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()


class Desk:
    """What a sales desk does, one use case per call, acting as `actor` unless told otherwise."""

    def __init__(self, uow: UnitOfWork, actor: Actor) -> None:
        self.uow = uow
        self.actor = actor
        self._default_account: Account | None = None

    @property
    def today(self) -> date:
        return self.uow.clock.today()

    @property
    def tomorrow(self) -> date:
        return self.today + timedelta(days=1)

    # ------------------------------------------------------------------ people and catalogues
    def user(self, name: str, role: str) -> Actor:
        with self.uow.transaction():
            return self.uow.users.ensure(name, role)

    def account(self, name: str = "Acme") -> Account:
        return catalogue.create_account(self.uow, name=name, actor=self.actor)

    def competitor(self, name: str = "Rival Ltd") -> Competitor:
        return catalogue.create_competitor(self.uow, name=name, actor=self.actor)

    def close_reason(self, outcome: Outcome, name: str = "Price", *, active: bool = True) -> CloseReason:
        return catalogue.create_close_reason(self.uow, outcome=outcome, name=name, active=active, actor=self.actor)

    # ------------------------------------------------------------------ opportunities and quotes
    def opportunity(
        self,
        name: str = "Data platform rollout",
        *,
        account_id: UUID | None = None,
        estimated_revenue: str = "5000.00",
        currency: str = "USD",
        actor: Actor | None = None,
    ) -> Opportunity:
        if account_id is None:
            if self._default_account is None:
                self._default_account = self.account()
            account_id = self._default_account.id
        new = opportunities.NewOpportunity(
            name=name, account_id=account_id, estimated_revenue=Decimal(estimated_revenue), currency=currency
        )
        return opportunities.create_opportunity(self.uow, new, actor=actor or self.actor)

    def draft(
        self, opportunity_id: UUID, *, name: str = "Implementation", lines: Sequence[QuoteLine] | None = None
    ) -> Quote:
        new = quotes.NewQuote(name=name, lines=standard_lines() if lines is None else lines)
        return quotes.create_quote(self.uow, opportunity_id, new, actor=self.actor)

    def active(
        self, opportunity_id: UUID, *, name: str = "Implementation", lines: Sequence[QuoteLine] | None = None
    ) -> Quote:
        quote = self.draft(opportunity_id, name=name, lines=lines)
        return quotes.activate_quote(self.uow, quote.id, actor=self.actor)

    def activate(self, quote_id: UUID) -> Quote:
        return quotes.activate_quote(self.uow, quote_id, actor=self.actor)

    def win(
        self,
        quote_id: UUID,
        *,
        close_opportunity: bool = False,
        close_date: date | None = None,
        competitor_id: UUID | None = None,
        description: str | None = None,
        pre: Preconditions = NO_PRECONDITIONS,
    ) -> WinResult:
        details = quotes.WinDetails(
            close_date=close_date,
            description=description,
            competitor_id=competitor_id,
            close_opportunity=close_opportunity,
        )
        return quotes.win_quote(self.uow, quote_id, details, actor=self.actor, pre=pre)

    def close_quote(self, quote_id: UUID, reason: QuoteStatus = QuoteStatus.LOST) -> Quote:
        return quotes.close_quote(
            self.uow, quote_id, reason=reason, close_date=None, description=None, actor=self.actor
        )

    # ------------------------------------------------------------------ closing and reopening
    def details(
        self,
        outcome: Outcome = Outcome.WON,
        *,
        status_reason: OpportunityStatus | None = None,
        close_date: date | None = None,
        actual_revenue: Decimal | None = None,
        close_reason_id: UUID | None = None,
        competitor_id: UUID | None = None,
        description: str | None = None,
        close_quotes: QuoteStatus | None = None,
    ) -> CloseDetails:
        """The Close dialog's input; a lost close says `canceled` unless told otherwise."""
        if status_reason is None and outcome is Outcome.LOST:
            status_reason = OpportunityStatus.CANCELED
        return CloseDetails(
            outcome=outcome,
            close_date=self.today if close_date is None else close_date,
            status_reason=status_reason,
            actual_revenue=actual_revenue,
            close_reason_id=close_reason_id,
            competitor_id=competitor_id,
            description=description,
            close_quotes=close_quotes,
        )

    def close(
        self,
        opportunity_id: UUID,
        outcome: Outcome = Outcome.WON,
        *,
        pre: Preconditions = NO_PRECONDITIONS,
        actor: Actor | None = None,
        **options: Any,
    ) -> CloseResult:
        details = self.details(outcome, **options)
        return closing.close_opportunity(self.uow, opportunity_id, details, actor=actor or self.actor, pre=pre)

    def reopen(
        self, opportunity_id: UUID, *, status_reason: OpportunityStatus | None = None, reason: str | None = None
    ) -> Opportunity:
        return closing.reopen_opportunity(
            self.uow, opportunity_id, status_reason=status_reason, reason=reason, actor=self.actor
        )

    # ------------------------------------------------------------------ reading back
    def read(self, opportunity_id: UUID) -> Opportunity:
        return opportunities.get_opportunity(self.uow, opportunity_id)

    def read_quote(self, quote_id: UUID) -> Quote:
        return quotes.get_quote(self.uow, quote_id)

    def quotes_of(self, opportunity_id: UUID) -> list[Quote]:
        return list(quotes.list_quotes(self.uow, opportunity_id, limit=200, cursor=None).items)

    def closes_of(self, opportunity_id: UUID) -> list[OpportunityClose]:
        return list(closing.list_closes(self.uow, opportunity_id, limit=200, cursor=None).items)
