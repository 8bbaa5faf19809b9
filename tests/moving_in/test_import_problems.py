"""Import checks every row and reports every bad one with its line, column and reason; one bad row and nothing is
written. Rows go through the same rules as live records: a closed deal with an active quote is refused."""

from __future__ import annotations

import pytest

from dealdesk.db import tables
from dealdesk.domain.errors import Forbidden
from dealdesk.services.moving import Kind
from tests.moving_in.conftest import Mover, csv_text

ACCOUNTS = csv_text("external_id,name", "ACC-1,Acme Engineering", "ACC-2,Harbour Ltd")
OPPORTUNITY_HEADER = "external_id,name,account_external_id,estimated_revenue,estimated_close_date,state,status_reason"
QUOTE_HEADER = (
    "external_id,opportunity_external_id,number,revision,name,state,status_reason,closed_on,"
    "line,line_description,line_quantity,line_unit_price"
)
CLOSE_HEADER = "external_id,opportunity_external_id,outcome,status_reason,close_date,actual_revenue"


def test_every_bad_row_is_reported_with_its_line_column_and_reason_and_nothing_is_written(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    file = csv_text(
        OPPORTUNITY_HEADER,
        "OPP-1,Fine deal,ACC-1,1000.00,2031-01-31,open,in_progress",
        "OPP-2,Leap day that is not,ACC-1,1000.00,2031-02-29,open,",
        "OPP-3,Negative money,ACC-2,-250.00,,open,",
        "OPP-4,Nobody's account,ACC-404,10.00,,open,",
        "OPP-5,Day first,ACC-2,10.00,31/01/2031,open,",
        "OPP-6,Too precise,ACC-2,10.005,,open,on_hold",
    )

    report = mover.import_(Kind.OPPORTUNITIES, file)

    assert not report.ok and not report.written
    reasons = {(p.line, p.column): p.reason for p in report.problems}
    assert reasons == {
        (3, "estimated_close_date"): "is not a real calendar date",
        (4, "estimated_revenue"): "must not be negative",
        (5, "account_external_id"): "no such account in dealdesk: import accounts first",
        (6, "estimated_close_date"): "must be a date as YYYY-MM-DD",
        (7, "estimated_revenue"): "must have at most 2 decimals",
    }
    assert report.problem_count == 5
    assert mover.count(tables.opportunities) == 0, "one bad row and not even the good ones are written"


def test_a_closed_opportunity_with_an_active_quote_is_refused_naming_the_quote(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, csv_text(OPPORTUNITY_HEADER, "OPP-1,Depot,ACC-1,900.00,,lost,canceled"))
    quotes = mover.import_(
        Kind.QUOTES, csv_text(QUOTE_HEADER, "QUO-1,OPP-1,Q-00100,0,Sensors,active,open,,1,Sensor,3,300.00")
    )
    assert quotes.ok and quotes.created == 1

    report = mover.import_(Kind.CLOSES, csv_text(CLOSE_HEADER, "CLO-1,OPP-1,lost,canceled,2024-03-01,0.00"))

    assert mover.problems(report) == [(2, "outcome")]
    assert report.problems[0].reason.startswith("active_quotes_block_close:")
    assert "Q-00100 rev 0" in report.problems[0].reason
    assert mover.count(tables.opportunity_closes) == 0
    with mover.engine.connect() as conn:
        assert conn.execute(tables.opportunities.select()).one().state == "open"


def test_a_quote_that_is_active_beside_a_won_one_is_refused_with_the_rule_that_forbids_it(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, csv_text(OPPORTUNITY_HEADER, "OPP-1,Depot,ACC-1,900.00,,open,in_progress"))
    file = csv_text(
        QUOTE_HEADER,
        "QUO-1,OPP-1,Q-00100,0,Chosen,won,won,2024-03-01,1,Sensor,3,300.00",
        "QUO-2,OPP-1,Q-00101,0,Left open,active,open,,1,Sensor,3,290.00",
    )

    report = mover.import_(Kind.QUOTES, file)

    assert mover.problems(report) == [(3, "state")]
    assert "winning Q-00100 closes every other draft or active quote as lost" in report.problems[0].reason
    assert mover.count(tables.quotes) == 0
    assert mover.count(tables.contracts) == 0


def test_a_lost_close_of_a_deal_whose_quote_was_won_is_refused(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, csv_text(OPPORTUNITY_HEADER, "OPP-1,Depot,ACC-1,900.00,,lost,out_sold"))
    mover.import_(Kind.QUOTES, csv_text(QUOTE_HEADER, "QUO-1,OPP-1,Q-7,0,Won,won,won,2024-03-01,1,Sensor,3,300.00"))

    report = mover.import_(Kind.CLOSES, csv_text(CLOSE_HEADER, "CLO-1,OPP-1,lost,out_sold,2024-03-02,"))

    assert mover.problems(report) == [(2, "outcome")]
    assert report.problems[0].reason.startswith("won_quote_requires_won_close:")


def test_a_header_that_does_not_fit_the_kind_stops_the_import_before_any_row(mover: Mover) -> None:
    report = mover.import_(Kind.ACCOUNTS, csv_text("external_id,nmae", "ACC-1,Acme"))

    assert mover.problems(report) == [(1, "nmae"), (1, "name")]
    assert report.problems[1].reason == "is a required column but the header lacks it"
    assert report.rows == 0


def test_quote_lines_and_totals_must_add_up_as_dealdesk_computes_them(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, csv_text(OPPORTUNITY_HEADER, "OPP-1,Depot,ACC-1,900.00,,open,"))
    file = csv_text(
        QUOTE_HEADER + ",total_amount,line_amount",
        "QUO-1,OPP-1,Q-1,0,Two lines,draft,,,1,Design,1.5,100.00,250.00,150.00",
        "QUO-1,OPP-1,Q-1,0,Two lines,draft,,,2,Build,1,100.00,250.00,99.00",
        "QUO-2,OPP-1,Q-2,0,Wrong total,draft,,,1,Design,2,100.00,150.00,200.00",
        "QUO-3,OPP-1,Q-3,0,Nothing,draft,,,1,Design,0,100.00,,",
    )

    report = mover.import_(Kind.QUOTES, file)

    assert mover.problems(report) == [(3, "line_amount"), (4, "total_amount"), (5, "line_quantity")]
    assert [p.reason for p in report.problems] == [
        "is not quantity x unit price, rounded to cents (100.00)",
        "is not the sum of the line amounts (200.00)",
        "must be greater than 0",
    ]


def test_a_dry_run_reports_what_an_import_would_do_and_writes_nothing(mover: Mover) -> None:
    report = mover.import_(Kind.ACCOUNTS, ACCOUNTS, dry_run=True)

    assert report.ok and report.dry_run and not report.written
    assert (report.rows, report.created) == (2, 2)
    assert mover.count(tables.accounts) == 0
    assert mover.count(tables.audit_entries) == 0


def test_a_row_that_differs_from_the_record_it_names_is_refused_rather_than_overwriting_it(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)

    report = mover.import_(Kind.ACCOUNTS, csv_text("external_id,name", "ACC-1,Acme Engineering", "ACC-2,Renamed"))

    assert mover.problems(report) == [(3, "external_id")]
    assert "other values (name)" in report.problems[0].reason
    with mover.engine.connect() as conn:
        names = set(conn.execute(tables.accounts.select().with_only_columns(tables.accounts.c.name)).scalars())
    assert names == {"Acme Engineering", "Harbour Ltd"}


def test_only_managers_and_admins_may_import(mover: Mover) -> None:
    with mover.uow.transaction():
        seller = mover.uow.users.ensure("mei", "sales")

    with pytest.raises(Forbidden):
        mover.import_(Kind.ACCOUNTS, ACCOUNTS, actor=seller)


def test_a_revision_is_imported_only_with_the_revisions_before_it_and_a_revised_one_only_with_the_next(
    mover: Mover,
) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, csv_text(OPPORTUNITY_HEADER, "OPP-1,Depot,ACC-1,900.00,,open,"))
    file = csv_text(
        QUOTE_HEADER,
        "QUO-1,OPP-1,Q-1,1,Second take,draft,,,1,Sensor,3,300.00",
        "QUO-2,OPP-1,Q-2,0,First take,closed,revised,2024-03-01,1,Sensor,3,300.00",
    )

    report = mover.import_(Kind.QUOTES, file)

    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "revision", "needs revision 0 of Q-1 in the same file: revisions are imported together"),
        (3, "status_reason", "a revised quote needs its next revision in the file"),
    ]
