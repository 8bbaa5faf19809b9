"""A sales history made through the real use cases, with every shape an export must carry: on-hold and open deals,
won and lost ones, a reopened deal with its ended close record, revised and won quotes, discount lines, a retired
close reason, another owner, another currency, and text with commas, quotes, line breaks and Chinese."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.quote import QuoteLine, QuoteLoss
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.services import catalogue, closing, opportunities, quotes
from dealdesk.services.opportunities import NewOpportunity
from dealdesk.services.ports import UnitOfWork

SELLER = "mei"


def line(description: str, quantity: str, unit_price: str) -> QuoteLine:
    return QuoteLine.checked(description, Decimal(quantity), Decimal(unit_price), field="lines[0]")


def build_history(uow: UnitOfWork, admin: Actor) -> None:
    with uow.transaction():
        seller = uow.users.ensure(SELLER, "sales")
    today = uow.clock.today()
    last_week = today - timedelta(days=7)

    acme = catalogue.create_account(uow, name="Acme Engineering", actor=admin)
    harbour = catalogue.create_account(uow, name='Harbour "Wharf", Ltd', actor=admin)
    dragon = catalogue.create_account(uow, name="九龍巴士有限公司", actor=admin)
    rival = catalogue.create_competitor(uow, name="Rival Consulting", actor=admin)
    gone = catalogue.create_competitor(uow, name="Northwind", actor=admin)
    catalogue.update_competitor(uow, gone.id, catalogue.CompetitorChanges(active=False), actor=admin)
    price = catalogue.create_close_reason(uow, outcome=Outcome.LOST, name="Price too high", active=True, actor=admin)
    fit = catalogue.create_close_reason(uow, outcome=Outcome.WON, name="Best fit", active=True, actor=admin)

    def deal(name: str, account_id: UUID, revenue: str, **more: Any) -> Opportunity:
        new = NewOpportunity(name=name, account_id=account_id, estimated_revenue=Decimal(revenue), **more)
        return opportunities.create_opportunity(uow, new, actor=admin)

    # Open and on hold, with a draft and an active quote (one with a discount line).
    held = deal("Data platform", acme.id, "12000.00", description='Phase 1,\nthen "phase 2"')
    quotes.create_quote(
        uow, held.id, quotes.NewQuote(name="Option A", lines=[line("Design", "10", "150.00")]), actor=admin
    )
    offer = quotes.create_quote(
        uow,
        held.id,
        quotes.NewQuote(
            name="Option B", lines=[line("Build", "2.5", "1000.00"), line("Loyalty discount", "1", "-250.00")]
        ),
        actor=admin,
    )
    quotes.activate_quote(uow, offer.id, actor=admin)
    opportunities.edit_opportunity(
        uow, held.id, OpportunityChanges(status_reason=OpportunityStatus.ON_HOLD), actor=admin
    )

    # Won: a revised quote won, a sibling canceled before, a draft closed as lost by the win; then closed won.
    won = deal("Harbour CRM", harbour.id, "40000.00", estimated_close_date=today + timedelta(days=30))
    first = quotes.create_quote(
        uow, won.id, quotes.NewQuote(name="CRM", lines=[line("Licences", "40", "500.00")]), actor=admin
    )
    quotes.activate_quote(uow, first.id, actor=admin)
    second = quotes.revise_quote(uow, first.id, actor=admin)
    quotes.edit_quote(uow, second.id, quotes.QuoteChanges(lines=[line("Licences", "40", "450.00")]), actor=admin)
    quotes.activate_quote(uow, second.id, actor=admin)
    spare = quotes.create_quote(
        uow, won.id, quotes.NewQuote(name="Spare", lines=[line("Training", "1", "900.00")]), actor=admin
    )
    quotes.close_quote(
        uow,
        spare.id,
        reason=QuoteStatus.CANCELED,
        close_date=last_week,
        description="Not needed",
        actor=admin,
        loss=QuoteLoss(competitor_id=rival.id, close_reason_id=price.id),
    )
    quotes.create_quote(uow, won.id, quotes.NewQuote(name="Extra", lines=[line("Support", "12", "80.00")]), actor=admin)
    quotes.win_quote(uow, second.id, quotes.WinDetails(close_date=last_week, description="Signed"), actor=admin)
    closing.close_opportunity(
        uow,
        won.id,
        CloseDetails(outcome=Outcome.WON, close_date=last_week, close_reason_id=fit.id, competitor_id=rival.id),
        actor=admin,
    )

    # Lost, reopened, lost again for another reason: two close records, one ended by the reopen.
    lost = deal("Depot telemetry", dragon.id, "8800.50", currency="HKD")
    quote = quotes.create_quote(
        uow, lost.id, quotes.NewQuote(name="Sensors", lines=[line("Sensor", "3", "2933.50")]), actor=admin
    )
    quotes.activate_quote(uow, quote.id, actor=admin)
    closing.close_opportunity(
        uow,
        lost.id,
        CloseDetails(
            outcome=Outcome.LOST,
            status_reason=OpportunityStatus.CANCELED,
            close_date=last_week,
            close_reason_id=price.id,
            description="Budget frozen",
            close_quotes=QuoteStatus.LOST,
        ),
        actor=admin,
    )
    closing.reopen_opportunity(
        uow, lost.id, status_reason=OpportunityStatus.ON_HOLD, reason="Budget is back", actor=admin
    )
    closing.close_opportunity(
        uow,
        lost.id,
        CloseDetails(
            outcome=Outcome.LOST,
            status_reason=OpportunityStatus.OUT_SOLD,
            close_date=today,
            competitor_id=rival.id,
            actual_revenue=Decimal("0.00"),
        ),
        actor=admin,
    )
    catalogue.update_close_reason(uow, price.id, catalogue.CloseReasonChanges(active=False), actor=admin)

    # Won, then reopened: open again with its won quote and a new draft copied from it.
    again = deal("Fleet upgrade", acme.id, "3000.00")
    kept = quotes.create_quote(
        uow, again.id, quotes.NewQuote(name="Fleet", lines=[line("Upgrade", "3", "1000.00")]), actor=admin
    )
    quotes.activate_quote(uow, kept.id, actor=admin)
    quotes.win_quote(uow, kept.id, quotes.WinDetails(close_date=today, close_opportunity=True), actor=admin)
    closing.reopen_opportunity(uow, again.id, status_reason=None, reason=None, actor=admin)
    quotes.copy_quote(uow, kept.id, actor=admin)

    # Someone else's deal, in euros, with an estimated close date and no quotes.
    new = NewOpportunity(
        name="Kiosk pilot",
        account_id=dragon.id,
        estimated_revenue=Decimal("950.00"),
        currency="EUR",
        estimated_close_date=date(2031, 1, 31),
    )
    opportunities.create_opportunity(uow, new, actor=seller)
