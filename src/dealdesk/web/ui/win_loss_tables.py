"""The win/loss report as tables for people (one table per chart, headings and labels in the reader's language),
beside the machine CSV at /reports/win-loss.csv (codes and English, one figure a row): as CSV tables one after
another, or as an .xlsx workbook with a sheet per table. Names people typed are guarded against spreadsheet
formulas and written as text; numbers stay numbers so a spreadsheet can sum them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from openpyxl import Workbook

from dealdesk.domain.reporting import WinLossReport
from dealdesk.domain.states import Outcome
from dealdesk.services import reports
from dealdesk.services.reports import ReportFilter
from dealdesk.services.spreadsheet_guard import guard_text
from dealdesk.web.deps import UowDep
from dealdesk.web.i18n import Language
from dealdesk.web.ui import labels
from dealdesk.web.ui.deps import View
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.win_loss import PAGE, ReportQuery, resolve

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TABLES = PAGE + "-tables.csv"
WORKBOOK = PAGE + "-tables.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Row = list[str]


@dataclass(frozen=True)
class Number:
    """A count, an amount or a rate: a number in a spreadsheet, never guarded. `places` fixes its decimals."""

    value: Decimal | int
    places: int | None = None

    def text(self) -> str:
        return str(self.value) if self.places is None else f"{self.value:.{self.places}f}"


Cell = str | Number | None
"""Text (labels, or names already guarded), a number, or nothing."""


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]


def _money(value: Decimal) -> Number:
    return Number(value, 2)


def _rate(value: Decimal | None) -> Number | None:
    return None if value is None else Number(value * 100, 1)


def _optional(value: Decimal | None) -> Number | None:
    return None if value is None else Number(value)


def report_tables(lang: Language, report: WinLossReport) -> list[Table]:
    """One table per chart of the page, in the page's order."""
    t, won, lost = lang.gettext, labels.label(lang, Outcome.WON), labels.label(lang, Outcome.LOST)
    split = [won, lost, f"{t('Revenue')} ({won})", f"{t('Revenue')} ({lost})"]
    return [
        Table(
            t("Summary"),
            [
                t("Currency"),
                t("Won closes"),
                t("Lost closes"),
                t("Win rate") + " (%)",
                t("Won revenue"),
                t("Lost revenue"),
            ],
            [
                [
                    report.currency or "",
                    Number(report.won_count),
                    Number(report.lost_count),
                    _rate(report.win_rate),
                    _money(report.won_revenue),
                    _money(report.lost_revenue),
                ]
            ],
        ),
        Table(
            t("Lost closes by status reason"),
            [t("Status reason"), t("Closes"), t("Revenue")],
            [
                [labels.label(lang, s.status_reason), Number(s.count), _money(s.revenue)]
                for s in report.by_status_reason
            ],
        ),
        Table(
            t("Reason details for won and lost closes."),
            [t("Reason detail"), t("Outcome"), t("Closes"), t("Revenue")],
            [
                [guard_text(r.name), labels.label(lang, r.outcome), Number(r.count), _money(r.revenue)]
                for r in report.by_close_reason
            ],
        ),
        Table(
            t("Competitors"),
            [t("Competitor"), *split],
            [
                [
                    guard_text(name),
                    Number(x.won_count),
                    Number(x.lost_count),
                    _money(x.won_revenue),
                    _money(x.lost_revenue),
                ]
                for _, name, x in report.by_competitor
            ],
        ),
        Table(
            t("Win/loss by owner"),
            [t("Owner"), *split, t("Win rate") + " (%)"],
            [
                [
                    guard_text(name),
                    Number(x.won_count),
                    Number(x.lost_count),
                    _money(x.won_revenue),
                    _money(x.lost_revenue),
                    _rate(x.win_rate),
                ]
                for _, name, x in report.by_owner
            ],
        ),
        Table(
            t("Quotes lost to competitors"),
            [t("Competitor"), t("Quotes lost"), t("Amount of quotes lost")],
            [
                [guard_text(q.name), Number(q.quotes_lost), _money(q.quotes_lost_amount)]
                for q in report.quotes_by_competitor
            ],
        ),
        Table(
            t("Closes per month"),
            [t("Month"), *split],
            [
                [month, Number(x.won_count), Number(x.lost_count), _money(x.won_revenue), _money(x.lost_revenue)]
                for month, x in report.by_month
            ],
        ),
        Table(
            t("Average days to close"), [won, lost], [[_optional(report.avg_days_won), _optional(report.avg_days_lost)]]
        ),
        Table(t("Reopened closes"), [t("Closes")], [[Number(report.reopened_count)]]),
    ]


