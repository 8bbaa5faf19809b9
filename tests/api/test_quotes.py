"""Project quotes: drafts, lines, activation, closing, revising, copying, deleting (SPEC §2, §3, §7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.builders import (
    QUOTE_NUMBER,
    Desk,
    Json,
    assert_problem,
    is_date,
    is_timestamp_with_offset,
    is_uuid,
    line,
)

QUOTE_FIELDS = {
    "id",
    "opportunity_id",
    "number",
    "revision",
    "name",
    "state",
    "status_reason",
    "lines",
    "total_amount",
    "valid_until",
    "expired",
    "closed_on",
    "close_description",
    "competitor_id",
    "close_reason_id",
    "superseded_by_quote_id",
    "version",
    "created_at",
    "updated_at",
}
LINE_FIELDS = {"description", "quantity", "unit_price", "amount"}


def quote_ids(api: TestClient, opportunity: Json) -> list[str]:
    return [q["id"] for q in api.get(f"/api/opportunities/{opportunity['id']}/quotes").json()["items"]]


# ---------------------------------------------------------------------------------------------- drafts
def test_a_new_quote_is_a_draft_with_priced_lines_and_a_total(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    body = {
        "name": "Phase 1",
        "lines": [line("Workshop", "2", "625.00"), line("Licences", "0.5", "0.25"), line("Discount", "1", "-50.00")],
        "valid_until": "2027-01-31",
    }

    response = api.post(f"/api/opportunities/{opportunity['id']}/quotes", json=body)

    assert response.status_code == 201
    quote = response.json()
    assert set(quote) == QUOTE_FIELDS
    assert is_uuid(quote["id"]) and quote["opportunity_id"] == opportunity["id"]
    assert QUOTE_NUMBER.fullmatch(quote["number"]) and quote["revision"] == 0
    assert (quote["state"], quote["status_reason"]) == ("draft", "in_progress")
    assert quote["valid_until"] == "2027-01-31"
    assert quote["closed_on"] is None and quote["close_description"] is None
    assert is_timestamp_with_offset(quote["created_at"]) and is_timestamp_with_offset(quote["updated_at"])
    assert all(set(ln) == LINE_FIELDS for ln in quote["lines"])
    assert quote["lines"] == [
        {"description": "Workshop", "quantity": "2.00", "unit_price": "625.00", "amount": "1250.00"},
        {"description": "Licences", "quantity": "0.50", "unit_price": "0.25", "amount": "0.13"},
        {"description": "Discount", "quantity": "1.00", "unit_price": "-50.00", "amount": "-50.00"},
    ]
    assert quote["total_amount"] == "1200.13"


def test_reading_a_quote_answers_it_with_an_etag(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())

    response = api.get(f"/api/quotes/{quote['id']}")

    assert response.status_code == 200
    assert response.json() == quote
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')


def test_quotes_of_an_opportunity_are_listed_by_number_then_revision(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    first = desk.active_quote(opportunity, "First")
    second = desk.quote(opportunity, "Second")
    revision = desk.expect(api.post(f"/api/quotes/{first['id']}/revise"), 201)

    page = api.get(f"/api/opportunities/{opportunity['id']}/quotes").json()

    assert [(q["number"], q["revision"]) for q in page["items"]] == [
        (first["number"], 0),
        (first["number"], 1),
        (second["number"], 0),
    ]
    assert [q["id"] for q in page["items"]] == [first["id"], revision["id"], second["id"]]
    assert page["next_cursor"] is None
    assert all(set(q) == QUOTE_FIELDS for q in page["items"])


def test_walking_every_page_of_quotes_yields_each_once_in_order(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    created = [desk.quote(opportunity, f"Option {n}")["id"] for n in range(5)]

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get(f"/api/opportunities/{opportunity['id']}/quotes", params=params).json()
        seen += [q["id"] for q in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == created


def test_a_draft_quote_can_be_edited_and_its_lines_are_replaced_as_a_whole(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity(), valid_until="2027-01-31")

    response = api.patch(
        f"/api/quotes/{quote['id']}",
        json={"name": "Phase 1 (revised scope)", "lines": [line("Audit", "3", "100.10")], "valid_until": None},
    )

    assert response.status_code == 200
    edited = response.json()
    assert edited["name"] == "Phase 1 (revised scope)"
    assert edited["lines"] == [{"description": "Audit", "quantity": "3.00", "unit_price": "100.10", "amount": "300.30"}]
    assert edited["total_amount"] == "300.30"
    assert edited["valid_until"] is None
    assert edited["version"] > quote["version"]
    assert desk.get_quote(quote["id"]) == edited


def test_only_draft_quotes_can_be_edited(api: TestClient, desk: Desk) -> None:
    quote = desk.active_quote(desk.opportunity())
    before = desk.get_quote(quote["id"])

    response = api.patch(f"/api/quotes/{quote['id']}", json={"name": "Changed"})

    assert_problem(response, 409, "invalid_transition")
    assert desk.get_quote(quote["id"]) == before


def test_deleting_a_draft_quote_answers_204_and_it_is_gone(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.quote(opportunity)

    response = api.delete(f"/api/quotes/{quote['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.get(f"/api/quotes/{quote['id']}"), 404, "not_found")
    assert quote_ids(api, opportunity) == []
    assert desk.audit(quote["id"])[0]["action"] == "delete"


def test_only_draft_quotes_can_be_deleted(api: TestClient, desk: Desk) -> None:
    quote = desk.active_quote(desk.opportunity())

    assert_problem(api.delete(f"/api/quotes/{quote['id']}"), 409, "invalid_transition")
    assert desk.get_quote(quote["id"])["state"] == "active"


# ---------------------------------------------------------------------------------------------- activation
def test_activating_a_draft_makes_it_active_open(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())

    response = api.post(f"/api/quotes/{quote['id']}/activate")

    assert response.status_code == 200
    activated = response.json()
    assert set(activated) == QUOTE_FIELDS
    assert (activated["state"], activated["status_reason"]) == ("active", "open")
    assert activated["id"] == quote["id"]


def test_a_quote_without_lines_cannot_be_activated(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity(), lines=[])
    assert (quote["lines"], quote["total_amount"]) == ([], "0.00")

    assert_problem(api.post(f"/api/quotes/{quote['id']}/activate"), 409, "quote_has_no_lines")
    assert desk.get_quote(quote["id"])["state"] == "draft"


def test_a_quote_with_a_negative_total_cannot_be_activated(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity(), lines=[line("Work", "1", "100.00"), line("Discount", "1", "-100.01")])
    assert quote["total_amount"] == "-0.01"

    assert_problem(api.post(f"/api/quotes/{quote['id']}/activate"), 409, "quote_total_negative")
    assert desk.get_quote(quote["id"])["state"] == "draft"


def test_a_quote_with_a_discount_line_and_a_zero_total_can_be_activated(desk: Desk) -> None:
    quote = desk.quote(desk.opportunity(), lines=[line("Work", "1", "100.00"), line("Goodwill", "1", "-100.00")])

    assert desk.activate(quote)["state"] == "active"


def test_only_a_draft_can_be_activated(api: TestClient, desk: Desk) -> None:
    quote = desk.close_quote(desk.quote(desk.opportunity()))

    assert_problem(api.post(f"/api/quotes/{quote['id']}/activate"), 409, "invalid_transition")


# ---------------------------------------------------------------------------------------------- closing one quote
@pytest.mark.parametrize(("status_reason", "activate"), [("lost", True), ("canceled", False)], ids=["active", "draft"])
def test_a_draft_or_active_quote_can_be_closed_as_lost_or_canceled(
    api: TestClient, desk: Desk, status_reason: str, activate: bool
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity) if activate else desk.quote(opportunity)

    response = api.post(
        f"/api/quotes/{quote['id']}/close",
        json={"status_reason": status_reason, "close_date": desk.yesterday.isoformat(), "description": "Too slow"},
    )

    assert response.status_code == 200
    closed = response.json()
    assert set(closed) == QUOTE_FIELDS
    assert (closed["state"], closed["status_reason"]) == ("closed", status_reason)
    assert closed["closed_on"] == desk.yesterday.isoformat()
    assert closed["close_description"] == "Too slow"


@pytest.mark.parametrize("state", ["closed", "won"])
def test_a_closed_or_won_quote_cannot_be_closed_again(api: TestClient, desk: Desk, state: str) -> None:
    quote = desk.active_quote(desk.opportunity())
    if state == "won":
        desk.win(quote)
    else:
        desk.close_quote(quote)

    response = api.post(f"/api/quotes/{quote['id']}/close", json={"status_reason": "lost"})

    assert_problem(response, 409, "invalid_transition")
    assert desk.get_quote(quote["id"])["state"] == state


# ---------------------------------------------------------------------------------------------- revise and copy
def test_revising_an_active_quote_closes_it_as_revised_and_answers_the_next_revision(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity, lines=[line("Workshop", "2", "625.00")])

    response = api.post(f"/api/quotes/{quote['id']}/revise")

    assert response.status_code == 201
    draft = response.json()
    assert set(draft) == QUOTE_FIELDS
    assert draft["id"] != quote["id"]
    assert (draft["number"], draft["revision"]) == (quote["number"], 1)
    assert (draft["state"], draft["status_reason"]) == ("draft", "in_progress")
    assert draft["lines"] == quote["lines"] and draft["total_amount"] == quote["total_amount"]
    old = desk.get_quote(quote["id"])
    assert (old["state"], old["status_reason"]) == ("closed", "revised")


def test_revising_twice_counts_revisions_up(api: TestClient, desk: Desk) -> None:
    quote = desk.active_quote(desk.opportunity())
    first = desk.expect(api.post(f"/api/quotes/{quote['id']}/revise"), 201)
    desk.activate(first)

    second = desk.expect(api.post(f"/api/quotes/{first['id']}/revise"), 201)

    assert (second["number"], second["revision"]) == (quote["number"], 2)


def test_only_an_active_quote_can_be_revised(api: TestClient, desk: Desk) -> None:
    quote = desk.quote(desk.opportunity())

    assert_problem(api.post(f"/api/quotes/{quote['id']}/revise"), 409, "invalid_transition")


def test_copying_even_a_won_quote_answers_a_new_draft_with_a_new_number_and_the_same_lines(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    quote = desk.quote(opportunity, lines=[line("Workshop", "2", "625.00"), line("Discount", "1", "-25.00")])
    desk.win(desk.activate(quote))

    response = api.post(f"/api/quotes/{quote['id']}/copy")

    assert response.status_code == 201
    copy = response.json()
    assert set(copy) == QUOTE_FIELDS
    assert copy["id"] != quote["id"] and copy["number"] != quote["number"]
    assert QUOTE_NUMBER.fullmatch(copy["number"]) and copy["revision"] == 0
    assert copy["state"] == "draft" and copy["opportunity_id"] == opportunity["id"]
    assert copy["lines"] == quote["lines"] and copy["total_amount"] == "1225.00"
    assert copy["id"] in quote_ids(api, opportunity)


# ---------------------------------------------------------------------------------------------- closed deals
@pytest.fixture
def closed_with_a_draft(desk: Desk) -> tuple[Json, Json]:
    """A won opportunity that kept a draft quote (drafts do not block a close)."""
    opportunity = desk.opportunity()
    draft = desk.quote(opportunity)
    desk.close(opportunity["id"], "won")
    return opportunity, draft


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_no_quote_can_be_created_on_a_closed_opportunity(api: TestClient, desk: Desk, outcome: str) -> None:
    opportunity = desk.opportunity()
    draft = desk.quote(opportunity)
    desk.close(opportunity["id"], outcome)

    response = api.post(f"/api/opportunities/{opportunity['id']}/quotes", json={"name": "Late", "lines": [line()]})

    assert_problem(response, 409, "opportunity_not_open")
    assert quote_ids(api, opportunity) == [draft["id"]]


@pytest.mark.parametrize("action", ["activate", "revise", "copy", "win"])
def test_quote_actions_on_a_closed_opportunity_are_refused_as_not_open(
    api: TestClient, desk: Desk, closed_with_a_draft: tuple[Json, Json], action: str
) -> None:
    opportunity, draft = closed_with_a_draft

    response = api.post(f"/api/quotes/{draft['id']}/{action}")

    assert_problem(response, 409, "opportunity_not_open")
    assert quote_ids(api, opportunity) == [draft["id"]]
    assert desk.get_quote(draft["id"])["state"] == "draft"


def test_a_draft_of_a_closed_opportunity_cannot_be_edited(
    api: TestClient, desk: Desk, closed_with_a_draft: tuple[Json, Json]
) -> None:
    _, draft = closed_with_a_draft

    assert_problem(api.patch(f"/api/quotes/{draft['id']}", json={"name": "Changed"}), 409, "opportunity_not_open")
    assert desk.get_quote(draft["id"])["name"] == draft["name"]


def test_a_draft_of_a_closed_opportunity_can_still_be_closed_and_closes_today_by_default(
    api: TestClient, desk: Desk, closed_with_a_draft: tuple[Json, Json]
) -> None:
    _, draft = closed_with_a_draft

    response = api.post(f"/api/quotes/{draft['id']}/close", json={"status_reason": "canceled"})

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["status_reason"]) == ("closed", "canceled")
    assert is_date(response.json()["closed_on"]) and response.json()["closed_on"] == desk.today.isoformat()


def test_a_draft_of_a_closed_opportunity_can_still_be_deleted(
    api: TestClient, closed_with_a_draft: tuple[Json, Json]
) -> None:
    opportunity, draft = closed_with_a_draft

    assert api.delete(f"/api/quotes/{draft['id']}").status_code == 204
    assert quote_ids(api, opportunity) == []
