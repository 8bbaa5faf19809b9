"""Creating, editing, holding and listing opportunities (SPEC §2, §3, §7), checked in the database afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, update

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import DomainError, Forbidden, NotFound, OpportunityNotOpen, ValidationFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome
from dealdesk.services import opportunities, reads
from dealdesk.services.ports import OpportunityFilter
from tests.integration.builders import Desk, line
from tests.integration.db_facts import count_rows, row_of, snapshot


def _list(uow: SqlUnitOfWork, **where: Any) -> list[str]:
    page = opportunities.list_opportunities(uow, OpportunityFilter(**where), limit=200, cursor=None)
    return [o.name for o in page.items]


# ---------------------------------------------------------------------------------------------- creating
def test_a_new_opportunity_is_open_in_progress_owned_by_its_creator_at_version_1(desk: Desk, engine: Engine) -> None:
    sales = desk.user("sam", "sales")
    account = desk.account()

    created = desk.opportunity("Rollout", account_id=account.id, estimated_revenue="1250.50", actor=sales)

    row = row_of(engine, t.opportunities, created.id)
    assert (row["state"], row["status_reason"], row["owner_id"], row["version"]) == ("open", "in_progress", sales.id, 1)
    assert (row["name"], row["account_id"], row["currency"]) == ("Rollout", account.id, "USD")
    assert row["estimated_revenue"] == Decimal("1250.50")
    assert (row["actual_revenue"], row["actual_close_date"], row["won_quote_id"], row["contract_id"]) == (
        None,
        None,
        None,
        None,
    )


def test_creating_an_opportunity_is_audited(desk: Desk, uow: SqlUnitOfWork) -> None:
    created = desk.opportunity("Rollout", estimated_revenue="10.00")

    (entry,) = reads.audit_for(uow, created.id, limit=10, cursor=None).items
    assert (entry.record_type, entry.action, entry.user_id, entry.before) == (
        "opportunity",
        "create",
        desk.actor.id,
        None,
    )
    assert entry.after is not None
    assert (entry.after["name"], entry.after["estimated_revenue"], entry.after["state"]) == ("Rollout", "10.00", "open")


def test_an_opportunity_for_an_unknown_account_is_refused_on_account_id(desk: Desk, engine: Engine) -> None:
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as refused:
        desk.opportunity(account_id=uuid4())

    assert refused.value.code == "validation_error"
    assert [e.field for e in refused.value.errors] == ["account_id"]
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("estimated_revenue", {"estimated_revenue": "-1.00"}),
        ("estimated_revenue", {"estimated_revenue": "1.005"}),
        ("estimated_revenue", {"estimated_revenue": "1000000000000.00"}),
        ("currency", {"currency": "usd"}),
        ("name", {"name": "  "}),
        ("name", {"name": "x" * 301}),
    ],
)
def test_invalid_opportunity_input_is_a_validation_error_and_stores_nothing(
    desk: Desk, engine: Engine, field: str, options: dict[str, Any]
) -> None:
    account = desk.account()
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as refused:
        desk.opportunity(account_id=account.id, **options)

    assert field in [e.field for e in refused.value.errors]
    assert snapshot(engine) == before


def test_a_viewer_may_not_create_an_opportunity(desk: Desk, engine: Engine) -> None:
    viewer = desk.user("vera", "viewer")
    account = desk.account()

    with pytest.raises(Forbidden):
        desk.opportunity(account_id=account.id, actor=viewer)

    assert count_rows(engine, t.opportunities) == 0


NUL = "Deal\x00one"
NUL_ENTRY_POINTS: dict[str, Callable[[Desk, UUID], object]] = {
    "account name": lambda d, opp: d.account(NUL),
    "opportunity name": lambda d, opp: opportunities.edit_opportunity(
        d.uow, opp, OpportunityChanges(name=NUL), actor=d.actor
    ),
    "opportunity description": lambda d, opp: opportunities.edit_opportunity(
        d.uow, opp, OpportunityChanges(description=NUL), actor=d.actor
    ),
    "quote line description": lambda d, opp: d.draft(opp, lines=[line(NUL)]),
    "close description": lambda d, opp: d.close(opp, Outcome.LOST, description=NUL),
    "name search": lambda d, opp: opportunities.list_opportunities(
        d.uow, OpportunityFilter(q=NUL), limit=5, cursor=None
    ),
}


@pytest.mark.parametrize("enter", NUL_ENTRY_POINTS.values(), ids=NUL_ENTRY_POINTS.keys())
def test_text_with_a_nul_character_is_accepted_or_refused_but_never_crashes(
    desk: Desk, engine: Engine, enter: Callable[[Desk, UUID], object]
) -> None:
    """SPEC §7: never a 500 for anything a client can send, and a JSON string may hold \\u0000. Either
    answer is fine — kept as given or a 422 `validation_error` — as long as a refusal writes nothing."""
    opportunity = desk.opportunity()
    before = snapshot(engine)

    try:
        enter(desk, opportunity.id)
    except DomainError as refused:
        assert refused.code == "validation_error"
        assert snapshot(engine) == before


def test_an_unknown_opportunity_is_not_found(desk: Desk, uow: SqlUnitOfWork) -> None:
    with pytest.raises(NotFound):
        opportunities.get_opportunity(uow, uuid4())


# ---------------------------------------------------------------------------------------------- editing
def test_an_open_opportunity_is_edited_with_a_new_version_and_an_audited_diff(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    created = desk.opportunity("Rollout", estimated_revenue="100.00")

    edited = opportunities.edit_opportunity(
        uow,
        created.id,
        OpportunityChanges(name="Rollout phase 2", estimated_revenue=Decimal("250.00"), description="Bigger"),
        actor=desk.actor,
    )

    row = row_of(engine, t.opportunities, created.id)
    assert (row["name"], row["estimated_revenue"], row["description"], row["version"]) == (
        "Rollout phase 2",
        Decimal("250.00"),
        "Bigger",
        2,
    )
    assert edited.version == 2
    entry = reads.audit_for(uow, created.id, limit=10, cursor=None).items[0]
    assert entry.action == "edit"
    assert entry.before == {"name": "Rollout", "estimated_revenue": "100.00", "description": None}
    assert entry.after == {"name": "Rollout phase 2", "estimated_revenue": "250.00", "description": "Bigger"}


def test_moving_an_opportunity_to_another_account_needs_a_real_account(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    created = desk.opportunity()
    other = desk.account("Globex")

    with pytest.raises(ValidationFailed) as refused:
        opportunities.edit_opportunity(uow, created.id, OpportunityChanges(account_id=uuid4()), actor=desk.actor)
    assert [e.field for e in refused.value.errors] == ["account_id"]

    opportunities.edit_opportunity(uow, created.id, OpportunityChanges(account_id=other.id), actor=desk.actor)
    assert row_of(engine, t.opportunities, created.id)["account_id"] == other.id


@pytest.mark.parametrize("outcome", [Outcome.WON, Outcome.LOST])
def test_a_won_or_lost_opportunity_cannot_be_edited(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, outcome: Outcome
) -> None:
    created = desk.opportunity("Rollout")
    desk.close(created.id, outcome)
    before = snapshot(engine)

    with pytest.raises(OpportunityNotOpen) as refused:
        opportunities.edit_opportunity(uow, created.id, OpportunityChanges(name="Changed"), actor=desk.actor)

    assert refused.value.code == "opportunity_not_open"
    assert snapshot(engine) == before


def test_an_opportunity_is_put_on_hold_and_resumed_through_its_status_reason(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    created = desk.opportunity()

    opportunities.edit_opportunity(
        uow, created.id, OpportunityChanges(status_reason=OpportunityStatus.ON_HOLD), actor=desk.actor
    )
    held = row_of(engine, t.opportunities, created.id)
    opportunities.edit_opportunity(
        uow, created.id, OpportunityChanges(status_reason=OpportunityStatus.IN_PROGRESS), actor=desk.actor
    )
    resumed = row_of(engine, t.opportunities, created.id)

    assert (held["state"], held["status_reason"], held["version"]) == ("open", "on_hold", 2)
    assert (resumed["state"], resumed["status_reason"], resumed["version"]) == ("open", "in_progress", 3)
    actions = [(e.action, e.after) for e in reads.audit_for(uow, created.id, limit=10, cursor=None).items]
    assert actions[:2] == [
        ("edit", {"status_reason": "in_progress"}),
        ("edit", {"status_reason": "on_hold"}),
    ]


@pytest.mark.parametrize("status", [OpportunityStatus.WON, OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD])
def test_editing_cannot_close_an_opportunity_through_its_status_reason(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, status: OpportunityStatus
) -> None:
    created = desk.opportunity()
    before = snapshot(engine)

    with pytest.raises(ValidationFailed) as refused:
        opportunities.edit_opportunity(uow, created.id, OpportunityChanges(status_reason=status), actor=desk.actor)

    assert [e.field for e in refused.value.errors] == ["status_reason"]
    assert snapshot(engine) == before


def test_a_sales_user_may_edit_their_own_opportunity_but_not_someone_elses(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    sam = desk.user("sam", "sales")
    sue = desk.user("sue", "sales")
    theirs = desk.opportunity("Sam's deal", actor=sam)

    with pytest.raises(Forbidden):
        opportunities.edit_opportunity(uow, theirs.id, OpportunityChanges(name="Taken"), actor=sue)
    opportunities.edit_opportunity(uow, theirs.id, OpportunityChanges(name="Sam's bigger deal"), actor=sam)

    assert row_of(engine, t.opportunities, theirs.id)["name"] == "Sam's bigger deal"


# ---------------------------------------------------------------------------------------------- listing
def test_opportunities_are_listed_newest_first_a_page_at_a_time(desk: Desk, uow: SqlUnitOfWork) -> None:
    names = [f"Deal {n}" for n in range(7)]
    for name in names:
        desk.opportunity(name)

    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = opportunities.list_opportunities(uow, OpportunityFilter(), limit=3, cursor=cursor)
        seen.extend(o.name for o in page.items)
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == list(reversed(names))
    assert sizes == [3, 3, 1]


def test_an_opportunity_created_between_pages_does_not_disturb_the_next_page(desk: Desk, uow: SqlUnitOfWork) -> None:
    for name in ["A", "B", "C", "D"]:
        desk.opportunity(name)

    first = opportunities.list_opportunities(uow, OpportunityFilter(), limit=2, cursor=None)
    desk.opportunity("E")
    second = opportunities.list_opportunities(uow, OpportunityFilter(), limit=2, cursor=first.next_cursor)

    assert [o.name for o in first.items] == ["D", "C"]
    assert [o.name for o in second.items] == ["B", "A"]
    assert second.next_cursor is None


def test_opportunities_are_filtered_by_state(desk: Desk, uow: SqlUnitOfWork) -> None:
    desk.opportunity("Open one")
    desk.close(desk.opportunity("Won one").id, Outcome.WON)
    desk.close(desk.opportunity("Lost one").id, Outcome.LOST)

    assert _list(uow, state=OpportunityState.OPEN) == ["Open one"]
    assert _list(uow, state=OpportunityState.WON) == ["Won one"]
    assert _list(uow, state=OpportunityState.LOST) == ["Lost one"]


def test_opportunities_are_filtered_by_account_and_by_owner(desk: Desk, uow: SqlUnitOfWork) -> None:
    acme, globex = desk.account("Acme"), desk.account("Globex")
    sam = desk.user("sam", "sales")
    desk.opportunity("Acme by admin", account_id=acme.id)
    desk.opportunity("Globex by admin", account_id=globex.id)
    desk.opportunity("Acme by Sam", account_id=acme.id, actor=sam)

    assert _list(uow, account_id=acme.id) == ["Acme by Sam", "Acme by admin"]
    assert _list(uow, owner_id=sam.id) == ["Acme by Sam"]
    assert _list(uow, account_id=globex.id, owner_id=sam.id) == []
    assert _list(uow, account_id=uuid4()) == []


def test_the_name_search_is_case_insensitive_and_takes_wildcards_literally(desk: Desk, uow: SqlUnitOfWork) -> None:
    for name in ["Cloud Migration", "cloud audit", "On-premise 50% discount", "Data_lake", "Datalake"]:
        desk.opportunity(name)

    assert sorted(_list(uow, q="CLOUD")) == ["Cloud Migration", "cloud audit"]
    assert _list(uow, q="50%") == ["On-premise 50% discount"]
    assert _list(uow, q="%") == ["On-premise 50% discount"]
    assert _list(uow, q="a_l") == ["Data_lake"]
    assert _list(uow, q="nothing like it") == []


def test_opportunities_created_at_the_same_instant_are_paged_without_loss_or_repeat(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    created = [desk.opportunity(f"Deal {n}").id for n in range(5)]
    with engine.begin() as conn:
        conn.execute(update(t.opportunities).values(created_at=datetime(2024, 6, 14, 9, 0, tzinfo=UTC)))

    seen: list[UUID] = []
    cursor = None
    while True:
        page = opportunities.list_opportunities(uow, OpportunityFilter(), limit=2, cursor=cursor)
        seen.extend(o.id for o in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_money_at_the_limit_and_timestamps_with_offsets_survive_the_round_trip(desk: Desk, uow: SqlUnitOfWork) -> None:
    created = desk.opportunity(estimated_revenue="999999999999.99")
    opportunities.edit_opportunity(uow, created.id, OpportunityChanges(name="Edited"), actor=desk.actor)

    read = desk.read(created.id)

    assert read.estimated_revenue == Decimal("999999999999.99")
    assert read.created_at.utcoffset() is not None and read.updated_at.utcoffset() is not None
    assert read.created_at == created.created_at
    assert read.updated_at > read.created_at
