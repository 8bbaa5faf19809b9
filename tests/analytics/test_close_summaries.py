"""The win/loss report reads the sums of months that are over (db/close_summaries.py) and gives the same figures as
when it groups every close; a month whose closes change after it was summed is marked stale by the database itself
and grouped from its closes again until it is summed anew. On SQLite and PostgreSQL, over the hand-made history of
tests/analytics/conftest.py (December 2025 to March 2026)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text, update
from typer.testing import CliRunner

from dealdesk.cli.app import app as cli
from dealdesk.config import Settings
from dealdesk.db import tables as t
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.states import Outcome
from dealdesk.services import closing
from dealdesk.services.housekeeping import sum_past_months
from dealdesk.web.app import create_app
from tests.analytics.conftest import Desk, History
from tests.analytics.test_win_loss_quotes import lost_quote
from tests.analytics.test_win_loss_report import report

RANGES: list[dict[str, Any]] = [
    {},
    {"date_from": date(2026, 1, 1), "date_to": date(2026, 3, 31)},
    {"date_from": date(2026, 2, 1), "date_to": date(2026, 2, 28)},
    {"date_from": date(2026, 1, 21), "date_to": date(2026, 3, 10)},
    {"date_from": date(2026, 2, 15)},
    {"date_to": date(2026, 2, 14)},
    {"currency": "EUR"},
    {"currency": "EUR", "date_from": date(2026, 2, 11)},
]
"""Whole months, parts of months at either end, open ends, and the other currency."""


def _months(engine: Engine, table: Any) -> list[date]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(table.c.month)).scalars())


def _stale(engine: Engine) -> list[date]:
    return _months(engine, t.close_summary_stale)


def _summed(engine: Engine) -> list[date]:
    return _months(engine, t.close_summary_months)


def _forget_stale_marks(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(t.close_summary_stale.delete())


def _sum(desk: Desk, day: date = date(2026, 4, 15)) -> int:
    return sum_past_months(desk.on(day))


def test_the_report_of_summed_months_has_the_figures_of_their_closes(desk: Desk, history: History) -> None:
    uow = desk.on(date(2026, 4, 15))
    grouped = {index: report(uow, **where) for index, where in enumerate(RANGES)}
    owner_and_account = [report(uow, owner_id=history.sam.id), report(uow, account_id=history.kowloon)]

    assert _sum(desk) == 4
    assert _summed(desk.engine) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert _stale(desk.engine) == []
    for index, where in enumerate(RANGES):
        assert report(uow, **where) == grouped[index], where
    assert [report(uow, owner_id=history.sam.id), report(uow, account_id=history.kowloon)] == owner_and_account


def test_the_report_reads_the_sums_of_whole_months_and_not_their_closes(desk: Desk, history: History) -> None:
    _sum(desk)
    with desk.engine.begin() as conn:  # a sum made wrong on purpose shows where the figures come from
        conn.execute(
            update(t.close_summaries)
            .where(t.close_summaries.c.month == date(2026, 3, 1), t.close_summaries.c.outcome == "won")
            .values(closes=t.close_summaries.c.closes + 10)
        )
    uow = desk.on(date(2026, 4, 15))

    assert report(uow, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))["won_count"] == 11
    assert report(uow, date_from=date(2026, 3, 2), date_to=date(2026, 3, 31))["won_count"] == 1  # not a whole month
    assert report(uow, owner_id=history.sam.id)["won_count"] == 1  # one owner's report reads no sums


def test_a_close_written_into_a_summed_month_marks_it_stale_and_counts_at_once(desk: Desk, history: History) -> None:
    _sum(desk)
    uow = desk.on(date(2026, 4, 15))
    before = report(uow, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28))

    late = desk.deal(date(2026, 2, 2), history.harbour)
    desk.close(late, Outcome.WON, date(2026, 2, 27), revenue="100.00")

    assert _stale(desk.engine) == [date(2026, 2, 1)]
    after = report(uow, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28))
    assert (after["won_count"], after["won_revenue"]) == (before["won_count"] + 1, "100.00")
    assert _sum(desk) == 1 and _stale(desk.engine) == []
    assert report(uow, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)) == after


def test_reopening_a_close_of_a_summed_month_takes_it_out_of_the_report_at_once(desk: Desk, history: History) -> None:
    _sum(desk)
    uow = desk.on(date(2026, 4, 15))
    march = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}
    assert report(uow, **march)["won_count"] == 1  # D5, won on 30 March

    with desk.engine.connect() as conn:
        deal = conn.execute(
            select(t.opportunity_closes.c.opportunity_id).where(
                t.opportunity_closes.c.close_date == date(2026, 3, 30), t.opportunity_closes.c.reopened_at.is_(None)
            )
        ).scalar_one()
    desk.reopen(deal)

    assert date(2026, 3, 1) in _stale(desk.engine)
    assert report(uow, **march)["won_count"] == 0


def test_any_write_to_a_past_months_close_marks_its_month_whichever_door_wrote_it(desk: Desk, history: History) -> None:
    _sum(desk)
    with desk.engine.begin() as conn:  # raw SQL, as a script or an operator might
        conn.execute(
            update(t.opportunity_closes)
            .where(t.opportunity_closes.c.close_date == date(2026, 1, 20))
            .values(close_date=date(2025, 12, 31))
        )

    assert _stale(desk.engine) == [date(2025, 12, 1), date(2026, 1, 1)]


def test_a_close_dated_in_the_current_month_marks_no_month(desk: Desk, history: History, admin: Actor) -> None:
    _forget_stale_marks(desk.engine)
    today = datetime.now(UTC).date()
    uow = desk.on(today)
    deal = desk.deal(today, history.harbour)
    closing.close_opportunity(
        uow, deal, CloseDetails(outcome=Outcome.WON, close_date=today, actual_revenue=Decimal("1.00")), actor=admin
    )

    assert _stale(desk.engine) == []


@pytest.mark.parametrize(
    ("day", "summed_to"),
    [(date(2026, 4, 1), date(2026, 2, 1)), (date(2026, 4, 2), date(2026, 2, 1)), (date(2026, 4, 3), date(2026, 3, 1))],
)
def test_a_month_is_summed_once_it_ended_two_days_ago(desk: Desk, history: History, day: date, summed_to: date) -> None:
    _sum(desk, day)

    assert _summed(desk.engine)[-1] == summed_to


def test_summing_again_sums_nothing_new_and_keeps_one_set_of_sums(desk: Desk, history: History) -> None:
    _sum(desk)
    with desk.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(t.close_summaries)).scalar_one()

    assert _sum(desk) == 0
    with desk.engine.begin() as conn:
        conn.execute(t.close_summary_stale.insert().values(month=date(2026, 1, 1)))
    assert _sum(desk) == 1
    with desk.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.close_summaries)).scalar_one() == rows


def test_dealdesk_db_summarise_sums_the_past_months(
    engine: Engine, history: History, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEALDESK_DATABASE_URL", settings.database_url)

    done = CliRunner().invoke(cli, ["db", "summarise"])

    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        first_month = conn.execute(text("SELECT min(month) FROM close_summary_months")).scalar_one()
    assert str(first_month).startswith("2025-12-01")
    assert "summed" in done.output


def test_a_running_server_sums_the_past_months_now_and_then(
    engine: Engine, history: History, settings: Settings
) -> None:
    with TestClient(create_app(settings.model_copy(update={"prune_every_s": 0.1}))):
        deadline = time.monotonic() + 20
        while date(2026, 3, 1) not in _summed(engine) and time.monotonic() < deadline:
            time.sleep(0.1)

    assert date(2026, 3, 1) in _summed(engine)


def test_lost_quotes_of_summed_months_are_counted_as_from_the_quotes_and_follow_their_deal_to_a_new_owner(
    desk: Desk, history: History
) -> None:
    harbour_deal = desk.deal(date(2026, 1, 3), history.harbour)
    sams_deal = desk.deal(date(2026, 1, 3), history.kowloon, owner=history.sam)
    lost_quote(desk, harbour_deal, "100.00", date(2026, 2, 1), competitor=history.rival)
    lost_quote(desk, harbour_deal, "50.50", date(2026, 3, 31), competitor=history.rival)
    lost_quote(desk, sams_deal, "70.00", date(2026, 1, 1), competitor=history.acme)
    uow = desk.on(date(2026, 4, 15))
    filters = [*RANGES, {"owner_id": history.sam.id}, {"owner_id": history.admin.id}, {"account_id": history.harbour}]
    grouped = [report(uow, **where)["quotes_by_competitor"] for where in filters]

    _sum(desk)

    assert [report(uow, **where)["quotes_by_competitor"] for where in filters] == grouped
    with desk.engine.begin() as conn:  # the deal changes hands by raw SQL: the database marks its quotes' months
        conn.execute(
            update(t.opportunities).where(t.opportunities.c.id == harbour_deal).values(owner_id=history.sam.id)
        )
    assert _stale(desk.engine) == [date(2026, 2, 1), date(2026, 3, 1)]
    sams = report(uow, owner_id=history.sam.id)["quotes_by_competitor"]
    assert {line["name"]: line["quotes_lost"] for line in sams} == {"acme Consulting": 1, "Rival Ltd": 2}
    _sum(desk)
    assert report(uow, owner_id=history.sam.id)["quotes_by_competitor"] == sams


def test_the_report_reads_the_sums_of_lost_quotes_for_whole_months(desk: Desk, history: History) -> None:
    deal = desk.deal(date(2026, 1, 3), history.harbour)
    lost_quote(desk, deal, "100.00", date(2026, 2, 1), competitor=history.rival)
    _sum(desk)
    with desk.engine.begin() as conn:
        conn.execute(update(t.quote_loss_summaries).values(quotes=t.quote_loss_summaries.c.quotes + 5))

    lines = report(desk.on(date(2026, 4, 15)), date_from=date(2026, 2, 1))["quotes_by_competitor"]

    assert [line["quotes_lost"] for line in lines] == [6]


def test_dealdesk_db_upgrade_sums_the_past_months_it_finds_unsummed(
    engine: Engine, history: History, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEALDESK_DATABASE_URL", settings.database_url)

    done = CliRunner().invoke(cli, ["db", "upgrade"])

    assert done.exit_code == 0, done.output
    assert date(2026, 3, 1) in _summed(engine)
    assert "months of closes for the win/loss report" in done.output
