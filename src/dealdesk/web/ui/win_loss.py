"""The win/loss report page at /reports/win-loss (SPEC §7.1, §9) and the same report as CSV.

A period (this quarter, last quarter, year to date or a custom range), an account, an owner and, when the closes
of the period are in several currencies, the currency (one at a time; the one with the most closes by default).
Charts are drawn here as SVG, each with a table of the same numbers beside it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from babel.dates import format_skeleton
from babel.numbers import format_compact_decimal, format_percent
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from dealdesk.domain.reporting import CloseReasonLine, OwnerLine, QuoteCompetitorLine, SplitLine, WinLossReport
from dealdesk.domain.states import OpportunityStatus, Outcome, Role
from dealdesk.services import auth, reports, views
from dealdesk.services.ports import UnitOfWork
from dealdesk.services.reports import ReportFilter
from dealdesk.web.deps import UowDep
from dealdesk.web.i18n import Language
from dealdesk.web.ui import labels
from dealdesk.web.ui.charts import BarChart, ColumnChart, Series, bar_chart, column_chart
from dealdesk.web.ui.deps import View
from dealdesk.web.ui.forms import FieldReader
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = "/reports/win-loss"
MOST_MONTHS = 36
"""A custom range longer than this shows only the months from its first close to its last."""


class Period(StrEnum):
    THIS_QUARTER = "this_quarter"
    LAST_QUARTER = "last_quarter"
    YEAR_TO_DATE = "year_to_date"
    CUSTOM = "custom"


class ReportQuery(BaseModel):
    """The page's query string, read leniently: a value that makes no sense is not applied (dates say why)."""

    period: str = Period.THIS_QUARTER.value
    date_from: str = Field("", alias="from")
    date_to: str = Field("", alias="to")
    account: str = ""
    owner: str = ""
    currency: str = ""

    def chosen_period(self) -> Period:
        try:
            return Period(self.period)
        except ValueError:
            return Period.THIS_QUARTER


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(start: date) -> date:
    """The last day of the quarter that begins on `start`."""
    after = date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)
    return after - timedelta(days=1)


class RangeProblem(StrEnum):
    NOT_A_DATE = "not_a_date"
    BEFORE_START = "before_start"


@dataclass(frozen=True)
class Resolved:
    """What the query string asks for, in domain terms, and what could not be read."""

    period: Period
    where: ReportFilter
    errors: dict[str, RangeProblem]
    """What is wrong with a custom range typed by hand, by field (`from`, `to`); that end is not applied."""


def resolve(query: ReportQuery, today: date) -> Resolved:
    period = query.chosen_period()
    read = FieldReader()
    errors: dict[str, RangeProblem] = {}
    start: date | None
    end: date | None
    if period is Period.THIS_QUARTER:
        start = quarter_start(today)
        end = quarter_end(start)
    elif period is Period.LAST_QUARTER:
        start = quarter_start(quarter_start(today) - timedelta(days=1))
        end = quarter_end(start)
    elif period is Period.YEAR_TO_DATE:
        start, end = date(today.year, 1, 1), today
    else:
        start = read.day("from", query.date_from)
        end = read.day("to", query.date_to)
        errors = {error.field: RangeProblem.NOT_A_DATE for error in read.errors}
        if start and end and start > end:
            # Dates typed the wrong way round: say so, and show the range they meant, so the filters, the
            # currency and the download stay as they were.
            errors["to"] = RangeProblem.BEFORE_START
            start, end = end, start
    currency = query.currency.strip().upper()
    where = ReportFilter(
        currency=currency if len(currency) == 3 and currency.isalpha() and currency.isascii() else None,
        date_from=start,
        date_to=end,
        owner_id=FieldReader().reference("owner", query.owner),
        account_id=FieldReader().reference("account", query.account),
    )
    return Resolved(period=period, where=where, errors=errors)


