"""A small sales history whose win/loss report is worked out by hand (see `Expected` in test_win_loss_report.py).

Every record is made through the real use cases, each deal created on its own date and every close, reopen and
re-close done on 15 April 2026, so close dates, creation dates and reopens are exactly as written here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from sqlalchemy import Engine

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.states import OpportunityStatus, Outcome
from dealdesk.services import catalogue, closing, opportunities

CLOSED_ON = date(2026, 4, 15)
"""The day every close and reopen is recorded; close dates are earlier (back-dated, as people do)."""


class StoppedClock:
    """Time stands at noon UTC of one day."""

    def __init__(self, day: date) -> None:
        self._at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.date()

    def date_of(self, moment: datetime) -> date:
        return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class History:
    """The ids a test needs to name what it expects."""

    sam: Actor
    admin: Actor
    harbour: UUID
    kowloon: UUID
    rival: UUID
    acme: UUID
    price: UUID
    best_plan: UUID


class Desk:
    def __init__(self, engine: Engine, admin: Actor) -> None:
        self.engine = engine
        self.admin = admin

    def on(self, day: date) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, StoppedClock(day))

    def deal(self, created: date, account: UUID, currency: str = "USD", *, owner: Actor | None = None) -> UUID:
        new = opportunities.NewOpportunity(
            name=f"Deal of {created}", account_id=account, estimated_revenue=Decimal("9999.00"), currency=currency
        )
        return opportunities.create_opportunity(self.on(created), new, actor=owner or self.admin).id

    def close(
        self,
        deal: UUID,
        outcome: Outcome,
        close_date: date,
        *,
        status: OpportunityStatus | None = None,
        revenue: str | None = None,
        competitor: UUID | None = None,
        reason: UUID | None = None,
    ) -> None:
        details = CloseDetails(
            outcome=outcome,
            close_date=close_date,
            status_reason=status,
            actual_revenue=None if revenue is None else Decimal(revenue),
            competitor_id=competitor,
            close_reason_id=reason,
        )
        closing.close_opportunity(self.on(CLOSED_ON), deal, details, actor=self.admin)

    def reopen(self, deal: UUID) -> None:
        closing.reopen_opportunity(
            self.on(CLOSED_ON), deal, status_reason=None, reason="Customer came back", actor=self.admin
        )


WON, LOST = Outcome.WON, Outcome.LOST
OUT_SOLD, CANCELED = OpportunityStatus.OUT_SOLD, OpportunityStatus.CANCELED


@pytest.fixture
def desk(engine: Engine, admin: Actor) -> Desk:
    return Desk(engine, admin)


@pytest.fixture
def history(engine: Engine, admin: Actor) -> History:
    """Q1 2026 in USD and EUR, one USD close in December 2025, two closes ended by a reopen.

    | deal | created    | owner, account | close (all standing unless said)                                   | days |
    |------|------------|----------------|--------------------------------------------------------------------|------|
    | D1   | 2026-01-05 | admin, Harbour | USD won 2026-01-20, 1000.00, against Rival, reason Best plan       | 15   |
    | D2   | 2026-01-10 | admin, Harbour | USD lost out_sold 2026-02-14, 0.00, to Rival, reason Price         | 35   |
    | D3   | 2026-02-01 | sam, Kowloon   | USD lost canceled 2026-02-20, 250.00 entered                       | 19   |
    | D4   | 2026-02-10 | admin, Kowloon | USD won 2026-03-01, 5000.00, against Acme: REOPENED; then          |      |
    |      |            |                | USD lost out_sold 2026-03-25, 0.00, to Acme                        | 43   |
    | D5   | 2026-03-02 | sam, Harbour   | USD won 2026-03-30, 2000.00                                        | 28   |
    | D6   | 2026-01-02 | admin, Harbour | USD won 2026-01-25, 700.00: REOPENED, still open                   |      |
    | D7   | 2026-01-15 | admin, Harbour | EUR won 2026-02-10, 3000.00, against Rival                         | 26   |
    | D8   | 2026-02-01 | admin, Kowloon | EUR lost out_sold 2026-03-05, 0.00, to Rival                       | 32   |
    | D9   | 2025-12-01 | admin, Harbour | USD won 2025-12-20, 400.00                                         | 19   |
    """
    desk = Desk(engine, admin)
    setup = desk.on(date(2025, 11, 1))
    sam = _user(setup, "sam")
    harbour = catalogue.create_account(setup, name="Harbour Foods", actor=admin).id
    kowloon = catalogue.create_account(setup, name="Kowloon Logistics", actor=admin).id
    rival = catalogue.create_competitor(setup, name="Rival Ltd", actor=admin).id
    acme = catalogue.create_competitor(setup, name="acme Consulting", actor=admin).id
    price = catalogue.create_close_reason(setup, outcome=LOST, name="Price", active=True, actor=admin).id
    best_plan = catalogue.create_close_reason(setup, outcome=WON, name="Best plan", active=True, actor=admin).id

    d1 = desk.deal(date(2026, 1, 5), harbour)
    desk.close(d1, WON, date(2026, 1, 20), revenue="1000.00", competitor=rival, reason=best_plan)
    d2 = desk.deal(date(2026, 1, 10), harbour)
    desk.close(d2, LOST, date(2026, 2, 14), status=OUT_SOLD, competitor=rival, reason=price)
    d3 = desk.deal(date(2026, 2, 1), kowloon, owner=sam)
    desk.close(d3, LOST, date(2026, 2, 20), status=CANCELED, revenue="250.00")
    d4 = desk.deal(date(2026, 2, 10), kowloon)
    desk.close(d4, WON, date(2026, 3, 1), revenue="5000.00", competitor=acme)
    desk.reopen(d4)
    desk.close(d4, LOST, date(2026, 3, 25), status=OUT_SOLD, competitor=acme)
    d5 = desk.deal(date(2026, 3, 2), harbour, owner=sam)
    desk.close(d5, WON, date(2026, 3, 30), revenue="2000.00")
    d6 = desk.deal(date(2026, 1, 2), harbour)
    desk.close(d6, WON, date(2026, 1, 25), revenue="700.00")
    desk.reopen(d6)
    d7 = desk.deal(date(2026, 1, 15), harbour, "EUR")
    desk.close(d7, WON, date(2026, 2, 10), revenue="3000.00", competitor=rival)
    d8 = desk.deal(date(2026, 2, 1), kowloon, "EUR")
    desk.close(d8, LOST, date(2026, 3, 5), status=OUT_SOLD, competitor=rival)
    d9 = desk.deal(date(2025, 12, 1), harbour)
    desk.close(d9, WON, date(2025, 12, 20), revenue="400.00")
    return History(
        sam=sam, admin=admin, harbour=harbour, kowloon=kowloon, rival=rival, acme=acme, price=price, best_plan=best_plan
    )


def _user(uow: SqlUnitOfWork, name: str) -> Actor:
    with uow.transaction():
        return uow.users.ensure(name, "sales")
