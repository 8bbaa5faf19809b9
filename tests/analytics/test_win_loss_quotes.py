"""`quotes_by_competitor` of the win/loss report (SPEC §7.1, §11): quotes closed as lost to a competitor, by the
quote's `closed_on`, in the report's currency, owner and account filters applied through their opportunity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.quote import QuoteLine, QuoteLoss
from dealdesk.domain.states import QuoteStatus
from dealdesk.services import quotes
from tests.analytics.conftest import CLOSED_ON, Desk, History
from tests.analytics.test_win_loss_report import Q1, report


def lost_quote(
    desk: Desk,
    deal: UUID,
    price: str,
    closed_on: date,
    *,
    competitor: UUID | None,
    status: QuoteStatus = QuoteStatus.LOST,
) -> None:
    uow = desk.on(CLOSED_ON)
    line = QuoteLine(description="Work", quantity=Decimal("1"), unit_price=Decimal(price))
    quote = quotes.create_quote(uow, deal, quotes.NewQuote(name="Offer", lines=[line]), actor=desk.admin)
    quotes.close_quote(
        uow,
        quote.id,
        reason=status,
        close_date=closed_on,
        description=None,
        actor=desk.admin,
        loss=QuoteLoss(competitor_id=competitor),
    )


def lost(quotes_lost: int, amount: str) -> dict[str, object]:
    return {"quotes_lost": quotes_lost, "quotes_lost_amount": amount}


def test_quotes_lost_to_a_competitor_in_the_range_are_counted_and_summed_by_competitor(
    uow: SqlUnitOfWork, history: History, desk: Desk
) -> None:
    usd_harbour = desk.deal(date(2026, 1, 3), history.harbour)
    usd_kowloon_sam = desk.deal(date(2026, 1, 3), history.kowloon, owner=history.sam)
    eur = desk.deal(date(2026, 1, 3), history.harbour, "EUR")
    lost_quote(desk, usd_harbour, "100.00", date(2026, 2, 1), competitor=history.rival)
    lost_quote(desk, usd_harbour, "50.50", date(2026, 3, 31), competitor=history.rival)
    lost_quote(desk, usd_kowloon_sam, "70.00", date(2026, 1, 1), competitor=history.acme)
    lost_quote(desk, usd_harbour, "999.00", date(2026, 4, 1), competitor=history.rival)  # after the range
    lost_quote(desk, usd_harbour, "999.00", date(2026, 2, 1), competitor=None)  # no competitor
    lost_quote(desk, usd_harbour, "999.00", date(2026, 2, 1), competitor=history.rival, status=QuoteStatus.CANCELED)
    lost_quote(desk, eur, "999.00", date(2026, 2, 1), competitor=history.rival)  # another currency

    q1 = report(uow, **Q1, currency="USD")
    assert q1["quotes_by_competitor"] == [
        {
            "competitor_id": str(history.acme),
            "name": "acme Consulting",
            "quotes_lost": 1,
            "quotes_lost_amount": "70.00",
        },
        {"competitor_id": str(history.rival), "name": "Rival Ltd", "quotes_lost": 2, "quotes_lost_amount": "150.50"},
    ]
    sams = report(uow, **Q1, currency="USD", owner_id=history.sam.id)
    assert [line["competitor_id"] for line in sams["quotes_by_competitor"]] == [str(history.acme)]
    harbour = report(uow, **Q1, currency="USD", account_id=history.harbour)
    assert [line["quotes_lost"] for line in harbour["quotes_by_competitor"]] == [2]
    euros = report(uow, **Q1, currency="EUR")
    assert euros["quotes_by_competitor"] == [
        {"competitor_id": str(history.rival), "name": "Rival Ltd", "quotes_lost": 1, "quotes_lost_amount": "999.00"}
    ]
