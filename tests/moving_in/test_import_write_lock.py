"""A large import does not hold SQLite's one writer while it checks its rows (issue 12): every row is checked in a
read transaction first, and only what passed is written, in one short write transaction. Whatever changed in
between is caught when writing, and refuses the whole import (all or nothing, SPEC §6 I5)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, insert, select

from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.states import OpportunityStatus, Outcome
from dealdesk.services import catalogue, closing
from dealdesk.services.import_support import CHUNK
from dealdesk.services.moving import Kind
from tests.moving_in.conftest import Mover, csv_text

QUOTE_HEADER = (
    "external_id,opportunity_external_id,number,revision,name,state,line,line_description,line_quantity,line_unit_price"
)


@pytest.fixture
def other_uow(settings: Settings) -> Iterator[SqlUnitOfWork]:
    """Another user's unit of work, on its own engine (its own connections and writer queue), which gives up on
    SQLite's writer after one second instead of thirty."""
    other = make_engine(Settings(database_url=settings.database_url, sqlite_busy_timeout_ms=1000))
    yield SqlUnitOfWork(other, SystemClock(settings.zone))
    other.dispose()


def accounts_file(count: int, *, first: int = 0) -> str:
    return csv_text("external_id,name", *(f"ACC-{n:06d},Account {n}" for n in range(first, first + count)))


def test_another_user_can_write_while_an_import_checks_its_rows(
    mover: Mover, other_uow: SqlUnitOfWork, admin: Actor
) -> None:
    waits: list[float] = []

    def another_user_writes(rows: int) -> None:
        started = time.perf_counter()
        catalogue.create_account(other_uow, name=f"Made meanwhile {len(waits)}", actor=admin)
        waits.append(time.perf_counter() - started)

    report = mover.import_(Kind.ACCOUNTS, accounts_file(CHUNK + 10), on_rows=another_user_writes)

    assert report.ok and report.written and report.created == CHUNK + 10
    assert len(waits) == 2, "one write after each chunk of rows checked"
    assert max(waits) < 0.9, f"the other user waited {max(waits):.2f} s for the import's writer lock"
    assert mover.count(tables.accounts) == CHUNK + 10 + 2


def test_a_record_made_with_the_same_external_id_between_check_and_write_refuses_the_whole_import(
    mover: Mover, engine: Engine
) -> None:
    def someone_takes_an_external_id() -> None:
        with engine.begin() as conn:
            at = mover.uow.clock.now()
            row = {"name": "Quick hands", "external_id": "ACC-001500", "created_at": at, "updated_at": at}
            conn.execute(insert(tables.accounts).values(id=uuid.uuid4(), **row))

    report = mover.import_(Kind.ACCOUNTS, accounts_file(2000), on_checked=someone_takes_an_external_id)

    assert not report.ok and not report.written
    assert [(p.line, p.column) for p in report.problems] == [(1, "")]
    assert report.problems[0].reason.startswith("changed_while_importing: ")
    assert "run the import again" in report.problems[0].reason
    with engine.connect() as conn:
        names = conn.execute(select(tables.accounts.c.name)).scalars().all()
        audited = conn.execute(select(tables.audit_entries.c.id).where(tables.audit_entries.c.record_type == "account"))
        assert names == ["Quick hands"], "not one account of the file was written, not even the earlier chunks"
        assert audited.first() is None


def test_a_deal_closed_between_check_and_write_refuses_its_quotes_import_with_the_rule_that_now_fails(
    mover: Mover, other_uow: SqlUnitOfWork, admin: Actor
) -> None:
    mover.import_(Kind.ACCOUNTS, csv_text("external_id,name", "ACC-1,Acme"))
    mover.import_(
        Kind.OPPORTUNITIES,
        csv_text("external_id,name,account_external_id,estimated_revenue", "OPP-1,Depot,ACC-1,900.00"),
    )
    with mover.engine.connect() as conn:
        deal_id = conn.execute(select(tables.opportunities.c.id)).scalar_one()

    def someone_closes_the_deal() -> None:
        lost = CloseDetails(outcome=Outcome.LOST, close_date=date.today(), status_reason=OpportunityStatus.CANCELED)
        closing.close_opportunity(other_uow, deal_id, lost, actor=admin)

    quotes = csv_text(QUOTE_HEADER, "QUO-1,OPP-1,Q-00100,0,Sensors,draft,1,Sensor,3,300.00")
    report = mover.import_(Kind.QUOTES, quotes, on_checked=someone_closes_the_deal)

    assert not report.ok and not report.written
    assert report.problems[0].reason.startswith("changed_while_importing: records changed in dealdesk")
    assert "line 2, state: opportunity_not_open" in report.problems[0].reason
    assert mover.count(tables.quotes) == 0


def test_an_external_id_repeated_in_a_later_chunk_is_reported_at_its_line(mover: Mover) -> None:
    rows = accounts_file(CHUNK + 5).splitlines()
    file = "\n".join([*rows, "ACC-000003,Account 3"]) + "\n"

    report = mover.import_(Kind.ACCOUNTS, file)

    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (CHUNK + 7, "external_id", "is on line 5 already")
    ]
    assert mover.count(tables.accounts) == 0


def test_a_competitor_name_planned_in_an_earlier_chunk_is_refused_in_a_later_one(mover: Mover) -> None:
    rows = [f"COMP-{n},Rival {n}" for n in range(CHUNK)]
    file = csv_text("external_id,name", *rows, "COMP-X,RIVAL 7")

    report = mover.import_(Kind.COMPETITORS, file)

    assert [(p.line, p.column) for p in report.problems] == [(CHUNK + 2, "name")]
    assert mover.count(tables.competitors) == 0


def test_a_dry_run_neither_writes_nor_calls_the_write_hook(mover: Mover) -> None:
    called: list[bool] = []

    report = mover.import_(Kind.ACCOUNTS, accounts_file(3), dry_run=True, on_checked=lambda: called.append(True))

    assert report.ok and not report.written and report.created == 3
    assert called == [] and mover.count(tables.accounts) == 0


def test_a_quote_number_two_deals_of_one_file_use_is_refused_at_the_second(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, csv_text("external_id,name", "ACC-1,Acme"))
    mover.import_(
        Kind.OPPORTUNITIES,
        csv_text(
            "external_id,name,account_external_id,estimated_revenue",
            "OPP-1,Depot,ACC-1,900.00",
            "OPP-2,Dock,ACC-1,9.00",
        ),
    )
    quotes = csv_text(
        QUOTE_HEADER,
        "QUO-1,OPP-1,Q-00100,0,Sensors,draft,1,Sensor,3,300.00",
        "QUO-2,OPP-2,Q-00100,0,Cranes,draft,1,Crane,1,9.00",
    )

    report = mover.import_(Kind.QUOTES, quotes)

    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (3, "revision", "Q-00100 revision 0 is on line 2 too")
    ]
    assert mover.count(tables.quotes) == 0