def tables(lang: Language, report: WinLossReport) -> Iterator[Row]:
    """As CSV rows. Each table: its title on a row of its own, a header row, its rows, then an empty row."""
    for table in report_tables(lang, report):
        yield [table.title]
        yield table.header
        for row in table.rows:
            yield [cell.text() if isinstance(cell, Number) else cell or "" for cell in row]
        yield []


_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME = 31
"""Excel's longest sheet name."""


def _sheet_names(titles: Sequence[str]) -> list[str]:
    """Titles as sheet names Excel accepts: no []:*?/\\, at most 31 characters, each used once."""
    names: list[str] = []
    for title in titles:
        base = _NOT_IN_SHEET_NAMES.sub(" ", title).strip(" .'")[:SHEET_NAME].strip() or "Sheet"
        name, n = base, 1
        while name.casefold() in (taken.casefold() for taken in names):
            n += 1
            name = f"{base[: SHEET_NAME - len(str(n)) - 1]} {n}"
        names.append(name)
    return names


def workbook(lang: Language, report: WinLossReport) -> bytes:
    """The tables as an .xlsx, one sheet each. Text is stored as text whatever it begins with (a spreadsheet
    library would take `=…` for a formula), names with the same guard as the CSV; numbers as numbers."""
    book = Workbook()
    book.remove(book.active)
    found = report_tables(lang, report)
    for table, name in zip(found, _sheet_names([table.title for table in found]), strict=True):
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet.append(table.header)
        for row in table.rows:
            sheet.append([None] * len(row))
            for column, cell in enumerate(row, start=1):
                target = sheet.cell(row=sheet.max_row, column=column)
                if isinstance(cell, Number):
                    target.value = cell.value
                    target.number_format = "0" if cell.places is None else "0." + "0" * cell.places
                elif cell is not None:
                    target.value = cell
                    target.data_type = "s"
        for row_cells in sheet.iter_rows(min_row=1, max_row=2):
            for header_cell in row_cells:
                header_cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file_name(where: ReportFilter, currency: str | None, suffix: str) -> str:
    span = "-".join(day.isoformat() if day else "all" for day in (where.date_from, where.date_to))
    return f"dealdesk-win-loss-tables-{currency or 'none'}-{span}.{suffix}"


@router.get(TABLES)
def win_loss_tables(query: Annotated[ReportQuery, Query()], view: View, uow: UowDep) -> Response:
    """The report the page shows, as readable CSV tables (UTF-8 with a byte order mark, for spreadsheets)."""
    chosen = resolve(query, uow.clock.today())
    report = reports.win_loss(uow, chosen.where)
    out = io.StringIO()
    csv.writer(out).writerows(tables(view.language, report))
    name = _file_name(chosen.where, report.currency, "csv")
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept-Language, Cookie"},
    )


@router.get(WORKBOOK)
def win_loss_workbook(query: Annotated[ReportQuery, Query()], view: View, uow: UowDep) -> Response:
    """The same tables as an .xlsx workbook with a sheet per table."""
    chosen = resolve(query, uow.clock.today())
    report = reports.win_loss(uow, chosen.where)
    name = _file_name(chosen.where, report.currency, "xlsx")
    return Response(
        workbook(view.language, report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept-Language, Cookie"},
    )
