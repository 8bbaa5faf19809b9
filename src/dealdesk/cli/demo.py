"""A realistic demo data set, built through the same use cases as everything else (no back doors)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.quote import QuoteLine
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus, Role
from dealdesk.services import auth, catalogue, closing, opportunities, quotes
from dealdesk.services.ports import OpportunityFilter

ACCOUNTS = ["Northwind Traders", "Contoso Pharmaceuticals", "Fabrikam Logistics", "Tailspin Toys", "Harbour Bank HK"]
COMPETITORS = ["Accenture", "Deloitte Digital", "Local boutique", "In-house team"]
LOST_REASONS = ["Price too high", "Timing / budget frozen", "Chose competitor's platform"]
WON_REASONS = ["Strong references", "Best delivery plan"]
WORK = [
    ("Discovery workshop", "2", "4800.00"),
    ("Solution architecture", "10", "1450.00"),
    ("Implementation sprint", "6", "18500.00"),
    ("Data migration", "1", "22000.00"),
    ("Training day", "3", "2400.00"),
    ("Hypercare support (month)", "2", "6500.00"),
]
DEALS = [
    "ERP rollout",
    "Cloud migration",
    "Data platform",
    "CRM implementation",
    "Security assessment",
    "Mobile app build",
    "Analytics dashboards",
    "Managed services renewal",
    "Integration hub",
    "Customer portal",
]


@dataclass
class FixedClock:
    """The demo replays history: each step happens on its own day."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()

    def date_of(self, moment: datetime) -> date:
        return moment.date()


def _lines(rng: random.Random, count: int, discount: bool = False) -> list[QuoteLine]:
    picked = rng.sample(WORK, count)
    lines = [QuoteLine.checked(d, Decimal(q), Decimal(p), field="lines") for d, q, p in picked]
    if discount:
        lines.append(QuoteLine.checked("Partner discount", Decimal("1"), Decimal("-2500.00"), field="lines"))
    return lines


DEMO_USERS = (
    ("maria", Role.MANAGER, "maria-demo-pass"),
    ("sam", Role.SALES, "sam-demo-pass"),
    ("vic", Role.VIEWER, "vic-demo-pass"),
)
"""Who can sign in to the demo, with known passwords (shown once, when the demo is loaded)."""


def load_demo(uow: SqlUnitOfWork, actor: Actor, *, seed: int = 7, count: int = 30) -> int:
    """Creates the data set unless opportunities already exist; answers how many opportunities it made.
    Half the deals belong to the salesperson `sam`, the rest to `actor`."""
    with uow.transaction(write=False):
        if uow.opportunities.list(OpportunityFilter(), limit=1, cursor=None).items:
            return 0
    people = {}
    for name, role, password in DEMO_USERS:
        with uow.transaction(write=False):
            existing = uow.users.find(name)
        people[name] = (existing or auth.add_user(uow, name, role, password=password).user).as_actor()
    seller = people["sam"]
    rng = random.Random(seed)
    today = uow.clock.today()
    real_clock = uow.clock

    def at(day: date) -> None:
        uow.clock = FixedClock(datetime.combine(day, time(9, rng.randint(0, 59)), tzinfo=UTC))

    try:
        at(today - timedelta(days=400))
        accounts = [catalogue.create_account(uow, name=name, actor=actor) for name in ACCOUNTS]
        competitors = [catalogue.create_competitor(uow, name=name, actor=actor) for name in COMPETITORS]
        lost_reasons = [
            catalogue.create_close_reason(uow, outcome=Outcome.LOST, name=n, active=True, actor=actor)
            for n in LOST_REASONS
        ]
        won_reasons = [
            catalogue.create_close_reason(uow, outcome=Outcome.WON, name=n, active=True, actor=actor)
            for n in WON_REASONS
        ]
        for index in range(count):
            created = today - timedelta(days=rng.randint(20, 360))
            at(created)
            owner = seller if index % 2 else actor
            account = accounts[index % len(accounts)]
            opportunity = opportunities.create_opportunity(
                uow,
                opportunities.NewOpportunity(
                    name=f"{account.name.split()[0]} {DEALS[index % len(DEALS)]}",
                    account_id=account.id,
                    currency="HKD" if "HK" in account.name else "USD",
                    estimated_revenue=Decimal(rng.randrange(20_000, 400_000, 500)),
                    estimated_close_date=created + timedelta(days=rng.randint(30, 120)),
                    description="Demo opportunity",
                ),
                actor=owner,
            )
            first = quotes.create_quote(
                uow, opportunity.id, quotes.NewQuote(name="Initial proposal", lines=_lines(rng, 3)), actor=owner
            )
            story = index % 6
            if story == 0:  # open, with a draft only
                continue
            quotes.activate_quote(uow, first.id, actor=owner)
            if story == 1:  # open, one active quote: closing it is blocked
                quotes.create_quote(
                    uow, opportunity.id, quotes.NewQuote(name="Alternative scope", lines=_lines(rng, 2)), actor=owner
                )
                continue
            closed_on = min(created + timedelta(days=rng.randint(10, 90)), today)
            at(closed_on)
            if story == 2:  # won through a revised quote, deal closed in the same step
                revised = quotes.revise_quote(uow, first.id, actor=owner)
                quotes.edit_quote(
                    uow, revised.id, quotes.QuoteChanges(lines=_lines(rng, 3, discount=True)), actor=owner
                )
                quotes.activate_quote(uow, revised.id, actor=owner)
                quotes.win_quote(
                    uow,
                    revised.id,
                    quotes.WinDetails(
                        close_date=closed_on, competitor_id=rng.choice(competitors).id, close_opportunity=True
                    ),
                    actor=owner,
                )
            elif story == 3:  # lost to a competitor, quotes closed in one step
                closing.close_opportunity(
                    uow,
                    opportunity.id,
                    CloseDetails(
                        outcome=Outcome.LOST,
                        status_reason=OpportunityStatus.OUT_SOLD,
                        close_date=closed_on,
                        competitor_id=rng.choice(competitors).id,
                        close_reason_id=rng.choice(lost_reasons).id,
                        description="Customer went with another partner",
                        close_quotes=QuoteStatus.LOST,
                    ),
                    actor=owner,
                )
            elif story == 4:  # canceled, then reopened and left on hold
                closing.close_opportunity(
                    uow,
                    opportunity.id,
                    CloseDetails(
                        outcome=Outcome.LOST,
                        status_reason=OpportunityStatus.CANCELED,
                        close_date=closed_on,
                        close_reason_id=lost_reasons[1].id,
                        close_quotes=QuoteStatus.CANCELED,
                    ),
                    actor=owner,
                )
                if index % 12 == 4:
                    at(min(closed_on + timedelta(days=5), today))
                    closing.reopen_opportunity(
                        uow,
                        opportunity.id,
                        status_reason=OpportunityStatus.ON_HOLD,
                        reason="Budget approved again",
                        actor=owner,
                    )
            else:  # won: quote won first, then the deal closed as won
                quotes.win_quote(uow, first.id, quotes.WinDetails(close_date=closed_on), actor=owner)
                closing.close_opportunity(
                    uow,
                    opportunity.id,
                    CloseDetails(outcome=Outcome.WON, close_date=closed_on, close_reason_id=rng.choice(won_reasons).id),
                    actor=owner,
                )
    finally:
        uow.clock = real_clock
    return count
