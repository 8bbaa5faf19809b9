"""The database itself holds I2 and I3 and the references between records (SPEC §6): rows written straight in SQL,
past every rule in the code, are refused by the database on both engines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Connection, Engine, exc, insert, select, update

from dealdesk.db import tables as t
from dealdesk.domain.states import Outcome
from tests.integration.builders import Desk

Write = Callable[[Connection], Any]


def _refused(engine: Engine, write: Write) -> None:
    """The write fails, at once or when the transaction commits (deferred keys), and leaves nothing behind."""
    with pytest.raises(exc.IntegrityError), engine.begin() as conn:
        write(conn)


def _row(conn: Connection, table: Any, row_id: Any) -> dict[str, Any]:
    return dict(conn.execute(select(table).where(table.c.id == row_id)).mappings().one())


def test_a_second_standing_close_record_of_one_opportunity_is_refused(engine: Engine, desk: Desk) -> None:
    opportunity = desk.opportunity()
    close = desk.close(opportunity.id).close

    def second_standing_close(conn: Connection) -> None:
        conn.execute(insert(t.opportunity_closes), [{**_row(conn, t.opportunity_closes, close.id), "id": uuid4()}])

    _refused(engine, second_standing_close)
    assert len(desk.closes_of(opportunity.id)) == 1


def test_a_reopened_close_record_beside_the_standing_one_is_allowed(engine: Engine, desk: Desk) -> None:
    opportunity = desk.opportunity()
    close = desk.close(opportunity.id).close
    with engine.begin() as conn:
        row = _row(conn, t.opportunity_closes, close.id)
        conn.execute(insert(t.opportunity_closes), [{**row, "id": uuid4(), "reopened_at": row["closed_at"]}])
    assert len(desk.closes_of(opportunity.id)) == 2


def test_a_second_won_quote_of_one_opportunity_is_refused(engine: Engine, desk: Desk) -> None:
    opportunity = desk.opportunity()
    won = desk.win(desk.active(opportunity.id).id).quote
    other = desk.draft(opportunity.id, name="Another")

    def second_won_quote(conn: Connection) -> None:
        conn.execute(update(t.quotes).where(t.quotes.c.id == other.id).values(state="won", status_reason="won"))

    _refused(engine, second_won_quote)
    assert [q.id for q in desk.quotes_of(opportunity.id) if q.state.value == "won"] == [won.id]


def test_a_lost_opportunity_with_a_won_quote_is_refused(engine: Engine, desk: Desk) -> None:
    opportunity = desk.opportunity()
    desk.win(desk.active(opportunity.id).id)

    def lose_it(conn: Connection) -> None:
        conn.execute(
            update(t.opportunities)
            .where(t.opportunities.c.id == opportunity.id)
            .values(state="lost", status_reason="canceled")
        )

    _refused(engine, lose_it)
    assert desk.read(opportunity.id).state.value == "open"


@pytest.mark.parametrize("column", ["won_quote_id", "contract_id"])
def test_an_opportunity_naming_a_quote_or_contract_that_does_not_exist_is_refused_at_commit(
    engine: Engine, desk: Desk, column: str
) -> None:
    opportunity = desk.opportunity()
    _refused(
        engine,
        lambda conn: conn.execute(
            update(t.opportunities).where(t.opportunities.c.id == opportunity.id).values({column: uuid4()})
        ),
    )


@pytest.mark.parametrize("column", ["won_quote_id", "owner_id", "account_id", "closed_by", "reopened_by"])
def test_a_close_record_naming_a_record_that_does_not_exist_is_refused(engine: Engine, desk: Desk, column: str) -> None:
    opportunity = desk.opportunity()
    close = desk.close(opportunity.id, Outcome.WON).close
    _refused(
        engine,
        lambda conn: conn.execute(
            update(t.opportunity_closes).where(t.opportunity_closes.c.id == close.id).values({column: uuid4()})
        ),
    )


@pytest.mark.parametrize(
    ("table", "changes"),
    [
        ("opportunities", {"estimated_revenue": -1}),
        ("opportunities", {"currency": "usd"}),
        ("opportunities", {"state": "won", "status_reason": "canceled"}),
        ("opportunities", {"state": "archived"}),
        ("opportunity_closes", {"close_date": date(1, 1, 1)}),
        ("opportunity_closes", {"actual_revenue": -5}),
        ("opportunity_closes", {"outcome": "lost", "status_reason": "won"}),
    ],
)
def test_rows_breaking_a_cheap_check_are_refused(
    engine: Engine, desk: Desk, table: str, changes: dict[str, Any]
) -> None:
    opportunity = desk.opportunity()
    close = desk.close(opportunity.id).close
    target = t.metadata.tables[table]
    row_id = opportunity.id if table == "opportunities" else close.id
    _refused(engine, lambda conn: conn.execute(update(target).where(target.c.id == row_id).values(changes)))


def test_a_draft_quote_may_total_below_zero_but_an_active_one_may_not(engine: Engine, desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)
    active = desk.active(opportunity.id, name="Active")
    with engine.begin() as conn:
        conn.execute(update(t.quotes).where(t.quotes.c.id == draft.id).values(total_amount=-1))
    _refused(
        engine, lambda conn: conn.execute(update(t.quotes).where(t.quotes.c.id == active.id).values(total_amount=-1))
    )
