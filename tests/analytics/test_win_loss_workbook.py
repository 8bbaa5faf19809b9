"""The win/loss report as an .xlsx workbook for people: a sheet per table, labels in the reader's language, names
guarded against formulas as in the CSV and stored as text, numbers stored as numbers (SPEC §7)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services import auth, catalogue
from dealdesk.web.app import create_app
from tests.analytics.conftest import History
from tests.web_sign_in import sign_in

PASSWORD = "correct horse battery"
FIRST_QUARTER = "period=custom&from=2026-01-01&to=2026-03-31"
FORMULA = '=HYPERLINK("http://evil.example","Rival")'


@pytest.fixture
def client(engine: Engine, settings: Settings, history: History) -> Iterator[TestClient]:
    issued = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "vera", Role.VIEWER, password=PASSWORD)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {issued.token}"}) as client:
        assert sign_in(client, "vera", PASSWORD).status_code == 303
        yield client


def _rows(sheet: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_workbook_has_a_sheet_per_table_with_names_kept_as_guarded_text_and_numbers_as_numbers(
    client: TestClient, uow: SqlUnitOfWork, admin: Actor
) -> None:
    api = client.get("/api/reports/win-loss", params={"from": "2026-01-01", "to": "2026-03-31"}).json()
    rival = next(line for line in api["by_competitor"] if line["name"] == "Rival Ltd")
    catalogue.update_competitor(
        uow, UUID(rival["competitor_id"]), catalogue.CompetitorChanges(name=FORMULA), actor=admin
    )

    download = client.get(f"/reports/win-loss-tables.xlsx?{FIRST_QUARTER}")

    assert download.status_code == 200
    assert download.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"] == (
        'attachment; filename="dealdesk-win-loss-tables-USD-2026-01-01-2026-03-31.xlsx"'
    )
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames[:2] == ["Summary", "Lost closes by status reason"]
    assert len(book.sheetnames) == 9 and all(len(name) <= 31 for name in book.sheetnames)
    summary = _rows(book["Summary"])
    assert summary[0][0] == "Summary"
    assert summary[2][0] == "USD"
    assert summary[2][1:3] == [api["won_count"], api["lost_count"]]
    assert all(isinstance(value, int | float | Decimal) for value in summary[2][1:])
    assert Decimal(str(summary[2][4])) == Decimal(api["won_revenue"])
    competitors = book["Competitors"]
    named = [row for row in competitors.iter_rows(min_row=3) if row[0].value == "'" + FORMULA]
    assert len(named) == 1, _rows(competitors)
    assert named[0][0].data_type == "s"
    assert named[0][1].data_type == "n" and named[0][1].value == rival["won_count"]
    assert Decimal(str(named[0][3].value)) == Decimal(rival["won_revenue"])


def test_the_workbook_speaks_the_readers_language(client: TestClient) -> None:
    download = client.get(f"/reports/win-loss-tables.xlsx?{FIRST_QUARTER}", headers={"Accept-Language": "zh-HK"})

    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames[0] == "摘要"
    assert "競爭對手" in book.sheetnames
    assert _rows(book["競爭對手"])[1][0] == "競爭對手"


def test_the_page_links_the_workbook_beside_the_csv_tables(client: TestClient) -> None:
    html = client.get(f"/reports/win-loss?{FIRST_QUARTER}").text

    assert (
        'href="/reports/win-loss-tables.xlsx?period=custom&amp;from=2026-01-01&amp;to=2026-03-31&amp;currency=USD"'
        in html
    )
