"""Loss capture per quote (SPEC §11): a quote close keeps its competitor and lost reason detail, quotes closed with
their opportunity take the close's, and siblings closed by a win keep the won quote."""

from __future__ import annotations

from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.web.i18n import Languages
from dealdesk.web.ui.audit import audit_panel
from tests.api.builders import UNKNOWN_ID, Desk, Json, assert_invalid, snapshot


def close_quote(api: TestClient, quote: Json, **body: object) -> Json:
    response = api.post(f"/api/quotes/{quote['id']}/close", json={"status_reason": "lost", **body})
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def test_a_quote_closed_as_lost_keeps_its_competitor_and_lost_reason_in_its_json_and_history(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    competitor = desk.competitor()
    reason = desk.close_reason("lost", "Price too high")

    closed = close_quote(
        api, quote, competitor_id=competitor["id"], close_reason_id=reason["id"], description="They were cheaper"
    )

    assert (closed["state"], closed["status_reason"]) == ("closed", "lost")
    assert closed["competitor_id"] == competitor["id"]
    assert closed["close_reason_id"] == reason["id"]
    assert closed["close_description"] == "They were cheaper"
    assert closed["superseded_by_quote_id"] is None
    assert desk.get_quote(quote["id"]) == closed
    entry = next(e for e in desk.audit(quote["id"]) if e["action"] == "close")
    assert entry["after"]["competitor_id"] == competitor["id"]
    assert entry["after"]["close_reason_id"] == reason["id"]
    assert entry["after"]["description"] == "They were cheaper"


def test_a_quote_closed_without_loss_detail_has_none(api: TestClient, desk: Desk) -> None:
    quote = desk.active_quote(desk.opportunity())

    closed = close_quote(api, quote)

    assert closed["competitor_id"] is None and closed["close_reason_id"] is None


def test_unknown_competitor_or_reason_on_a_quote_close_is_422_naming_the_field_and_changes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    quote = desk.active_quote(desk.opportunity())
    before = snapshot(engine)

    response = api.post(
        f"/api/quotes/{quote['id']}/close",
        json={"status_reason": "lost", "competitor_id": UNKNOWN_ID, "close_reason_id": UNKNOWN_ID},
    )

    assert_invalid(response, "competitor_id", "close_reason_id")
    assert snapshot(engine) == before


def test_a_won_reason_on_a_quote_close_is_422_on_close_reason_id(api: TestClient, desk: Desk, engine: Engine) -> None:
    quote = desk.active_quote(desk.opportunity())
    won_reason = desk.close_reason("won", "Best references")
    before = snapshot(engine)

    response = api.post(
        f"/api/quotes/{quote['id']}/close", json={"status_reason": "lost", "close_reason_id": won_reason["id"]}
    )

    assert_invalid(response, "close_reason_id")
    assert snapshot(engine) == before


def test_close_quotes_keeps_the_competitor_reason_and_description_on_every_closed_quote(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    active, draft = desk.active_quote(opportunity, "Phase 1"), desk.quote(opportunity, "Phase 2")
    competitor = desk.competitor()
    reason = desk.close_reason("lost", "Scope too small")

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close-quotes",
        json={
            "status_reason": "lost",
            "competitor_id": competitor["id"],
            "close_reason_id": reason["id"],
            "description": "Client chose a rival",
        },
    )

    assert response.status_code == 200, response.text
    for quote in (active, draft):
        now = desk.get_quote(quote["id"])
        assert (now["competitor_id"], now["close_reason_id"]) == (competitor["id"], reason["id"])
        assert now["close_description"] == "Client chose a rival"


def test_close_quotes_with_an_unknown_competitor_is_422_and_changes_nothing(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    desk.active_quote(opportunity)
    before = snapshot(engine)

    response = api.post(
        f"/api/opportunities/{opportunity['id']}/close-quotes",
        json={"status_reason": "lost", "competitor_id": UNKNOWN_ID},
    )

    assert_invalid(response, "competitor_id")
    assert snapshot(engine) == before


def test_quotes_closed_by_a_lost_close_take_its_competitor_lost_reason_and_description(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    competitor = desk.competitor()
    reason = desk.close_reason("lost", "Price too high")

    desk.close(
        opportunity["id"],
        "lost",
        close_quotes="lost",
        competitor_id=competitor["id"],
        close_reason_id=reason["id"],
        description="Lost on price",
    )

    closed = desk.get_quote(quote["id"])
    assert (closed["state"], closed["status_reason"]) == ("closed", "lost")
    assert (closed["competitor_id"], closed["close_reason_id"]) == (competitor["id"], reason["id"])
    assert closed["close_description"] == "Lost on price"


def test_quotes_closed_by_a_won_close_take_its_description_but_no_competitor_or_reason(
    api: TestClient, desk: Desk
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    competitor = desk.competitor()
    reason = desk.close_reason("won", "Best references")

    desk.close(
        opportunity["id"],
        "won",
        close_quotes="canceled",
        competitor_id=competitor["id"],
        close_reason_id=reason["id"],
        description="Won without a quote",
    )

    closed = desk.get_quote(quote["id"])
    assert closed["close_description"] == "Won without a quote"
    assert closed["competitor_id"] is None and closed["close_reason_id"] is None


def test_siblings_closed_by_a_win_keep_the_won_quote(api: TestClient, desk: Desk) -> None:
    opportunity = desk.opportunity()
    winner, sibling, draft = (
        desk.active_quote(opportunity, "A"),
        desk.active_quote(opportunity, "B"),
        desk.quote(opportunity, "C"),
    )

    desk.win(winner)

    for quote in (sibling, draft):
        closed = desk.get_quote(quote["id"])
        assert (closed["state"], closed["status_reason"]) == ("closed", "lost")
        assert closed["superseded_by_quote_id"] == winner["id"]
        entry = next(e for e in desk.audit(quote["id"]) if e["action"] == "close")
        assert entry["after"]["superseded_by_quote_id"] == winner["id"]
    assert desk.get_quote(winner["id"])["superseded_by_quote_id"] is None


def test_quotes_closed_by_a_lost_bulk_close_take_its_competitor_and_lost_reason(api: TestClient, desk: Desk) -> None:
    opportunities = [desk.opportunity(f"Deal {n}") for n in range(2)]
    quotes = [desk.active_quote(opportunity) for opportunity in opportunities]
    competitor = desk.competitor()
    reason = desk.close_reason("lost", "Price too high")

    response = api.post(
        "/api/opportunities/bulk-close",
        json={
            "ids": [o["id"] for o in opportunities],
            "outcome": "lost",
            "status_reason": "out_sold",
            "close_date": desk.today.isoformat(),
            "competitor_id": competitor["id"],
            "close_reason_id": reason["id"],
            "close_quotes": "lost",
        },
    )

    assert response.status_code == 200 and response.json()["closed"] == 2, response.text
    for quote in quotes:
        closed = desk.get_quote(quote["id"])
        assert (closed["competitor_id"], closed["close_reason_id"]) == (competitor["id"], reason["id"])


def test_the_activity_panel_names_what_a_closed_quote_was_lost_to_and_why(
    api: TestClient, desk: Desk, engine: Engine, settings: Settings
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active_quote(opportunity)
    competitor = desk.competitor("Rival Consulting")
    reason = desk.close_reason("lost", "Price too high")
    close_quote(api, quote, competitor_id=competitor["id"], close_reason_id=reason["id"], description="Cheaper")

    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    panel = audit_panel(Languages.load().default, uow, UUID(opportunity["id"]), currency="USD", cursor=None)

    [line] = [line for line in panel.lines if any(change.field == "Competitor" for change in line.changes)]
    shown = {change.field: change.after for change in line.changes}
    assert (shown["Competitor"], shown["Reason detail"], shown["Description"]) == (
        "Rival Consulting",
        "Price too high",
        "Cheaper",
    )
