"""Owners' names for lists and pickers: GET /api/users (SPEC §7, §8)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from tests.api.builders import assert_invalid, assert_problem, bearer_for_new_user, is_uuid


def test_any_signed_in_user_lists_users_by_name_with_id_role_and_active_and_no_credentials(
    api: TestClient, engine: Engine, settings: Settings
) -> None:
    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    auth.add_user(uow, "sam", Role.SALES, password=None)
    auth.add_user(uow, "mia", Role.MANAGER, password=None)
    auth.disable(uow, "sam")
    viewer = bearer_for_new_user(engine, settings.zone, Role.VIEWER)

    response = api.get("/api/users", headers=viewer)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert all(set(item) == {"id", "name", "role", "active"} and is_uuid(item["id"]) for item in body["items"])
    people = {item["name"]: (item["role"], item["active"]) for item in body["items"]}
    assert people["admin"] == ("admin", True)
    assert people["mia"] == ("manager", True)
    assert people["sam"] == ("sales", False)
    names = [item["name"] for item in body["items"]]
    assert names == sorted(names)


def test_users_are_listed_in_pages_that_together_hold_every_user_once(
    api: TestClient, engine: Engine, settings: Settings
) -> None:
    uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
    for n in range(4):
        auth.add_user(uow, f"user{n}", Role.SALES, password=None)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = api.get("/api/users", params={"limit": 2} | ({"cursor": cursor} if cursor else {})).json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == ["admin", "user0", "user1", "user2", "user3"]


def test_the_user_list_refuses_a_page_size_outside_1_to_200_and_a_cursor_it_did_not_give(api: TestClient) -> None:
    assert_invalid(api.get("/api/users", params={"limit": 0}), "limit")
    assert_invalid(api.get("/api/users", params={"limit": 201}), "limit")
    assert_invalid(api.get("/api/users", params={"cursor": "not-a-cursor"}), "cursor")


def test_the_user_list_needs_a_signed_in_caller(api: TestClient) -> None:
    api.headers.pop("Authorization")

    assert_problem(api.get("/api/users"), 401, "unauthenticated")
