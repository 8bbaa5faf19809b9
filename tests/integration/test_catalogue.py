"""Accounts, competitors and the close reason catalogue (SPEC §2), and the cursors every list pages with (§7)."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Engine

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import DomainError, Duplicate, Forbidden, NotFound, ValidationFailed
from dealdesk.domain.states import Outcome
from dealdesk.services import catalogue, closing, opportunities, quotes, reads
from dealdesk.services.ports import OpportunityFilter
from tests.integration.builders import Desk
from tests.integration.db_facts import count_rows, row_of


def _all_pages(fetch: Any, *, limit: int) -> tuple[list[Any], list[int]]:
    """Follow next_cursor to the end; answer every item and each page's size."""
    items: list[Any] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = fetch(limit=limit, cursor=cursor)
        items.extend(page.items)
        sizes.append(len(page.items))
        if page.next_cursor is None:
            return items, sizes
        cursor = page.next_cursor


# ---------------------------------------------------------------------------------------------- accounts
def test_an_account_is_stored_with_its_trimmed_name_and_audited(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    account = desk.account("  Acme Corp  ")

    assert catalogue.get_account(uow, account.id).name == "Acme Corp"
    assert row_of(engine, t.accounts, account.id)["name"] == "Acme Corp"
    (entry,) = reads.audit_for(uow, account.id, limit=10, cursor=None).items
    assert (entry.record_type, entry.action, entry.after) == ("account", "create", {"name": "Acme Corp"})


@pytest.mark.parametrize("name", ["", "   ", "x" * 161])
def test_a_blank_or_overlong_account_name_is_refused_and_nothing_is_stored(
    desk: Desk, engine: Engine, name: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        desk.account(name)

    assert [e.field for e in refused.value.errors] == ["name"]
    assert count_rows(engine, t.accounts) == 0
    assert count_rows(engine, t.audit_entries) == 0


def test_an_unknown_account_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound) as refused:
        catalogue.get_account(uow, uuid4())
    assert refused.value.code == "not_found"


def test_accounts_are_listed_by_name_a_page_at_a_time(desk: Desk, uow: SqlUnitOfWork) -> None:
    for name in ["Delta", "alpha co", "Charlie", "Echo", "Bravo"]:
        desk.account(name)

    items, sizes = _all_pages(lambda **page: catalogue.list_accounts(uow, **page), limit=2)

    assert sizes == [2, 2, 1]
    assert [a.name for a in items] == sorted(["Delta", "alpha co", "Charlie", "Echo", "Bravo"])


def test_a_last_page_that_is_exactly_full_has_no_next_cursor(desk: Desk, uow: SqlUnitOfWork) -> None:
    for name in ["A", "B", "C", "D"]:
        desk.account(name)

    first = catalogue.list_accounts(uow, limit=2, cursor=None)
    second = catalogue.list_accounts(uow, limit=2, cursor=first.next_cursor)

    assert first.next_cursor is not None
    assert [a.name for a in second.items] == ["C", "D"]
    assert second.next_cursor is None


# ---------------------------------------------------------------------------------------------- competitors
@pytest.mark.parametrize("second_name", ["rival ltd", "RIVAL LTD", "  Rival Ltd "])
def test_a_competitor_whose_name_differs_only_in_case_is_a_duplicate(
    desk: Desk, engine: Engine, second_name: str
) -> None:
    first = desk.competitor("Rival Ltd")

    with pytest.raises(Duplicate) as refused:
        desk.competitor(second_name)

    assert refused.value.code == "duplicate"
    assert count_rows(engine, t.competitors) == 1
    assert count_rows(engine, t.audit_entries, t.audit_entries.c.record_type == "competitor") == 1
    assert row_of(engine, t.competitors, first.id)["name"] == "Rival Ltd"


def test_competitors_are_listed_by_name_regardless_of_case_with_cursors(desk: Desk, uow: SqlUnitOfWork) -> None:
    for name in ["beta", "Alpha", "delta", "Charlie"]:
        desk.competitor(name)

    items, sizes = _all_pages(lambda **page: catalogue.list_competitors(uow, **page), limit=3)

    assert sizes == [3, 1]
    assert [c.name for c in items] == ["Alpha", "beta", "Charlie", "delta"]


def test_only_managers_keep_competitors_and_close_reasons(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    sales = desk.user("sam", "sales")

    with pytest.raises(Forbidden):
        catalogue.create_competitor(uow, name="Rival", actor=sales)
    with pytest.raises(Forbidden):
        catalogue.create_close_reason(uow, outcome=Outcome.WON, name="Price", active=True, actor=sales)

    assert count_rows(engine, t.competitors) == 0
    assert count_rows(engine, t.close_reasons) == 0


# ---------------------------------------------------------------------------------------------- close reasons
def test_a_close_reason_is_created_renamed_and_retired_with_each_change_audited(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    reason = desk.close_reason(Outcome.LOST, "Too expensive")

    renamed = catalogue.update_close_reason(
        uow, reason.id, catalogue.CloseReasonChanges(name="Price too high"), actor=desk.actor
    )
    retired = catalogue.update_close_reason(
        uow, reason.id, catalogue.CloseReasonChanges(active=False), actor=desk.actor
    )

    assert (renamed.name, renamed.active) == ("Price too high", True)
    assert (retired.name, retired.active) == ("Price too high", False)
    stored = row_of(engine, t.close_reasons, reason.id)
    assert (stored["outcome"], stored["name"], stored["active"]) == ("lost", "Price too high", False)
    entries = reads.audit_for(uow, reason.id, limit=10, cursor=None).items
    assert [e.action for e in entries] == ["edit", "edit", "create"]
    assert entries[0].before == {"outcome": "lost", "name": "Price too high", "active": True}
    assert entries[0].after == {"outcome": "lost", "name": "Price too high", "active": False}


def test_updating_an_unknown_close_reason_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound):
        catalogue.update_close_reason(uow, uuid4(), catalogue.CloseReasonChanges(name="X"), actor=desk.actor)


def test_close_reasons_are_listed_by_outcome_including_retired_ones(desk: Desk, uow: SqlUnitOfWork) -> None:
    desk.close_reason(Outcome.WON, "Best fit")
    desk.close_reason(Outcome.WON, "Relationship", active=False)
    desk.close_reason(Outcome.LOST, "Price")
    desk.close_reason(Outcome.LOST, "Budget")

    won = catalogue.list_close_reasons(uow, outcome=Outcome.WON, limit=50, cursor=None)
    lost, sizes = _all_pages(lambda **page: catalogue.list_close_reasons(uow, outcome=Outcome.LOST, **page), limit=1)
    every = catalogue.list_close_reasons(uow, outcome=None, limit=50, cursor=None)

    assert [(r.name, r.active) for r in won.items] == [("Best fit", True), ("Relationship", False)]
    assert [r.name for r in lost] == ["Budget", "Price"]
    assert sizes == [1, 1]
    assert len(every.items) == 4


# ---------------------------------------------------------------------------------------------- cursors
def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


BAD_CURSORS = {
    "not base64": "!!!***",
    "not json": base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
    "not a list": _cursor({"a": 1}),
    "too short": _cursor(["x"]),
    "too long": _cursor(["a", "b", "c", "d"]),
    "wrong types": _cursor([[1], {"b": 2}]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_cursor_no_list_gave_out_is_a_validation_error_on_every_list(
    desk: Desk, uow: SqlUnitOfWork, cursor: str
) -> None:
    opportunity = desk.opportunity()
    lists: dict[str, Any] = {
        "accounts": lambda: catalogue.list_accounts(uow, limit=5, cursor=cursor),
        "competitors": lambda: catalogue.list_competitors(uow, limit=5, cursor=cursor),
        "close reasons": lambda: catalogue.list_close_reasons(uow, outcome=None, limit=5, cursor=cursor),
        "opportunities": lambda: opportunities.list_opportunities(uow, OpportunityFilter(), limit=5, cursor=cursor),
        "quotes": lambda: quotes.list_quotes(uow, opportunity.id, limit=5, cursor=cursor),
        "closes": lambda: closing.list_closes(uow, opportunity.id, limit=5, cursor=cursor),
        "audit": lambda: reads.audit_for(uow, opportunity.id, limit=5, cursor=cursor),
    }
    for name, fetch in lists.items():
        with pytest.raises(ValidationFailed) as refused:
            fetch()
        assert [e.field for e in refused.value.errors] == ["cursor"], name


TAMPERED_CURSORS: dict[str, Any] = {
    "quotes, revision beyond any integer": lambda uow, opp: quotes.list_quotes(
        uow, opp, limit=5, cursor=_cursor(["Q-00001", 10**30])
    ),
    "audit, sequence beyond any integer": lambda uow, opp: reads.audit_for(
        uow, opp, limit=5, cursor=_cursor(["2024-01-01T00:00:00+00:00", 10**30, str(opp)])
    ),
    "opportunities, time before year 1 in UTC": lambda uow, opp: opportunities.list_opportunities(
        uow, OpportunityFilter(), limit=5, cursor=_cursor(["0001-01-01T00:00:00+14:00", str(opp)])
    ),
    "accounts, NUL character in the name": lambda uow, opp: catalogue.list_accounts(
        uow, limit=5, cursor=_cursor(["\x00", str(opp)])
    ),
}


@pytest.mark.parametrize("fetch", TAMPERED_CURSORS.values(), ids=TAMPERED_CURSORS.keys())
def test_a_tampered_cursor_with_values_the_database_cannot_hold_is_answered_or_refused_but_never_crashes(
    desk: Desk, uow: SqlUnitOfWork, fetch: Any
) -> None:
    """A cursor is client input: a page or a 422 `validation_error`, never a 500 (SPEC §7)."""
    opportunity = desk.opportunity()

    try:
        fetch(uow, opportunity.id)
    except DomainError as refused:
        assert refused.code == "validation_error"


def test_accounts_with_the_same_name_are_paged_without_loss_or_repeat(desk: Desk, uow: SqlUnitOfWork) -> None:
    made = {desk.account("Acme").id for _ in range(5)}

    items, sizes = _all_pages(lambda **page: catalogue.list_accounts(uow, **page), limit=2)

    assert sizes == [2, 2, 1]
    assert {a.id for a in items} == made
