"""Bulk close (SPEC §4): each deal closes or is refused on its own, reported in the order given, batch by batch."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from dealdesk.domain.errors import Forbidden, ValidationFailed
from dealdesk.domain.states import OpportunityState, Outcome, QuoteState, QuoteStatus
from dealdesk.services import closing
from dealdesk.services.closing import BulkRow
from tests.integration.builders import STANDARD_TOTAL, Desk
from tests.use_cases.support import Boom, fail_after_saving, seen


def test_a_mixed_bulk_close_reports_every_row_in_the_order_given_and_leaves_refused_deals_untouched(
    desk: Desk,
) -> None:
    plain = desk.opportunity("Plain", estimated_revenue="1000.00")
    with_draft = desk.opportunity("With a draft", estimated_revenue="2000.00")
    draft = desk.draft(with_draft.id)
    blocked = desk.opportunity("Blocked")
    desk.active(blocked.id)
    already = desk.opportunity("Already lost")
    desk.close(already.id, Outcome.LOST)
    with_won = desk.opportunity("With a won quote", estimated_revenue="1.00")
    desk.win(desk.active(with_won.id).id)
    unknown = uuid4()
    ids = [blocked.id, plain.id, unknown, with_won.id, already.id, with_draft.id]
    untouched = {i: seen(desk, i) for i in (blocked.id, already.id)}
    streamed: list[BulkRow] = []

    result = closing.bulk_close(desk.uow, ids, desk.details(Outcome.WON), actor=desk.actor, on_row=streamed.append)

    assert [row.id for row in result.results] == [row.id for row in streamed] == ids
    codes = {row.id: row.error.code for row in result.results if row.error is not None}
    assert codes == {blocked.id: "active_quotes_block_close", unknown: "not_found", already.id: "invalid_transition"}
    assert (result.closed, result.failed) == (3, 3)
    for closed, revenue in [(plain, Decimal("1000.00")), (with_draft, Decimal("2000.00")), (with_won, STANDARD_TOTAL)]:
        deal = desk.read(closed.id)
        assert (deal.state, deal.actual_revenue, len(desk.closes_of(closed.id))) == (OpportunityState.WON, revenue, 1)
    assert desk.read_quote(draft.id).state is QuoteState.DRAFT
    assert {i: seen(desk, i) for i in (blocked.id, already.id)} == untouched


def test_a_bulk_close_with_close_quotes_closes_the_quotes_of_each_deal(desk: Desk) -> None:
    deals = [desk.opportunity(f"Deal {n}") for n in range(3)]
    quotes = [desk.active(deal.id) for deal in deals] + [desk.draft(deals[0].id)]

    result = closing.bulk_close(
        desk.uow, [d.id for d in deals], desk.details(Outcome.LOST, close_quotes=QuoteStatus.CANCELED), actor=desk.actor
    )

    assert (result.closed, result.failed) == (3, 0)
    assert {desk.read_quote(q.id).status_reason for q in quotes} == {QuoteStatus.CANCELED}


def test_a_bulk_close_of_several_batches_closes_every_deal_and_reports_in_the_order_given(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(closing, "BULK_BATCH", 2)
    ids = [desk.opportunity(f"Deal {n}").id for n in range(5)]
    desk.active(ids[3])
    batches: list[int] = []

    result = closing.bulk_close(
        desk.uow, ids[::-1], desk.details(Outcome.LOST), actor=desk.actor, after_batch=lambda: batches.append(1)
    )

    assert [row.id for row in result.results] == ids[::-1]
    assert [row.id for row in result.results if not row.ok] == [ids[3]]
    assert len(batches) == 3
    assert {i for i in ids if desk.read(i).state is OpportunityState.LOST} == set(ids) - {ids[3]}


def test_a_bulk_close_that_fails_mid_batch_loses_the_whole_batch_never_half_a_deal(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(3)]
    before = [seen(desk, i) for i in ids]
    fail_after_saving(desk, monkeypatch)

    with pytest.raises(Boom):
        closing.bulk_close(desk.uow, ids, desk.details(Outcome.LOST), actor=desk.actor)

    monkeypatch.undo()
    assert [seen(desk, i) for i in ids] == before


def test_a_bulk_close_naming_a_deal_twice_or_with_input_wrong_for_every_row_is_refused_whole(desk: Desk) -> None:
    first, second = desk.opportunity("First"), desk.opportunity("Second")
    before = [seen(desk, first.id), seen(desk, second.id)]

    for ids, details, field in [
        ([first.id, second.id, first.id], desk.details(Outcome.LOST), "ids"),
        ([], desk.details(Outcome.LOST), "ids"),
        ([first.id, second.id], desk.details(Outcome.LOST, close_date=desk.tomorrow), "close_date"),
        ([first.id, second.id], desk.details(Outcome.LOST, competitor_id=uuid4()), "competitor_id"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            closing.bulk_close(desk.uow, ids, details, actor=desk.actor)
        assert [e.field for e in refused.value.errors] == [field]

    assert [seen(desk, first.id), seen(desk, second.id)] == before


def test_only_managers_bulk_close(desk: Desk) -> None:
    sam = desk.user("sam", "sales")
    mine = desk.opportunity(actor=sam)

    with pytest.raises(Forbidden):
        closing.bulk_close(desk.uow, [mine.id], desk.details(Outcome.LOST), actor=sam)

    assert desk.read(mine.id).state is OpportunityState.OPEN
