"""Creating, editing, listing and finding deals; accounts, competitors and close reasons they name."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from dealdesk.domain.errors import Duplicate, NotFound, OpportunityNotOpen, ValidationFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome
from dealdesk.services import catalogue, opportunities, reads
from dealdesk.services.catalogue import CompetitorChanges
from dealdesk.services.ports import OpportunityFilter
from tests.integration.builders import Desk
from tests.use_cases.support import UnitOfWorkFactory, desk_at, history


def _names(desk: Desk, **where: Any) -> list[str]:
    page = opportunities.list_opportunities(desk.uow, OpportunityFilter(**where), limit=50, cursor=None)
    return [o.name for o in page.items]


def test_a_new_deal_is_open_in_progress_owned_by_its_creator_at_version_1_and_audited(desk: Desk) -> None:
    created = desk.opportunity(estimated_revenue="1234.50", currency="EUR")

    deal = desk.read(created.id)
    assert (deal.state, deal.status_reason, deal.owner_id, deal.version) == (
        OpportunityState.OPEN,
        OpportunityStatus.IN_PROGRESS,
        desk.actor.id,
        1,
    )
    assert (deal.estimated_revenue, deal.currency) == (Decimal("1234.50"), "EUR")
    assert history(desk, created.id) == [("opportunity", "create")]


def test_a_deal_for_an_unknown_account_is_refused_naming_the_field(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as refused:
        desk.opportunity(account_id=uuid4())

    assert [e.field for e in refused.value.errors] == ["account_id"]
    assert _names(desk) == []


def test_an_open_deal_is_edited_and_a_closed_one_is_not(desk: Desk) -> None:
    deal = desk.opportunity()

    opportunities.edit_opportunity(desk.uow, deal.id, OpportunityChanges(name="Renamed"), actor=desk.actor)
    assert (desk.read(deal.id).name, desk.read(deal.id).version) == ("Renamed", 2)

    desk.close(deal.id, Outcome.LOST)
    with pytest.raises(OpportunityNotOpen):
        opportunities.edit_opportunity(desk.uow, deal.id, OpportunityChanges(name="Again"), actor=desk.actor)


def test_an_unknown_deal_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.read(uuid4())
    with desk.uow.transaction(write=False):
        assert reads.exists(desk.uow, reads.Record.OPPORTUNITY, uuid4()) is False


def test_deals_are_listed_newest_first_and_filtered_by_state_account_owner_and_name(
    desk: Desk, make_uow: UnitOfWorkFactory
) -> None:
    sam = desk.user("sam", "sales")
    other_account = desk.account("Globex")
    for hour, name in enumerate(["Cloud Migration", "cloud audit", "On-premise 50% discount", "Data_lake"]):
        desk_at(desk, make_uow, datetime(2024, 6, 14, 9 + hour, tzinfo=UTC)).opportunity(name)
    sams = desk.opportunity("Sam's", account_id=other_account.id, actor=sam)
    desk.close(sams.id, Outcome.LOST)

    assert _names(desk) == ["Sam's", "Data_lake", "On-premise 50% discount", "cloud audit", "Cloud Migration"]
    assert _names(desk, state=OpportunityState.LOST) == ["Sam's"]
    assert _names(desk, account_id=other_account.id) == _names(desk, owner_id=sam.id) == ["Sam's"]
    assert _names(desk, q="CLOUD") == ["cloud audit", "Cloud Migration"]
    assert _names(desk, q="%") == ["On-premise 50% discount"]
    assert _names(desk, q="a_l") == ["Data_lake"]


def test_deals_created_at_the_same_instant_are_paged_without_loss_or_repeat(
    desk: Desk, make_uow: UnitOfWorkFactory
) -> None:
    same_instant = desk_at(desk, make_uow, datetime(2024, 6, 14, 9, tzinfo=UTC))
    created = [same_instant.opportunity(f"Deal {n}").id for n in range(5)]

    listed: list[UUID] = []
    cursor = None
    while True:
        page = opportunities.list_opportunities(desk.uow, OpportunityFilter(), limit=2, cursor=cursor)
        listed.extend(o.id for o in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(listed) == sorted(created) and len(listed) == 5


def test_a_cursor_no_list_gave_out_is_a_validation_error(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as refused:
        opportunities.list_opportunities(desk.uow, OpportunityFilter(), limit=2, cursor="not-a-cursor")

    assert [e.field for e in refused.value.errors] == ["cursor"]


def test_accounts_are_listed_by_name_a_page_at_a_time_and_renamed_with_an_audit_entry(desk: Desk) -> None:
    for name in ["Initech", "Acme", "Globex"]:
        desk.account(name)

    first = catalogue.list_accounts(desk.uow, limit=2, cursor=None)
    rest = catalogue.list_accounts(desk.uow, limit=2, cursor=first.next_cursor)
    assert [a.name for a in (*first.items, *rest.items)] == ["Acme", "Globex", "Initech"]
    assert rest.next_cursor is None

    renamed = catalogue.rename_account(desk.uow, first.items[0].id, name="Acme Corp", actor=desk.actor)
    assert catalogue.get_account(desk.uow, renamed.id).name == "Acme Corp"
    assert history(desk, renamed.id) == [("account", "edit"), ("account", "create")]


def test_competitor_names_are_unique_whatever_their_case_and_listed_in_name_order(desk: Desk) -> None:
    desk.competitor("rival ltd")
    zeta = desk.competitor("Zeta")
    desk.competitor("Alpha")

    with pytest.raises(Duplicate):
        desk.competitor("RIVAL LTD")
    with pytest.raises(Duplicate):
        catalogue.update_competitor(desk.uow, zeta.id, CompetitorChanges(name="Rival Ltd"), actor=desk.actor)

    listed = catalogue.list_competitors(desk.uow, limit=10, cursor=None).items
    assert [c.name for c in listed] == ["Alpha", "rival ltd", "Zeta"]


def test_a_deactivated_competitor_or_retired_reason_is_listed_but_cannot_be_named_on_a_close(desk: Desk) -> None:
    deal = desk.opportunity()
    competitor = desk.competitor()
    catalogue.update_competitor(desk.uow, competitor.id, CompetitorChanges(active=False), actor=desk.actor)
    retired = desk.close_reason(Outcome.LOST, "Old", active=False)
    won_reason = desk.close_reason(Outcome.WON, "Best fit")

    for field, named in [
        ("competitor_id", competitor.id),
        ("close_reason_id", retired.id),
        ("close_reason_id", won_reason.id),
    ]:
        options: dict[str, Any] = {field: named}
        with pytest.raises(ValidationFailed) as refused:
            desk.close(deal.id, Outcome.LOST, **options)
        assert [e.field for e in refused.value.errors] == [field]

    assert [c.id for c in catalogue.list_competitors(desk.uow, active=False, limit=10, cursor=None).items] == [
        competitor.id
    ]
    reasons = catalogue.list_close_reasons(desk.uow, outcome=Outcome.LOST, limit=10, cursor=None).items
    assert [r.id for r in reasons] == [retired.id]
    assert desk.read(deal.id).state is OpportunityState.OPEN
