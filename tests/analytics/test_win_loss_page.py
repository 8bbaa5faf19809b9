"""The win/loss page, its CSV download and the JSON API answer the same numbers for the hand-worked history."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.analytics.conftest import History
from tests.analytics.test_win_loss_report import Q1, report
from tests.web_sign_in import sign_in

PASSWORD = "correct horse battery"
FIRST_QUARTER = "period=custom&from=2026-01-01&to=2026-03-31"
SPEC_FIELDS = {
    "currency",
    "currencies",
    "won_count",
    "lost_count",
    "win_rate",
    "won_revenue",
    "lost_revenue",
    "by_status_reason",
    "by_close_reason",
    "by_competitor",
    "by_owner",
    "quotes_by_competitor",
    "by_month",
    "avg_days_to_close",
    "reopened_count",
}


@pytest.fixture
def client(engine: Engine, settings: Settings, history: History) -> Iterator[TestClient]:
    """A viewer signed in with a password, as on the web, who also holds an API token: reports are for everyone."""
    issued = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "vera", Role.VIEWER, password=PASSWORD)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {issued.token}"}) as client:
        signed_in = sign_in(client, "vera", PASSWORD)
        assert signed_in.status_code == 303, signed_in.text
        yield client


def test_the_api_answers_the_hand_worked_report_with_exactly_the_spec_fields(
    client: TestClient, uow: SqlUnitOfWork
) -> None:
    answer = client.get("/api/reports/win-loss", params={"from": "2026-01-01", "to": "2026-03-31"})

    assert answer.status_code == 200
    assert set(answer.json()) == SPEC_FIELDS
    assert answer.json() == report(uow, **Q1)


def _figures(text: str) -> dict[tuple[str, str, str], str]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "item", "item_id", "measure", "value"]
    return {(section, item, measure): value for section, item, _item_id, measure, value in rows[1:]}


def test_the_csv_download_holds_the_same_numbers_as_the_api(client: TestClient, history: History) -> None:
    api: dict[str, Any] = client.get("/api/reports/win-loss", params={"from": "2026-01-01", "to": "2026-03-31"}).json()

    download = client.get(f"/reports/win-loss.csv?{FIRST_QUARTER}")

    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == (
        'attachment; filename="dealdesk-win-loss-USD-2026-01-01-2026-03-31.csv"'
    )
    assert download.content.startswith(b"\xef\xbb\xbf"), "a byte order mark, so spreadsheets read UTF-8"
    figures = _figures(download.content.decode("utf-8-sig"))
    assert figures[("filter", "", "currency")] == "USD"
    assert (figures[("filter", "", "from")], figures[("filter", "", "to")]) == ("2026-01-01", "2026-03-31")
    for measure in ("won_count", "lost_count", "win_rate", "won_revenue", "lost_revenue", "reopened_count"):
        assert figures[("total", "", measure)] == str(api[measure]), measure
    assert figures[("total", "", "avg_days_to_close.won")] == "21.5"
    assert figures[("total", "", "avg_days_to_close.lost")] == "32.3"
    for line in api["by_status_reason"]:
        assert figures[("by_status_reason", line["status_reason"], "count")] == str(line["count"])
        assert figures[("by_status_reason", line["status_reason"], "revenue")] == line["revenue"]
    for line in api["by_close_reason"]:
        assert figures[("by_close_reason", line["name"], "outcome")] == line["outcome"]
        assert figures[("by_close_reason", line["name"], "count")] == str(line["count"])
    assert api["by_owner"], "the hand-worked history has owners"
    for section, key in (("by_competitor", "name"), ("by_owner", "name"), ("by_month", "month")):
        for line in api[section]:
            for measure in ("won_count", "lost_count", "won_revenue", "lost_revenue"):
                assert figures[(section, line[key], measure)] == str(line[measure]), (section, line[key], measure)


def test_the_page_draws_every_chart_beside_a_table_and_links_the_same_report_as_csv(client: TestClient) -> None:
    page = client.get(f"/reports/win-loss?{FIRST_QUARTER}")

    assert page.status_code == 200
    html = page.text
    assert html.count('role="img"') == 9
    tables = ("closes", "revenue", "lost-status", "lost-reason", "lost-to", "won-against", "owners", "days", "reopened")
    for table in tables:
        assert f'id="table-{table}"' in html
    assert 'href="/reports/win-loss.csv?period=custom&amp;from=2026-01-01&amp;to=2026-03-31&amp;currency=USD"' in html
    assert html.count('<th scope="row">') >= 3 + 3  # three months in each month table
    assert '<th scope="row">Jan 2026</th>' in html
    assert '<th scope="row" translate="no">sam</th>' in html  # an owner's row
    assert "No quote was lost to a competitor in this range." in html


def test_the_page_offers_the_other_currency_and_reports_it_when_chosen(client: TestClient) -> None:
    html = client.get(f"/reports/win-loss?{FIRST_QUARTER}&currency=EUR").text

    assert '<option value="EUR" translate="no" selected>EUR</option>' in html
    assert '<option value="USD" translate="no">USD</option>' in html
    assert "€3,000.00" in html


def test_an_htmx_filter_change_answers_the_report_region_and_its_address(client: TestClient) -> None:
    answer = client.get(f"/reports/win-loss?{FIRST_QUARTER}&owner=", headers={"HX-Request": "true"})

    assert answer.text.lstrip().startswith('<div id="report-screen"')
    assert answer.headers["hx-push-url"] == "/reports/win-loss?period=custom&from=2026-01-01&to=2026-03-31"


def test_a_visitor_who_has_not_signed_in_is_sent_to_sign_in(engine: Engine, settings: Settings) -> None:
    with TestClient(create_app(settings)) as anonymous:
        for path in ("/reports/win-loss", "/reports/win-loss.csv"):
            answer = anonymous.get(path, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/login")


def test_dates_that_cannot_be_read_are_named_and_not_applied(client: TestClient) -> None:
    html = client.get("/reports/win-loss?period=custom&from=2026-02-30&to=2026-01-01").text

    assert 'id="report-from-error"' in html
    assert "Enter a valid date, such as 2026-03-31." in html
    assert "Until Jan 1, 2026" in html


def test_a_range_typed_the_wrong_way_round_is_named_and_shown_the_right_way_round(client: TestClient) -> None:
    html = client.get("/reports/win-loss?period=custom&from=2026-03-01&to=2026-01-01").text

    assert "To is before From: the dates are the wrong way round" in html
    assert "Jan 1, 2026" in html and "Mar 1, 2026" in html
