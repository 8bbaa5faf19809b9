"""The win/loss report (SPEC §7.1) of a history worked out by hand (tests/analytics/conftest.py), on SQLite and
PostgreSQL: standing closes only, a close ended by a reopen counted apart and never twice, one currency at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.services.reports import ReportFilter, win_loss
from dealdesk.web.schemas import win_loss_out
from tests.analytics.conftest import History

Q1 = {"date_from": date(2026, 1, 1), "date_to": date(2026, 3, 31)}


def report(uow: SqlUnitOfWork, **where: Any) -> dict[str, Any]:
    """The report as the API answers it (money and rates as strings)."""
    answer: dict[str, Any] = win_loss_out(win_loss(uow, ReportFilter(**where))).model_dump(mode="json")
    return answer


def split(won: int, lost: int, won_revenue: str, lost_revenue: str) -> dict[str, Any]:
    return {"won_count": won, "lost_count": lost, "won_revenue": won_revenue, "lost_revenue": lost_revenue}


def test_the_first_quarter_counts_the_standing_usd_closes_by_every_measure(
    uow: SqlUnitOfWork, history: History
) -> None:
    assert report(uow, **Q1) == {
        "currency": "USD",
        "currencies": ["EUR", "USD"],
        "won_count": 2,
        "lost_count": 3,
        "win_rate": "0.4000",
        "won_revenue": "3000.00",
        "lost_revenue": "250.00",
        "by_status_reason": [
            {"status_reason": "canceled", "count": 1, "revenue": "250.00"},
            {"status_reason": "out_sold", "count": 2, "revenue": "0.00"},
            {"status_reason": "won", "count": 2, "revenue": "3000.00"},
        ],
        "by_close_reason": [
            {"close_reason_id": str(history.price), "name": "Price", "outcome": "lost", "count": 1, "revenue": "0.00"},
            {
                "close_reason_id": str(history.best_plan),
                "name": "Best plan",
                "outcome": "won",
                "count": 1,
                "revenue": "1000.00",
            },
        ],
        "by_competitor": [
            {"competitor_id": str(history.acme), "name": "acme Consulting", **split(0, 1, "0.00", "0.00")},
            {"competitor_id": str(history.rival), "name": "Rival Ltd", **split(1, 1, "1000.00", "0.00")},
        ],
        "by_owner": [
            {
                "owner_id": str(history.admin.id),
                "name": "admin",
                **split(1, 2, "1000.00", "0.00"),
                "win_rate": "0.3333",
            },
            {"owner_id": str(history.sam.id), "name": "sam", **split(1, 1, "2000.00", "250.00"), "win_rate": "0.5000"},
        ],
        "quotes_by_competitor": [],
        "by_month": [
            {"month": "2026-01", **split(1, 0, "1000.00", "0.00")},
            {"month": "2026-02", **split(0, 2, "0.00", "250.00")},
            {"month": "2026-03", **split(1, 1, "2000.00", "0.00")},
        ],
        "avg_days_to_close": {"won": 21.5, "lost": 32.3},
        "reopened_count": 2,
    }


def test_a_deal_closed_reopened_and_closed_again_counts_once_with_its_standing_outcome(
    uow: SqlUnitOfWork, history: History
) -> None:
    march = report(uow, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31), currency="USD")

    assert (march["won_count"], march["lost_count"], march["reopened_count"]) == (1, 1, 1)
    assert march["won_revenue"] == "2000.00"  # D4's reopened won close of 5000.00 is not revenue any more
    assert march["by_competitor"] == [
        {"competitor_id": str(history.acme), "name": "acme Consulting", **split(0, 1, "0.00", "0.00")}
    ]
    assert march["avg_days_to_close"] == {"won": 28.0, "lost": 43.0}


def test_a_reopened_close_counts_in_the_range_of_its_own_close_date(uow: SqlUnitOfWork, history: History) -> None:
    assert report(uow, date_from=date(2026, 1, 25), date_to=date(2026, 1, 25), currency="USD")["reopened_count"] == 1
    january = report(uow, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    assert (january["won_count"], january["lost_count"], january["reopened_count"]) == (1, 0, 1)


def test_the_other_currency_is_reported_on_its_own_when_asked_for(uow: SqlUnitOfWork, history: History) -> None:
    euros = report(uow, **Q1, currency="EUR")

    assert euros["currency"] == "EUR"
    assert euros["currencies"] == ["EUR", "USD"]
    assert (euros["won_count"], euros["lost_count"], euros["win_rate"]) == (1, 1, "0.5000")
    assert (euros["won_revenue"], euros["lost_revenue"]) == ("3000.00", "0.00")
    assert euros["by_competitor"] == [
        {"competitor_id": str(history.rival), "name": "Rival Ltd", **split(1, 1, "3000.00", "0.00")}
    ]
    assert euros["by_month"] == [
        {"month": "2026-02", **split(1, 0, "3000.00", "0.00")},
        {"month": "2026-03", **split(0, 1, "0.00", "0.00")},
    ]
    assert euros["avg_days_to_close"] == {"won": 26.0, "lost": 32.0}
    assert euros["reopened_count"] == 0


def test_an_owner_or_an_account_keeps_to_their_closes(uow: SqlUnitOfWork, history: History) -> None:
    sams = report(uow, **Q1, owner_id=history.sam.id)
    assert (sams["currency"], sams["currencies"]) == ("USD", ["USD"])
    assert [line["owner_id"] for line in sams["by_owner"]] == [str(history.sam.id)]
    assert (sams["won_count"], sams["lost_count"], sams["won_revenue"], sams["lost_revenue"]) == (
        1,
        1,
        "2000.00",
        "250.00",
    )
    assert sams["reopened_count"] == 0

    kowloon = report(uow, **Q1, account_id=history.kowloon)
    assert (kowloon["currency"], kowloon["currencies"]) == ("USD", ["EUR", "USD"])
    assert (kowloon["won_count"], kowloon["lost_count"], kowloon["win_rate"]) == (0, 2, "0.0000")
    assert kowloon["lost_revenue"] == "250.00"
    assert kowloon["reopened_count"] == 1
    assert kowloon["avg_days_to_close"] == {"won": None, "lost": 31.0}


def test_equal_numbers_of_closes_choose_the_alphabetically_first_currency(uow: SqlUnitOfWork, history: History) -> None:
    both = report(uow, date_from=date(2026, 2, 10), date_to=date(2026, 2, 14))

    assert (both["currency"], both["currencies"]) == ("EUR", ["EUR", "USD"])
    assert (both["won_count"], both["lost_count"]) == (1, 0)


def test_without_dates_every_standing_close_counts(uow: SqlUnitOfWork, history: History) -> None:
    always = report(uow)

    assert (always["currency"], always["won_count"], always["lost_count"]) == ("USD", 3, 3)
    assert always["won_revenue"] == "3400.00"
    assert always["by_month"][0] == {"month": "2025-12", **split(1, 0, "400.00", "0.00")}
    assert always["avg_days_to_close"] == {"won": 20.7, "lost": 32.3}
    assert always["reopened_count"] == 2


def test_a_range_without_closes_has_no_currency_and_counts_nothing(uow: SqlUnitOfWork, history: History) -> None:
    empty = report(uow, date_from=date(2027, 1, 1), date_to=date(2027, 3, 31))

    assert empty["currency"] is None
    assert empty["currencies"] == []
    assert (empty["won_count"], empty["lost_count"], empty["reopened_count"], empty["win_rate"]) == (0, 0, 0, None)
    assert empty["by_month"] == empty["by_competitor"] == empty["by_status_reason"] == []
    assert empty["by_owner"] == empty["quotes_by_competitor"] == []
    assert empty["avg_days_to_close"] == {"won": None, "lost": None}


def test_a_currency_asked_for_without_closes_in_the_range_reports_zero(uow: SqlUnitOfWork, history: History) -> None:
    francs = report(uow, **Q1, currency="CHF")

    assert (francs["currency"], francs["currencies"]) == ("CHF", ["EUR", "USD"])
    assert (francs["won_count"], francs["lost_count"], francs["win_rate"]) == (0, 0, None)


def test_a_currency_whose_closes_all_fall_outside_the_range_is_not_listed(uow: SqlUnitOfWork, history: History) -> None:
    december = report(uow, date_from=date(2025, 12, 1), date_to=date(2025, 12, 31))

    assert (december["currency"], december["currencies"]) == ("USD", ["USD"])
    assert (december["won_count"], december["won_revenue"]) == (1, "400.00")
