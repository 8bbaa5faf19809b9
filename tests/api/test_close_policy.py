"""The close policy over the JSON API (SPEC §11): read by anyone, set by managers (audited), and enforced the same
way on a close, a win that closes the deal, a bulk close and a correction of a close record."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.domain.close_policy import CLOSE_POLICY_ID
from dealdesk.domain.states import Role
from tests.api.builders import Desk, Json, assert_invalid, assert_problem, bearer_for_new_user, snapshot

POLICY = "/api/settings/close-policy"
NOTHING = {
    "require_close_reason": {"won": False, "lost": False},
    "require_competitor_when_out_sold": False,
    "require_description_when_lost": False,
}
STRICT = {
    "require_close_reason": {"won": True, "lost": True},
    "require_competitor_when_out_sold": True,
    "require_description_when_lost": True,
}


def set_policy(api: TestClient, **changes: Any) -> Json:
    body = {**NOTHING, **changes}
    response = api.put(POLICY, json=body)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def fields(body: Json) -> list[str]:
    return [error["field"] for error in body["errors"]]


# ---------------------------------------------------------------------------------------------- the setting
@pytest.mark.parametrize("role", [Role.VIEWER, Role.SALES])
def test_every_signed_in_role_reads_the_policy_which_requires_nothing_by_default(
    api: TestClient, engine: Engine, settings: Settings, role: Role
) -> None:
    response = api.get(POLICY, headers=bearer_for_new_user(engine, settings.zone, role))

    assert response.status_code == 200
    assert response.json() == NOTHING


def test_a_manager_sets_the_policy_and_the_change_is_audited_with_before_and_after(
    api: TestClient, desk: Desk, engine: Engine, settings: Settings
) -> None:
    manager = bearer_for_new_user(engine, settings.zone, Role.MANAGER)

    response = api.put(POLICY, json=STRICT, headers=manager)

    assert response.status_code == 200, response.text
    assert response.json() == STRICT
    assert api.get(POLICY).json() == STRICT
    [entry] = desk.audit(str(CLOSE_POLICY_ID))
    assert entry["action"] == "edit" and entry["record_type"] == "close_policy"
    assert entry["before"] == NOTHING and entry["after"] == STRICT


def test_sales_may_not_set_the_policy_even_with_a_bad_body(api: TestClient, engine: Engine, settings: Settings) -> None:
    sales = bearer_for_new_user(engine, settings.zone, Role.SALES)
    before = snapshot(engine)

    assert_problem(api.put(POLICY, json=STRICT, headers=sales), 403, "forbidden")
    assert_problem(api.put(POLICY, json={"require_description_when_lost": 1}, headers=sales), 403, "forbidden")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in STRICT.items() if k != "require_description_when_lost"}, "require_description_when_lost"),
        ({**STRICT, "require_close_reason": {"won": True}}, "require_close_reason.lost"),
        ({**STRICT, "require_competitor_when_out_sold": "yes"}, "require_competitor_when_out_sold"),
        ({**STRICT, "require_anything_else": True}, "require_anything_else"),
    ],
)
def test_a_put_must_give_every_field_as_a_boolean(api: TestClient, engine: Engine, body: Json, field: str) -> None:
    before = snapshot(engine)

    answer = assert_invalid(api.put(POLICY, json=body))

    assert any(error["field"].endswith(field) for error in answer["errors"]), answer
    assert snapshot(engine) == before


# ---------------------------------------------------------------------------------------------- closing
def test_a_lost_close_is_refused_naming_each_field_the_policy_requires(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    set_policy(api, **STRICT)
    deal = desk.opportunity()
    before = snapshot(engine)

    body = {"outcome": "lost", "status_reason": "out_sold", "close_date": desk.today.isoformat()}
    answer = assert_invalid(api.post(f"/api/opportunities/{deal['id']}/close", json=body))

    assert fields(answer) == ["close_reason_id", "competitor_id", "description"]
    assert snapshot(engine) == before


def test_a_close_that_carries_what_the_policy_requires_goes_through(api: TestClient, desk: Desk) -> None:
    set_policy(api, **STRICT)
    deal = desk.opportunity()
    reason, rival = desk.close_reason("lost"), desk.competitor()

    answer = desk.close(
        deal["id"], "lost", close_reason_id=reason["id"], competitor_id=rival["id"], description="Lost on price"
    )

    assert answer["opportunity"]["state"] == "lost"


def test_the_policy_is_checked_before_a_stale_if_match_and_before_an_active_quote(api: TestClient, desk: Desk) -> None:
    set_policy(api, require_close_reason={"won": True, "lost": False})
    deal = desk.opportunity()
    desk.active_quote(deal)

    response = api.post(
        f"/api/opportunities/{deal['id']}/close",
        json={"outcome": "won", "close_date": desk.today.isoformat()},
        headers={"If-Match": '"999"'},
    )

    assert fields(assert_invalid(response, "close_reason_id")) == ["close_reason_id"]


def test_winning_a_quote_with_close_opportunity_is_held_to_the_policy(
    api: TestClient, desk: Desk, engine: Engine
) -> None:
    set_policy(api, require_close_reason={"won": True, "lost": False})
    deal = desk.opportunity()
    quote = desk.active_quote(deal)
    before = snapshot(engine)

    answer = assert_invalid(api.post(f"/api/quotes/{quote['id']}/win", json={"close_opportunity": True}))

    assert fields(answer) == ["close_reason_id"]
    assert snapshot(engine) == before
    won = desk.win(quote, close_opportunity=True, close_reason_id=desk.close_reason("won", "Best fit")["id"])
    assert won["opportunity"]["state"] == "won"


def test_winning_a_quote_without_closing_the_deal_is_not_governed(api: TestClient, desk: Desk) -> None:
    set_policy(api, **STRICT)
    quote = desk.active_quote(desk.opportunity())

    assert desk.win(quote)["opportunity"]["state"] == "open"


def test_a_quote_close_is_not_governed(api: TestClient, desk: Desk) -> None:
    set_policy(api, **STRICT)
    quote = desk.active_quote(desk.opportunity())

    assert desk.close_quote(quote, "lost")["state"] == "closed"


def test_bulk_close_reports_each_refused_opportunity_with_the_field(api: TestClient, desk: Desk) -> None:
    set_policy(api, require_description_when_lost=True)
    account = desk.account()
    ids = [desk.opportunity("First", account=account)["id"], desk.opportunity("Second", account=account)["id"]]
    body = {"ids": ids, "outcome": "lost", "status_reason": "canceled", "close_date": desk.today.isoformat()}

    answer = desk.expect(api.post("/api/opportunities/bulk-close", json=body), 200)

    assert answer["closed"] == 0 and answer["failed"] == 2
    for row in answer["results"]:
        assert row["ok"] is False
        assert row["error"]["code"] == "validation_error"
        assert "description" in row["error"]["detail"]
    assert [desk.get_opportunity(i)["state"] for i in ids] == ["open", "open"]
    answer = desk.expect(api.post("/api/opportunities/bulk-close", json={**body, "description": "Budget cut"}), 200)
    assert answer["closed"] == 2


def test_a_correction_may_not_clear_a_value_the_policy_requires(api: TestClient, desk: Desk, engine: Engine) -> None:
    rival = desk.competitor()
    deal = desk.opportunity()
    close = desk.close(deal["id"], "lost", competitor_id=rival["id"], description="Lost on price")["close"]
    set_policy(api, require_competitor_when_out_sold=True, require_description_when_lost=True)
    before = snapshot(engine)

    answer = assert_invalid(api.patch(f"/api/closes/{close['id']}", json={"competitor_id": None, "description": ""}))

    assert fields(answer) == ["competitor_id", "description"]
    assert snapshot(engine) == before
    fix = {"description": "Lost on price and scope"}
    corrected = desk.expect(api.patch(f"/api/closes/{close['id']}", json=fix), 200)
    assert corrected["description"] == "Lost on price and scope"
