"""Bulk close (SPEC §4): each opportunity closes or is refused on its own, every one is reported in the order given."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, select

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import Forbidden, ValidationFailed
from dealdesk.domain.states import Outcome, QuoteStatus
from dealdesk.services import closing
from tests.integration.builders import Desk
from tests.integration.db_facts import changed_tables, snapshot


def _rows_of(engine: Engine, opportunity_id: UUID) -> dict[str, object]:
    """Everything stored about one deal: its row, its quotes, their lines and its close records."""
    with engine.connect() as conn:
        quote_ids = select(t.quotes.c.id).where(t.quotes.c.opportunity_id == opportunity_id)
        return {
            "opportunity": conn.execute(select(t.opportunities).where(t.opportunities.c.id == opportunity_id)).all(),
            "quotes": conn.execute(
                select(t.quotes).where(t.quotes.c.opportunity_id == opportunity_id).order_by(t.quotes.c.number)
            ).all(),
            "lines": conn.execute(
                select(t.quote_lines)
                .where(t.quote_lines.c.quote_id.in_(quote_ids))
                .order_by(t.quote_lines.c.quote_id, t.quote_lines.c.position)
            ).all(),
            "closes": conn.execute(
                select(t.opportunity_closes)
                .where(t.opportunity_closes.c.opportunity_id == opportunity_id)
                .order_by(t.opportunity_closes.c.closed_at)
            ).all(),
        }


def test_a_bulk_lost_close_refuses_a_deal_with_a_won_quote_and_closes_the_rest(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    plain = desk.opportunity("Plain")
    with_won = desk.opportunity("With a won quote")
    desk.win(desk.active(with_won.id).id)
    before = _rows_of(engine, with_won.id)

    result = closing.bulk_close(uow, [with_won.id, plain.id], desk.details(Outcome.LOST), actor=desk.actor)

    assert [(row.ok, row.error.code if row.error else None) for row in result.results] == [
        (False, "won_quote_requires_won_close"),
        (True, None),
    ]
    assert _rows_of(engine, with_won.id) == before
    assert desk.read(plain.id).state.value == "lost"


def test_a_bulk_close_with_close_quotes_closes_the_quotes_of_each_deal(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    deals = [desk.opportunity(f"Deal {n}") for n in range(3)]
    quotes = [desk.active(deal.id) for deal in deals] + [desk.draft(deals[0].id)]

    result = closing.bulk_close(
        uow, [d.id for d in deals], desk.details(Outcome.LOST, close_quotes=QuoteStatus.CANCELED), actor=desk.actor
    )

    assert (result.closed, result.failed) == (3, 0)
    assert {desk.read_quote(q.id).status_reason.value for q in quotes} == {"canceled"}
    assert {desk.read(d.id).state.value for d in deals} == {"lost"}


def test_a_bulk_close_of_more_than_one_batch_closes_every_deal(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    ids = [desk.opportunity(f"Deal {n:03d}").id for n in range(closing.BULK_BATCH + 20)]
    blocked = ids[closing.BULK_BATCH + 5]
    desk.active(blocked)
    order = list(reversed(ids))

    result = closing.bulk_close(uow, order, desk.details(Outcome.LOST), actor=desk.actor)

    assert [row.id for row in result.results] == order
    assert (result.closed, result.failed) == (len(ids) - 1, 1)
    assert [row.id for row in result.results if not row.ok] == [blocked]
    with engine.connect() as conn:
        states = dict(conn.execute(select(t.opportunities.c.id, t.opportunities.c.state)).all())
        standing = conn.execute(
            select(t.opportunity_closes.c.opportunity_id).where(t.opportunity_closes.c.reopened_at.is_(None))
        ).scalars()
        assert sorted(standing) == sorted(i for i in ids if i != blocked)
    assert {i for i, state in states.items() if state == "lost"} == set(ids) - {blocked}
    assert states[blocked] == "open"


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param([], id="none"),
        pytest.param([uuid4() for _ in range(1001)], id="1001 ids"),
    ],
)
def test_a_bulk_close_of_no_or_more_than_1000_ids_is_a_validation_error(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, ids: list[UUID]
) -> None:
    desk.opportunity()
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as refused:
        closing.bulk_close(uow, ids, desk.details(Outcome.LOST), actor=desk.actor)

    assert [e.field for e in refused.value.errors] == ["ids"]
    assert changed_tables(before, snapshot(engine)) == []


def test_a_bulk_close_naming_an_opportunity_twice_is_refused_before_closing_anything(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    first, second = desk.opportunity("First"), desk.opportunity("Second")
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as refused:
        closing.bulk_close(uow, [first.id, second.id, first.id], desk.details(Outcome.LOST), actor=desk.actor)

    assert [e.field for e in refused.value.errors] == ["ids"]
    assert changed_tables(before, snapshot(engine)) == []


def test_exactly_1000_ids_are_accepted(desk: Desk, uow: SqlUnitOfWork) -> None:
    real = desk.opportunity()
    ids = [real.id, *(uuid4() for _ in range(999))]

    result = closing.bulk_close(uow, ids, desk.details(Outcome.LOST), actor=desk.actor)

    assert (result.closed, result.failed) == (1, 999)
    assert {row.error.code for row in result.results if row.error is not None} == {"not_found"}


def test_input_wrong_for_every_row_refuses_the_whole_bulk_close(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(2)]
    retired = desk.close_reason(Outcome.LOST, "Old", active=False)
    before = snapshot(engine)

    for details, field in [
        (desk.details(Outcome.LOST, close_date=desk.tomorrow), "close_date"),
        (desk.details(Outcome.LOST, competitor_id=uuid4()), "competitor_id"),
        (desk.details(Outcome.LOST, close_reason_id=retired.id), "close_reason_id"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            closing.bulk_close(uow, ids, details, actor=desk.actor)
        assert [e.field for e in refused.value.errors] == [field]
    assert changed_tables(before, snapshot(engine)) == []


def test_only_managers_bulk_close(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    sam = desk.user("sam", "sales")
    mine = desk.opportunity(actor=sam)
    before = snapshot(engine)

    with pytest.raises(Forbidden):
        closing.bulk_close(uow, [mine.id], desk.details(Outcome.LOST), actor=sam)

    assert changed_tables(before, snapshot(engine)) == []
