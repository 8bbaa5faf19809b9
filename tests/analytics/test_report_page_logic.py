"""How the page reads its query string, lays out months and draws charts and CSV: no database needed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from dealdesk.domain.reporting import OwnerLine, QuoteCompetitorLine, SplitLine, WinLossReport
from dealdesk.services.reports import ReportFilter
from dealdesk.web.i18n import Languages
from dealdesk.web.ui.charts import Series, bar_chart, column_chart, nice_scale
from dealdesk.web.ui.win_loss import (
    Period,
    RangeProblem,
    ReportQuery,
    csv_rows,
    month_axis,
    report_query_string,
    resolve,
)
from dealdesk.web.ui.win_loss_tables import tables

TODAY = date(2026, 11, 26)


def query(**values: str) -> ReportQuery:
    return ReportQuery.model_validate(values)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("this_quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("last_quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("year_to_date", date(2026, 1, 1), TODAY),
        ("nonsense", date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_each_period_is_a_close_date_range_judged_from_today(period: str, start: date, end: date) -> None:
    where = resolve(query(period=period), TODAY).where

    assert (where.date_from, where.date_to) == (start, end)


def test_last_quarter_in_january_is_the_fourth_quarter_of_the_year_before() -> None:
    where = resolve(query(period="last_quarter"), date(2027, 1, 5)).where

    assert (where.date_from, where.date_to) == (date(2026, 10, 1), date(2026, 12, 31))


def test_a_custom_range_may_be_open_at_either_end_and_names_what_it_cannot_read() -> None:
    open_start = resolve(query(period="custom", to="2026-03-31"), TODAY)
    assert (open_start.where.date_from, open_start.where.date_to, open_start.errors) == (None, date(2026, 3, 31), {})

    unreadable = resolve(query(period="custom", **{"from": "2026-02-30", "to": "31/03/2026"}), TODAY)
    assert (unreadable.where.date_from, unreadable.where.date_to) == (None, None)
    assert unreadable.errors == {"from": RangeProblem.NOT_A_DATE, "to": RangeProblem.NOT_A_DATE}

    backwards = resolve(query(period="custom", **{"from": "2026-03-01", "to": "2026-01-01"}), TODAY)
    assert (backwards.where.date_from, backwards.where.date_to) == (date(2026, 1, 1), date(2026, 3, 1))
    assert backwards.errors == {"to": RangeProblem.BEFORE_START}


def test_filters_that_make_no_sense_are_not_applied() -> None:
    where = resolve(query(account="not-an-id", owner="", currency="us dollars"), TODAY).where

    assert (where.account_id, where.owner_id, where.currency) == (None, None, None)
    assert resolve(query(currency="eur"), TODAY).where.currency == "EUR"


def test_the_address_of_a_report_leaves_out_what_is_the_default() -> None:
    account = uuid4()
    where = ReportFilter(date_from=date(2026, 1, 1), date_to=date(2026, 3, 31), account_id=account)

    assert report_query_string(ReportFilter(), Period.THIS_QUARTER, currency=None) == ""
    assert report_query_string(where, Period.CUSTOM, currency="USD") == (
        f"?period=custom&from=2026-01-01&to=2026-03-31&account={account}&currency=USD"
    )


def _report(*months: str) -> WinLossReport:
    return WinLossReport(
        currency="USD", currencies=["USD"], by_month=[(month, SplitLine(won_count=1)) for month in months]
    )


def test_a_quarter_not_yet_over_shows_all_three_months_empty_ones_too() -> None:
    where = ReportFilter(date_from=date(2026, 10, 1), date_to=date(2026, 12, 31))

    assert month_axis(_report("2026-11"), where, TODAY) == ["2026-10", "2026-11", "2026-12"]


def test_an_open_range_runs_from_its_first_close_to_today_and_a_long_one_keeps_to_its_closes() -> None:
    assert month_axis(_report("2026-09"), ReportFilter(), TODAY) == ["2026-09", "2026-10", "2026-11"]
    assert month_axis(_report(), ReportFilter(), TODAY) == []
    decade = ReportFilter(date_from=date(2016, 1, 1), date_to=date(2026, 12, 31))
    assert month_axis(_report("2020-02", "2020-04"), decade, TODAY) == ["2020-02", "2020-03", "2020-04"]


@pytest.mark.parametrize(
    ("largest", "whole", "scale"),
    [
        ("0", True, ("1", "1")),
        ("2", True, ("2", "1")),
        ("7", True, ("8", "2")),
        ("13", True, ("15", "5")),
        ("44.6", False, ("50", "10")),
        ("330800.00", False, ("400000", "100000")),
        ("0.5", True, ("1", "1")),
    ],
)
def test_axes_end_on_a_round_number_in_at_most_five_round_steps(
    largest: str, whole: bool, scale: tuple[str, str]
) -> None:
    top, step = nice_scale(Decimal(largest), whole=whole)

    assert (top, step) == (Decimal(scale[0]), Decimal(scale[1]))


def test_the_win_rate_line_breaks_where_a_month_has_no_close() -> None:
    chart = column_chart(
        ["Jan", "Feb", "Mar", "Apr"],
        [Series("won", "Won", [Decimal(1), Decimal(0), Decimal(2), Decimal(1)])],
        value_label=str,
        axis_label=str,
        whole=True,
        line=[Decimal("0.5"), None, Decimal(1), Decimal(0)],
        line_label=str,
    )

    assert [step[0] for step in chart.line_path.split()] == ["M", "M", "L"]
    assert len(chart.bars) == 4
    assert all(chart.plot.top <= bar.y <= chart.plot.bottom for bar in chart.bars)


def test_bars_grow_from_the_axis_in_proportion_and_a_missing_value_draws_nothing() -> None:
    chart = bar_chart(
        ["Rival", "Acme"],
        [Series("lost", "", [Decimal(4), Decimal(2)]), Series("won", "", [None, Decimal(1)])],
        value_label=str,
        axis_label=str,
        whole=True,
    )

    first, second = chart.rows
    assert [bar.key for bar in first.bars] == ["lost"]
    assert first.bars[0].width == pytest.approx(2 * second.bars[0].width)
    assert all(bar.x == chart.plot.left for row in chart.rows for bar in row.bars)


def test_csv_rows_name_each_measure_as_the_api_does_and_defuse_formula_like_names() -> None:
    competitor = uuid4()
    sample = WinLossReport(
        currency="USD",
        currencies=["USD"],
        won_count=1,
        won_revenue=Decimal("10.00"),
        by_competitor=[(competitor, "=HYPERLINK(1)", SplitLine(won_count=1, won_revenue=Decimal("10.00")))],
        by_month=[("2026-01", SplitLine(won_count=1, won_revenue=Decimal("10.00")))],
    )

    rows = list(csv_rows(sample, ReportFilter(date_from=date(2026, 1, 1))))

    assert rows[0] == ["section", "item", "item_id", "measure", "value"]
    assert ["total", "", "", "win_rate", "1.0000"] in rows
    assert ["total", "", "", "avg_days_to_close.won", ""] in rows
    assert ["filter", "", "", "from", "2026-01-01"] in rows
    assert ["filter", "", "", "to", ""] in rows
    assert ["by_competitor", "'=HYPERLINK(1)", str(competitor), "won_revenue", "10.00"] in rows
    assert ["by_month", "2026-01", "", "won_count", "1"] in rows


def test_csv_rows_and_readable_tables_carry_owners_and_quotes_lost_to_competitors_with_names_defused() -> None:
    owner, competitor = uuid4(), uuid4()
    sample = WinLossReport(
        currency="USD",
        currencies=["USD"],
        won_count=1,
        lost_count=1,
        by_owner=[(owner, "+Sam", OwnerLine(won_count=1, lost_count=1, won_revenue=Decimal("10.00")))],
        quotes_by_competitor=[QuoteCompetitorLine(competitor, "@Rival", 2, Decimal("1500.50"))],
    )

    rows = list(csv_rows(sample, ReportFilter()))
    readable = list(tables(Languages.load().default, sample))

    assert ["by_owner", "'+Sam", str(owner), "won_revenue", "10.00"] in rows
    assert ["by_owner", "'+Sam", str(owner), "lost_count", "1"] in rows
    assert ["quotes_by_competitor", "'@Rival", str(competitor), "quotes_lost", "2"] in rows
    assert ["quotes_by_competitor", "'@Rival", str(competitor), "quotes_lost_amount", "1500.50"] in rows
    assert ["'+Sam", "1", "1", "10.00", "0.00", "50.0"] in readable
    assert ["'@Rival", "2", "1500.50"] in readable