def report_query_string(where: ReportFilter, period: Period, *, currency: str | None) -> str:
    """The tidy address of a report, for the browser's history, the CSV link and bookmarks."""
    values: dict[str, str] = {}
    if period is not Period.THIS_QUARTER:
        values["period"] = period.value
    if period is Period.CUSTOM:
        values["from"] = where.date_from.isoformat() if where.date_from else ""
        values["to"] = where.date_to.isoformat() if where.date_to else ""
    values["account"] = str(where.account_id) if where.account_id else ""
    values["owner"] = str(where.owner_id) if where.owner_id else ""
    values["currency"] = currency or ""
    shown = {name: value for name, value in values.items() if value}
    return "?" + urlencode(shown) if shown else ""


# ---------------------------------------------------------------------------------------------- reading it
def _rate(won: int, lost: int) -> Decimal | None:
    if won + lost == 0:
        return None
    return (Decimal(won) / Decimal(won + lost)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _months(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def month_axis(report: WinLossReport, where: ReportFilter, today: date) -> list[str]:
    """Every month of the period, empty ones too, so gaps show (a quarter not yet over shows all three); a range
    open at the start begins at its first close, one open at the end stops today, a very long one keeps to its
    closes."""
    seen = [month for month, _ in report.by_month]
    if where.date_from is None and not seen:
        return []
    first = where.date_from or date.fromisoformat(seen[0] + "-01")
    months = _months(first, where.date_to or today)
    if len(months) > MOST_MONTHS and seen:
        months = [month for month in months if seen[0] <= month <= seen[-1]]
    return months


@dataclass(frozen=True)
class MonthRow:
    month: str
    label: str
    line: SplitLine
    win_rate: Decimal | None


@dataclass(frozen=True)
class CompetitorRow:
    id: UUID
    name: str
    line: SplitLine
    win_rate: Decimal | None
    share: Decimal | None
    """Of all lost closes: how much of our losing this competitor accounts for."""


@dataclass(frozen=True)
class StatusRow:
    status_reason: OpportunityStatus
    count: int
    revenue: Decimal
    share: Decimal | None
    """Of all lost closes."""


@dataclass(frozen=True)
class Figures:
    """The report arranged for the page: rows for the tables, and the charts drawn from the same rows."""

    months: list[MonthRow]
    lost_by_status: list[StatusRow]
    lost_by_reason: list[CloseReasonLine]
    lost_to: list[CompetitorRow]
    won_against: list[CompetitorRow]
    closes_chart: ColumnChart | None
    revenue_chart: ColumnChart | None
    status_chart: BarChart
    reason_chart: BarChart | None
    lost_to_chart: BarChart | None
    won_against_chart: BarChart | None
    days_chart: BarChart
    reopened_chart: BarChart
    reopened_share: Decimal | None
    owners: list[tuple[UUID, str, OwnerLine]]
    owners_chart: BarChart | None
    quotes_lost_to: list[QuoteCompetitorLine]


class Writing:
    """Numbers, money, months and percentages as the visitor's language writes them, for chart labels."""

    def __init__(self, language: Language, currency: str) -> None:
        self.language = language
        self.currency = currency

    def count(self, value: Decimal) -> str:
        return self.language.number(value)

    def money(self, value: Decimal) -> str:
        return self.language.money(value, self.currency)

    def compact(self, value: Decimal) -> str:
        return format_compact_decimal(value, locale=self.language.locale, fraction_digits=1)

    def percent(self, value: Decimal) -> str:
        return format_percent(value, format="#,##0%", locale=self.language.locale)

    def precise_percent(self, value: Decimal) -> str:
        return format_percent(value, format="#,##0.0%", locale=self.language.locale)

    def month(self, month: str) -> str:
        return format_skeleton("yMMM", date.fromisoformat(month + "-01"), locale=self.language.locale)

    def days(self, value: Decimal) -> str:
        return self.language.gettext("%(days)s days") % {"days": self.language.number(value)}


def _competitors(
    report: WinLossReport, *, key: Callable[[SplitLine], tuple[int, Decimal]], keep: Callable[[SplitLine], bool]
) -> list[CompetitorRow]:
    lost = report.lost_count
    rows = [
        CompetitorRow(cid, name, line, _rate(line.won_count, line.lost_count), _share(line.lost_count, lost))
        for cid, name, line in report.by_competitor
        if keep(line)
    ]
    return sorted(rows, key=lambda row: (tuple(-part for part in key(row.line)), row.name.casefold()))


def figures(report: WinLossReport, months: Sequence[str], write: Writing) -> Figures:
    lang = write.language
    by_month = dict(report.by_month)
    month_rows = [
        MonthRow(m, write.month(m), line, _rate(line.won_count, line.lost_count))
        for m in months
        for line in [by_month.get(m, SplitLine())]
    ]
    won_name, lost_name = lang.pgettext("outcome", "Won"), lang.pgettext("outcome", "Lost")
    month_labels = [row.label for row in month_rows]
    closes_chart = revenue_chart = None
    if month_rows:
        closes_chart = column_chart(
            month_labels,
            [
                Series("won", won_name, [Decimal(r.line.won_count) for r in month_rows]),
                Series("lost", lost_name, [Decimal(r.line.lost_count) for r in month_rows]),
            ],
            value_label=write.count,
            axis_label=write.count,
            whole=True,
            line=[r.win_rate for r in month_rows],
            line_label=write.percent,
            line_name=lang.gettext("Win rate"),
        )
        revenue_chart = column_chart(
            month_labels,
            [
                Series("won", won_name, [r.line.won_revenue for r in month_rows]),
                Series("lost", lost_name, [r.line.lost_revenue for r in month_rows]),
            ],
            value_label=write.money,
            axis_label=write.compact,
            whole=False,
        )

    lost_total = report.lost_count
    statuses = {line.status_reason: line for line in report.by_status_reason}
    lost_by_status = [
        StatusRow(
            status,
            line.count if line else 0,
            line.revenue if line else Decimal("0.00"),
            _share(line.count if line else 0, lost_total),
        )
        for status in (OpportunityStatus.OUT_SOLD, OpportunityStatus.CANCELED)
        for line in [statuses.get(status)]
    ]
    status_chart = bar_chart(
        [labels.label(lang, row.status_reason) for row in lost_by_status],
        [Series("lost", "", [Decimal(row.count) for row in lost_by_status])],
        value_label=write.count,
        axis_label=write.count,
        whole=True,
    )
    lost_by_reason = sorted(
        (line for line in report.by_close_reason if line.outcome is Outcome.LOST),
        key=lambda line: (-line.count, line.name.casefold()),
    )
    reason_chart = (
        bar_chart(
            [line.name for line in lost_by_reason],
            [Series("lost", "", [Decimal(line.count) for line in lost_by_reason])],
            value_label=write.count,
            axis_label=write.count,
            whole=True,
        )
        if lost_by_reason
        else None
    )
    lost_to = _competitors(
        report, key=lambda line: (line.lost_count, line.lost_revenue), keep=lambda line: line.lost_count > 0
    )
    won_against = _competitors(
        report, key=lambda line: (line.won_count, line.won_revenue), keep=lambda line: line.won_count > 0
    )
    lost_to_chart = (
        bar_chart(
            [row.name for row in lost_to],
            [Series("lost", "", [Decimal(row.line.lost_count) for row in lost_to])],
            value_label=write.count,
            axis_label=write.count,
            whole=True,
        )
        if lost_to
        else None
    )
    won_against_chart = (
        bar_chart(
            [row.name for row in won_against],
            [Series("won", "", [Decimal(row.line.won_count) for row in won_against])],
            value_label=write.count,
            axis_label=write.count,
            whole=True,
        )
        if won_against
        else None
    )
    days_chart = bar_chart(
        [won_name, lost_name],
        [Series("days", "", [report.avg_days_won, report.avg_days_lost])],
        value_label=write.days,
        axis_label=write.count,
        whole=False,
        label_width=110,
    )
    standing = report.won_count + report.lost_count
    reopened_chart = bar_chart(
        [lang.gettext("Current"), lang.gettext("Reopened")],
        [
            Series("standing", "", [Decimal(standing), None]),
            Series("reopened", "", [None, Decimal(report.reopened_count)]),
        ],
        value_label=write.count,
        axis_label=write.count,
        whole=True,
        label_width=110,
    )
    return Figures(
        months=month_rows,
        lost_by_status=lost_by_status,
        lost_by_reason=lost_by_reason,
        lost_to=lost_to,
        won_against=won_against,
        closes_chart=closes_chart,
        revenue_chart=revenue_chart,
        status_chart=status_chart,
        reason_chart=reason_chart,
        lost_to_chart=lost_to_chart,
        won_against_chart=won_against_chart,
        days_chart=days_chart,
        reopened_chart=reopened_chart,
        reopened_share=_share(report.reopened_count, standing + report.reopened_count),
        owners=report.by_owner,
        owners_chart=(
            bar_chart(
                [name for _, name, _ in report.by_owner],
                [
                    Series("won", won_name, [Decimal(line.won_count) for _, _, line in report.by_owner]),
                    Series("lost", lost_name, [Decimal(line.lost_count) for _, _, line in report.by_owner]),
                ],
                value_label=write.count,
                axis_label=write.count,
                whole=True,
            )
            if report.by_owner
            else None
        ),
        quotes_lost_to=sorted(
            report.quotes_by_competitor, key=lambda line: (-line.quotes_lost, -line.quotes_lost_amount, line.name)
        ),
    )


def _share(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else Decimal(part) / Decimal(whole)


def _owners(uow: UnitOfWork) -> list[tuple[UUID, str]]:
    """People who can own deals (not viewers), by name; inactive ones too: their closes still count."""
    people = [(user.id, user.name) for user in auth.list_users(uow) if user.role is not Role.VIEWER]
    return sorted(people, key=lambda person: person[1].casefold())


# ---------------------------------------------------------------------------------------------- the page
def _range_messages(view: PageView, errors: dict[str, RangeProblem]) -> dict[str, str]:
    messages = {
        RangeProblem.NOT_A_DATE: view.gettext("Enter a valid date, such as 2026-03-31."),
        RangeProblem.BEFORE_START: view.gettext(
            "To is before From: the dates are the wrong way round, so the report shows the range between them."
        ),
    }
    return {field: messages[problem] for field, problem in errors.items()}


@router.get(PAGE, response_class=HTMLResponse)
def win_loss_page(query: Annotated[ReportQuery, Query()], view: View, uow: UowDep) -> HTMLResponse:
    today = uow.clock.today()
    chosen = resolve(query, today)
    report = reports.win_loss(uow, chosen.where)
    currency = report.currency
    shown = None
    if currency is not None and report.won_count + report.lost_count > 0:
        shown = figures(report, month_axis(report, chosen.where, today), Writing(view.language, currency))
    context: dict[str, Any] = {
        "query": query,
        "period": chosen.period,
        "periods": list(Period),
        "where": chosen.where,
        "errors": _range_messages(view, chosen.errors),
        "report": report,
        "currencies": sorted({*report.currencies, *filter(None, [currency])}),
        "figures": shown,
        "write": Writing(view.language, currency or ""),
        "accounts": views.account_names(uow),
        "owners": _owners(uow),
        "csv_url": PAGE + ".csv" + report_query_string(chosen.where, chosen.period, currency=currency),
        "tables_url": PAGE + "-tables.csv" + report_query_string(chosen.where, chosen.period, currency=currency),
        "workbook_url": PAGE + "-tables.xlsx" + report_query_string(chosen.where, chosen.period, currency=currency),
    }
    if view.htmx:
        address = PAGE + report_query_string(chosen.where, chosen.period, currency=chosen.where.currency)
        return view.render("win_loss/_screen.html", context, headers={"HX-Push-Url": address})
    return view.render("win_loss/page.html", context)


# ---------------------------------------------------------------------------------------------- CSV
CSV_COLUMNS = ["section", "item", "item_id", "measure", "value"]
"""One figure a row (measures named as in GET /api/reports/win-loss), so a spreadsheet can pivot it any way."""
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A name typed by a user, made inert for spreadsheets: one that starts like a formula gets a leading '."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _optional(value: object | None) -> str:
    return "" if value is None else str(value)


def csv_rows(report: WinLossReport, where: ReportFilter) -> Iterator[list[str]]:
    yield CSV_COLUMNS
    for measure, value in (
        ("currency", report.currency),
        ("from", where.date_from),
        ("to", where.date_to),
        ("owner_id", where.owner_id),
        ("account_id", where.account_id),
    ):
        yield ["filter", "", "", measure, _optional(value)]
    rate = report.win_rate
    for measure, figure in (
        ("won_count", str(report.won_count)),
        ("lost_count", str(report.lost_count)),
        ("win_rate", "" if rate is None else f"{rate:.4f}"),
        ("won_revenue", _money(report.won_revenue)),
        ("lost_revenue", _money(report.lost_revenue)),
        ("avg_days_to_close.won", _optional(report.avg_days_won)),
        ("avg_days_to_close.lost", _optional(report.avg_days_lost)),
        ("reopened_count", str(report.reopened_count)),
    ):
        yield ["total", "", "", measure, figure]
    for status in report.by_status_reason:
        yield ["by_status_reason", status.status_reason.value, "", "count", str(status.count)]
        yield ["by_status_reason", status.status_reason.value, "", "revenue", _money(status.revenue)]
    for reason in report.by_close_reason:
        item = [_cell(reason.name), str(reason.close_reason_id)]
        yield ["by_close_reason", *item, "outcome", reason.outcome.value]
        yield ["by_close_reason", *item, "count", str(reason.count)]
        yield ["by_close_reason", *item, "revenue", _money(reason.revenue)]
    for section, key, name, line in (
        *(("by_competitor", str(cid), _cell(name), line) for cid, name, line in report.by_competitor),
        *(("by_owner", str(oid), _cell(name), line) for oid, name, line in report.by_owner),
        *(("by_month", "", month, line) for month, line in report.by_month),
    ):
        yield [section, name, key, "won_count", str(line.won_count)]
        yield [section, name, key, "lost_count", str(line.lost_count)]
        yield [section, name, key, "won_revenue", _money(line.won_revenue)]
        yield [section, name, key, "lost_revenue", _money(line.lost_revenue)]
    for quoted in report.quotes_by_competitor:
        item = [_cell(quoted.name), str(quoted.competitor_id)]
        yield ["quotes_by_competitor", *item, "quotes_lost", str(quoted.quotes_lost)]
        yield ["quotes_by_competitor", *item, "quotes_lost_amount", _money(quoted.quotes_lost_amount)]


@router.get(PAGE + ".csv")
def win_loss_csv(query: Annotated[ReportQuery, Query()], uow: UowDep) -> Response:
    """The report the page shows, as CSV (UTF-8 with a byte order mark, for spreadsheets)."""
    chosen = resolve(query, uow.clock.today())
    report = reports.win_loss(uow, chosen.where)
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(report, chosen.where))
    span = "-".join(day.isoformat() if day else "all" for day in (chosen.where.date_from, chosen.where.date_to))
    name = f"dealdesk-win-loss-{report.currency or 'none'}-{span}.csv"
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
