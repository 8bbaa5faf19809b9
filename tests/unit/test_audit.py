"""Every state change and edit leaves an audit fact (SPEC §2) on the aggregate, for the use case to write in the same
transaction; a refused request leaves none."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dealdesk.domain.errors import DomainError
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.records import Change
from dealdesk.domain.states import OpportunityStatus, QuoteStatus

if TYPE_CHECKING:
    from tests.unit.conftest import Deals


def _summary(changes: list[Change]) -> list[tuple[str, object, str]]:
    return [(c.record_type, c.record_id, c.action) for c in changes]


def test_opening_an_opportunity_records_its_creation(deals: Deals) -> None:
    opportunity = deals.opportunity()

    (change,) = opportunity.changes
    assert (change.record_type, change.record_id, change.action, change.before) == (
        "opportunity",
        opportunity.id,
        "create",
        None,
    )
    assert change.after is not None
    assert (change.after["state"], change.after["estimated_revenue"]) == ("open", "5000.00")


def test_adding_editing_and_activating_a_quote_are_recorded(deals: Deals) -> None:
    opportunity = deals.opportunity()
    opportunity.changes.clear()

    quote = deals.draft(opportunity, name="First")
    opportunity.edit_quote(quote.id, name="Second", at=deals.now())
    opportunity.activate_quote(quote.id, today=deals.today, at=deals.now())

    create, edit, activate = opportunity.changes
    assert _summary(opportunity.changes) == [
        ("quote", quote.id, "create"),
        ("quote", quote.id, "edit"),
        ("quote", quote.id, "activate"),
    ]
    assert create.before is None
    assert create.after is not None
    assert (create.after["name"], create.after["total_amount"]) == ("First", "4000.00")
    assert edit.before is not None
    assert edit.after is not None
    assert (edit.before["name"], edit.after["name"]) == ("First", "Second")
    assert (activate.before, activate.after) == (
        {"state": "draft", "status_reason": "in_progress"},
        {"state": "active", "status_reason": "open"},
    )


def test_closing_and_deleting_quotes_are_recorded(deals: Deals) -> None:
    opportunity = deals.opportunity()
    closed = deals.active(opportunity)
    deleted = deals.draft(opportunity)
    opportunity.changes.clear()

    opportunity.close_quote(closed.id, QuoteStatus.CANCELED, on=deals.today, description=None, at=deals.now())
    opportunity.delete_quote(deleted.id, at=deals.now())

    close, delete = opportunity.changes
    assert _summary(opportunity.changes) == [("quote", closed.id, "close"), ("quote", deleted.id, "delete")]
    assert close.after == {"state": "closed", "status_reason": "canceled"}
    assert delete.before is not None
    assert (delete.before["number"], len(delete.before["lines"]), delete.after) == (deleted.number, 2, None)


def test_revising_records_the_revised_quote_and_the_new_draft(deals: Deals) -> None:
    opportunity = deals.opportunity()
    old = deals.active(opportunity)
    opportunity.changes.clear()

    new = deals.revise(opportunity, old)

    assert _summary(opportunity.changes) == [("quote", old.id, "revise"), ("quote", new.id, "create")]
    assert opportunity.changes[0].after == {"state": "closed", "status_reason": "revised"}


def test_winning_records_the_quote_its_siblings_the_contract_and_the_deal(deals: Deals) -> None:
    opportunity = deals.opportunity()
    quote = deals.active(opportunity)
    sibling = deals.draft(opportunity)
    opportunity.changes.clear()

    result = deals.win(opportunity, quote)

    assert _summary(opportunity.changes) == [
        ("quote", quote.id, "win"),
        ("quote", sibling.id, "close"),
        ("contract", result.contract.id, "create"),
        ("opportunity", opportunity.id, "win_quote"),
    ]
    assert opportunity.changes[-1].after == {"won_quote_id": str(quote.id), "contract_id": str(result.contract.id)}


def test_a_close_records_the_closed_quotes_the_deal_and_the_close_record(deals: Deals) -> None:
    opportunity = deals.opportunity()
    active = deals.active(opportunity)
    opportunity.changes.clear()

    record = deals.close_lost(opportunity, close_quotes=QuoteStatus.LOST).close

    assert _summary(opportunity.changes) == [
        ("quote", active.id, "close"),
        ("opportunity_close", record.id, "create"),
        ("opportunity", opportunity.id, "close"),
    ]
    close = opportunity.changes[2]
    assert close.before == {
        "state": "open",
        "status_reason": "in_progress",
        "actual_revenue": None,
        "actual_close_date": None,
    }
    assert close.after == {
        "state": "lost",
        "status_reason": "canceled",
        "actual_revenue": "0.00",
        "actual_close_date": deals.today.isoformat(),
    }


def test_a_reopen_records_the_deal_and_the_stamped_close_record(deals: Deals) -> None:
    opportunity = deals.opportunity()
    record = deals.close_won(opportunity).close
    opportunity.changes.clear()

    deals.reopen(opportunity, reason="Back in play")

    assert _summary(opportunity.changes) == [
        ("opportunity_close", record.id, "reopen"),
        ("opportunity", opportunity.id, "reopen"),
    ]
    assert opportunity.changes[1].after is not None
    assert (opportunity.changes[1].after["state"], opportunity.changes[1].after["reason"]) == ("open", "Back in play")
    assert opportunity.changes[0].after == {"reopened_by": str(deals.user_id), "reopen_reason": "Back in play"}


def test_putting_on_hold_is_recorded_as_an_edit_of_the_reason(deals: Deals) -> None:
    opportunity = deals.opportunity()
    opportunity.changes.clear()

    opportunity.put_on_hold(deals.now())

    (change,) = opportunity.changes
    assert (change.record_type, change.action) == ("opportunity", "edit")
    assert (change.before, change.after) == ({"status_reason": "in_progress"}, {"status_reason": "on_hold"})


def test_an_edit_that_changes_nothing_records_nothing(deals: Deals) -> None:
    opportunity = deals.opportunity()
    opportunity.changes.clear()
    version = opportunity.version

    opportunity.edit(OpportunityChanges(status_reason=OpportunityStatus.IN_PROGRESS), at=deals.now())

    assert opportunity.changes == []
    assert opportunity.version == version


@pytest.mark.parametrize("attempt", ["activate empty", "close lost with won quote", "reopen open", "win draft"])
def test_a_refused_request_records_nothing(deals: Deals, attempt: str) -> None:
    opportunity = deals.opportunity()
    empty = deals.draft(opportunity, lines=[])
    if attempt == "close lost with won quote":
        deals.won(opportunity)
    opportunity.changes.clear()

    with pytest.raises(DomainError):
        if attempt == "activate empty":
            opportunity.activate_quote(empty.id, today=deals.today, at=deals.now())
        elif attempt == "close lost with won quote":
            deals.close_lost(opportunity)
        elif attempt == "reopen open":
            deals.reopen(opportunity)
        else:
            deals.win(opportunity, empty)

    assert opportunity.changes == []
