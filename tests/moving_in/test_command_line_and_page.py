"""`dealdesk export` / `dealdesk import`, and the Import / export page: the same use cases behind a command line
and a form, each reporting every bad row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from dealdesk.cli.app import app as cli
from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.services.moving import Kind
from dealdesk.web.app import create_app
from tests.moving_in.conftest import Mover, csv_text
from tests.web_sign_in import sign_in

BOM = "\ufeff"
PASSWORD = "moving in at last"
TITLE_ZH = "匯入\uff0f匯出"  # "Import / export", with a full-width solidus
BAD_ACCOUNTS = csv_text("external_id,name", "ACC-9,", "ACC-10,Fine", "ACC-10,Twice")


@pytest.fixture
def command_line(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> CliRunner:
    monkeypatch.setenv("DEALDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DEALDESK_DEFAULT_USER", "admin")
    return CliRunner()


def test_the_command_line_exports_imports_dry_runs_and_refuses_a_bad_file_with_exit_1(
    command_line: CliRunner, mover: Mover, tmp_path: Path
) -> None:
    mover.import_(Kind.ACCOUNTS, csv_text("external_id,name", "ACC-1,Acme"))
    exported = tmp_path / "accounts.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_ACCOUNTS, encoding="utf-8")

    export = command_line.invoke(cli, ["export", "accounts", str(exported)])
    dry_run = command_line.invoke(cli, ["import", "accounts", str(exported), "--dry-run"])
    refused = command_line.invoke(cli, ["import", "accounts", str(bad)])

    assert export.exit_code == 0, export.output
    assert exported.read_bytes().decode("utf-8").startswith(BOM + "external_id,name,created_at\r\nACC-1,Acme,")
    assert dry_run.exit_code == 0, dry_run.output
    assert "would import 0 accounts, 1 already in dealdesk and unchanged" in dry_run.output
    assert refused.exit_code == 1
    assert "import_refused" in refused.output
    problems = (tmp_path / "bad.problems.csv").read_text(encoding="utf-8-sig").splitlines()
    assert problems == ["line,column,reason", "2,name,is required", "4,external_id,is on line 3 already"]
    assert mover.count(tables.accounts) == 1


@pytest.fixture
def browser(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A manager signed in to the web UI with a password, as a person at the Import / export page is."""
    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    auth.add_user(uow, "morgan", Role.MANAGER, password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        signed_in = sign_in(client, "morgan", PASSWORD, next_path="/moving")
        assert signed_in.status_code == 303, signed_in.text
        yield client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_page_lists_every_bad_row_of_an_upload_and_imports_nothing(browser: TestClient, mover: Mover) -> None:
    page = browser.get("/moving")
    upload = {"file": ("accounts.csv", BAD_ACCOUNTS.encode(), "text/csv")}

    answer = browser.post("/moving/import", data={"kind": "accounts", "csrf_token": _csrf(page.text)}, files=upload)

    assert answer.status_code == 422
    cells = re.findall(r"<td[^>]*>(?:<code[^>]*>)?(.*?)(?:</code>)?</td>", answer.text)
    assert cells[:6] == ["2", "name", "is required", "4", "external_id", "is on line 3 already"]
    assert "Nothing was imported" in answer.text
    assert mover.count(tables.accounts) == 0


def test_the_page_gives_each_bad_rows_reason_in_chinese_to_a_chinese_reader(browser: TestClient, mover: Mover) -> None:
    zh = {"Accept-Language": "zh-HK"}
    page = browser.get("/moving", headers=zh)
    upload = {"file": ("accounts.csv", BAD_ACCOUNTS.encode(), "text/csv")}

    answer = browser.post(
        "/moving/import", data={"kind": "accounts", "csrf_token": _csrf(page.text)}, files=upload, headers=zh
    )

    assert answer.status_code == 422
    cells = re.findall(r"<td[^>]*>(?:<code[^>]*>)?(.*?)(?:</code>)?</td>", answer.text)
    assert cells[:6] == ["2", "name", "必須填寫", "4", "external_id", "已在第 3 行出現"]
    assert 'lang="en"' not in answer.text.split('class="table problem-table"')[1].split("</table>")[0]


def test_the_page_imports_a_good_upload_and_offers_every_kind_for_download(browser: TestClient, mover: Mover) -> None:
    page = browser.get("/moving")
    upload = {"file": ("accounts.csv", (BOM + "external_id,name\nACC-1,九龍巴士\n").encode(), "text/csv")}

    checked = browser.post(
        "/moving/import", data={"kind": "accounts", "dry_run": "1", "csrf_token": _csrf(page.text)}, files=upload
    )
    imported = browser.post("/moving/import", data={"kind": "accounts", "csrf_token": _csrf(page.text)}, files=upload)
    download = browser.get("/moving/export/accounts.csv")

    assert "Checked 1 row: 1 new, 0 already in dealdesk." in checked.text
    assert "Imported 1 row: 1 new, 0 already in dealdesk." in imported.text
    assert all(f'href="/moving/export/{kind.value}.csv"' in page.text for kind in Kind)
    assert download.headers["content-disposition"].startswith('attachment; filename="dealdesk-accounts-')
    assert download.content.decode("utf-8").startswith(BOM + "external_id,name,created_at\r\nACC-1,九龍巴士,")


def test_the_page_speaks_traditional_chinese_and_is_linked_from_the_top_bar(browser: TestClient) -> None:
    page = browser.get("/moving", headers={"Accept-Language": "zh-HK"})

    assert f"<h1>{TITLE_ZH}</h1>" in page.text
    assert f'<a href="/moving" aria-current="page">{TITLE_ZH}</a>' in page.text
