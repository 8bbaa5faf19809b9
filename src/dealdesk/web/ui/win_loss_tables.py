"""The win/loss report as tables for people (one table per chart, headings and labels in the reader's language),
beside the machine CSV at /reports/win-loss.csv (codes and English, one figure a row). Names people typed are
guarded against spreadsheet formulas; numbers are plain so a spreadsheet can sum them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from dealdesk.domain.reporting import WinLossReport
from dealdesk.domain.states import Outcome
from dealdesk.services import reports
from dealdesk.services.spreadsheet_guard import guard_text
from dealdesk.web.deps import UowDep
from dealdesk.web.i18n import Language
from dealdesk.web.ui import labels
from dealdesk.web.ui.deps import View
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.win_loss import PAGE, ReportQuery, resolve

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TABLES = PAGE + "-tables.csv"
Row = list[str]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _rate(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def tables(lang: Language, report: WinLossReport) -> Iterator[Row]:
    """Each table: its title on a row of its own, a header row, its rows, then an empty row."""
    t, won, lost = lang.gettext, labels.label(lang, Outcome.WON), labels.label(lang, Outcome.LOST)
    currency = report.currency or ""

    def table(title: str, header: Row, rows: list[Row]) -> Iterator[Row]:
        yield [title]
        yield header
        yield from rows
        yield []

    yield from table(
        t("Summary"),
        [t("Currency"), t("Won closes"), t("Lost closes"), t("Win rate") + " (%)", t("Won revenue"), t("Lost revenue")],
        [
            [
                currency,
                str(report.won_count),
                str(report.lost_count),
                _rate(report.win_rate),
                _money(report.won_revenue),
                _money(report.lost_revenue),
            ]
        ],
    )
    yield from table(
        t("Lost closes by status reason"),
        [t("Status reason"), t("Closes"), t("Revenue")],
        [[labels.label(lang, s.status_reason), str(s.count), _money(s.revenue)] for s in report.by_status_reason],
    )
    yield from table(
        t("Reason details for won and lost closes."),
        [t("Reason detail"), t("Outcome"), t("Closes"), t("Revenue")],
        [
            [guard_text(r.name), labels.label(lang, r.outcome), str(r.count), _money(r.revenue)]
            for r in report.by_close_reason
        ],
    )
    split = [won, lost, f"{t('Revenue')} ({won})", f"{t('Revenue')} ({lost})"]
    yield from table(
        t("Competitors"),
        [t("Competitor"), *split],
        [
            [guard_text(name), str(x.won_count), str(x.lost_count), _money(x.won_revenue), _money(x.lost_revenue)]
            for _, name, x in report.by_competitor
        ],
    )
    yield from table(
        t("Win/loss by owner"),
        [t("Owner"), *split, t("Win rate") + " (%)"],
        [
            [
                guard_text(name),
                str(x.won_count),
                str(x.lost_count),
                _money(x.won_revenue),
                _money(x.lost_revenue),
                _rate(x.win_rate),
            ]
            for _, name, x in report.by_owner
        ],
    )
    yield from table(
        t("Quotes lost to competitors"),
        [t("Competitor"), t("Quotes lost"), t("Amount of quotes lost")],
        [[guard_text(q.name), str(q.quotes_lost), _money(q.quotes_lost_amount)] for q in report.quotes_by_competitor],
    )
    yield from table(
        t("Closes per month"),
        [t("Month"), *split],
        [
            [month, str(x.won_count), str(x.lost_count), _money(x.won_revenue), _money(x.lost_revenue)]
            for month, x in report.by_month
        ],
    )
    days = [_optional(report.avg_days_won), _optional(report.avg_days_lost)]
    yield from table(t("Average days to close"), [won, lost], [days])
    yield from table(t("Reopened closes"), [t("Closes")], [[str(report.reopened_count)]])


def _optional(value: Decimal | None) -> str:
    return "" if value is None else str(value)


@router.get(TABLES)
def win_loss_tables(query: Annotated[ReportQuery, Query()], view: View, uow: UowDep) -> Response:
    """The report the page shows, as readable CSV tables (UTF-8 with a byte order mark, for spreadsheets)."""
    chosen = resolve(query, uow.clock.today())
    report = reports.win_loss(uow, chosen.where)
    out = io.StringIO()
    csv.writer(out).writerows(tables(view.language, report))
    span = "-".join(day.isoformat() if day else "all" for day in (chosen.where.date_from, chosen.where.date_to))
    name = f"dealdesk-win-loss-tables-{report.currency or 'none'}-{span}.csv"
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept-Language, Cookie"},
    )
