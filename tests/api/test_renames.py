"""Renaming accounts (sales and up) and competitors (managers) through PATCH (SPEC §7), audited; a competitor's
new name is still unique case-insensitively."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from tests.api.builders import assert_invalid, assert_problem


def _token(engine: Engine, settings: Settings, name: str, role: Role) -> str:
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), name, role, password=None).token


def test_an_account_is_renamed_and_the_change_is_audited(api: TestClient) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    renamed = api.patch(f"/api/accounts/{account['id']}", json={"name": "Acme Engineering"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Acme Engineering"
    assert api.get(f"/api/accounts/{account['id']}").json()["name"] == "Acme Engineering"
    entries = api.get(f"/api/audit?record={account['id']}").json()["items"]
    assert entries[0]["action"] == "edit"
    assert (entries[0]["before"], entries[0]["after"]) == ({"name": "Acme"}, {"name": "Acme Engineering"})


def test_an_account_name_must_not_be_blank_nor_longer_than_160_characters(api: TestClient) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    assert_invalid(api.patch(f"/api/accounts/{account['id']}", json={"name": " "}), "name")
    assert_invalid(api.patch(f"/api/accounts/{account['id']}", json={"name": "a" * 161}), "name")
    assert api.get(f"/api/accounts/{account['id']}").json()["name"] == "Acme"


def test_a_viewer_may_not_rename_an_account_and_an_unknown_one_is_404(
    api: TestClient, engine: Engine, settings: Settings
) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    viewer = {"Authorization": f"Bearer {_token(engine, settings, 'vic', Role.VIEWER)}"}
    assert_problem(api.patch(f"/api/accounts/{account['id']}", json={"name": "X"}, headers=viewer), 403, "forbidden")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(api.patch(f"/api/accounts/{unknown}", json={"name": "X"}), 404, "not_found")


def test_a_competitor_is_renamed_by_a_manager_and_a_name_taken_in_any_case_is_a_duplicate(
    api: TestClient, engine: Engine, settings: Settings
) -> None:
    rival = api.post("/api/competitors", json={"name": "Rival"}).json()
    api.post("/api/competitors", json={"name": "Other"})
    assert api.patch(f"/api/competitors/{rival['id']}", json={"name": "Rival Ltd"}).json()["name"] == "Rival Ltd"
    assert_problem(api.patch(f"/api/competitors/{rival['id']}", json={"name": "OTHER"}), 409, "duplicate")
    assert api.patch(f"/api/competitors/{rival['id']}", json={"name": "RIVAL LTD"}).status_code == 200
    sales = {"Authorization": f"Bearer {_token(engine, settings, 'sam', Role.SALES)}"}
    response = api.patch(f"/api/competitors/{rival['id']}", json={"name": "Mine"}, headers=sales)
    assert_problem(response, 403, "forbidden")
