"""The close policy (SPEC §11) on the doors outside the JSON API: the CLI's `close` and `bulk-close`, the CSV import
of close records, and Dataverse's WinOpportunity / LoseOpportunity, alone and in a `$batch` changeset (400 in
Dataverse's envelope). Each refuses what the API refuses, naming the field. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.services import close_policy
from dealdesk.services.moving import Kind
from tests.moving_in.conftest import Mover, csv_text
from tests.moving_in.test_dataverse import BASE, _created, _deal, _entity, _error
from tests.moving_in.test_dataverse_changes import _batch, _changeset

DESCRIPTION_WHEN_LOST = ClosePolicy(require_description_when_lost=True)
REASON_WHEN_WON = ClosePolicy(require_close_reason_won=True)


def _require(uow: SqlUnitOfWork, actor: Actor, policy: ClosePolicy) -> None:
    close_policy.set_close_policy(uow, policy, actor=actor)


# ---------------------------------------------------------------------------------------------- the command line
DEALDESK_CLI = str(Path(sys.executable).with_name("dealdesk"))


@pytest.fixture
def command_line(settings: Settings) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs `dealdesk` in a process of its own, as an operator does (it leaves its engine to the process's end)."""
    env = {**os.environ, "DEALDESK_DATABASE_URL": settings.database_url, "DEALDESK_DEFAULT_USER": "admin"}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DEALDESK_CLI, *arguments], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return run


def _open_deal(api: TestClient) -> str:
    opportunity, _ = _deal(api, active=0)
    deal_id: str = opportunity["id"]
    return deal_id


def test_the_cli_close_is_refused_naming_the_field_the_policy_requires(
    command_line: Callable[..., subprocess.CompletedProcess[str]], api: TestClient, uow: SqlUnitOfWork, admin: Actor
) -> None:
    _require(uow, admin, DESCRIPTION_WHEN_LOST)
    deal = _open_deal(api)

    refused = command_line("close", deal, "--outcome", "lost", "--reason", "canceled")
    done = command_line("close", deal, "--outcome", "lost", "--reason", "canceled", "--description", "Budget cut")

    assert refused.returncode == 2, refused.stderr
    assert "validation_error" in refused.stderr and "description" in refused.stderr
    assert done.returncode == 0, done.stderr
    assert api.get(f"/api/opportunities/{deal}").json()["state"] == "lost"


def test_the_cli_bulk_close_reports_each_refused_row_with_the_field(
    command_line: Callable[..., subprocess.CompletedProcess[str]],
    api: TestClient,
    uow: SqlUnitOfWork,
    admin: Actor,
    tmp_path: Path,
) -> None:
    _require(uow, admin, REASON_WHEN_WON)
    deals = [_open_deal(api), _open_deal(api)]
    file = tmp_path / "deals.csv"
    file.write_text(csv_text("id", *deals), encoding="utf-8")

    result = command_line("bulk-close", str(file), "--outcome", "won")

    assert result.returncode == 1, result.stderr
    with (tmp_path / "deals.results.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["ok"] for row in rows] == ["false", "false"]
    assert all(row["code"] == "validation_error" and "close_reason_id" in row["detail"] for row in rows)
    assert [api.get(f"/api/opportunities/{deal}").json()["state"] for deal in deals] == ["open", "open"]


# ---------------------------------------------------------------------------------------------- the import
ACCOUNTS = csv_text("external_id,name", "ACC-1,Acme Engineering")
OPPORTUNITIES = csv_text(
    "external_id,name,account_external_id,estimated_revenue,state,status_reason",
    "OPP-1,Depot,ACC-1,900.00,lost,canceled",
    "OPP-2,Yard,ACC-1,500.00,lost,canceled",
)
CLOSE_HEADER = "external_id,opportunity_external_id,outcome,status_reason,close_date,description"


def test_an_imported_close_that_breaks_the_policy_is_reported_like_any_bad_row(
    mover: Mover, uow: SqlUnitOfWork, admin: Actor
) -> None:
    mover.import_(Kind.ACCOUNTS, ACCOUNTS)
    mover.import_(Kind.OPPORTUNITIES, OPPORTUNITIES)
    _require(uow, admin, DESCRIPTION_WHEN_LOST)
    file = csv_text(
        CLOSE_HEADER, "CLO-1,OPP-1,lost,canceled,2024-03-01,Budget cut", "CLO-2,OPP-2,lost,canceled,2024-03-01,"
    )

    report = mover.import_(Kind.CLOSES, file)

    assert mover.problems(report) == [(3, "description")]
    assert "close policy" in report.problems[0].reason
    assert mover.count(tables.opportunity_closes) == 0, "one bad row and nothing is written"
    _require(uow, admin, ClosePolicy())
    assert mover.import_(Kind.CLOSES, file).ok


# ---------------------------------------------------------------------------------------------- Dataverse
def _put_policy(api: TestClient, policy: ClosePolicy) -> None:
    response = api.put("/api/settings/close-policy", json=policy.as_dict())
    assert response.status_code == 200, response.text


def test_lose_opportunity_that_breaks_the_policy_is_a_400_in_the_dataverse_envelope(api: TestClient) -> None:
    _put_policy(api, DESCRIPTION_WHEN_LOST)
    opportunity, _ = _deal(api, active=0)
    close = {"subject": "Lost", "opportunityid@odata.bind": f"/opportunities({opportunity['id']})"}

    refused = api.post(f"{BASE}/LoseOpportunity", json={"OpportunityClose": close, "Status": 4})
    done = api.post(f"{BASE}/LoseOpportunity", json={"OpportunityClose": {**close, "description": "Gone"}, "Status": 4})

    error = _error(refused, 400)
    assert error["@dealdesk.code"] == "validation_error"
    assert "description" in error["message"]
    assert done.status_code == 204, done.text


def test_win_opportunity_needs_the_reason_detail_the_policy_requires(api: TestClient) -> None:
    _put_policy(api, REASON_WHEN_WON)
    opportunity, _ = _deal(api, active=0)
    reason = _created(api, "/api/close-reasons", {"outcome": "won", "name": "Best fit", "active": True})
    close = {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"}

    refused = api.post(f"{BASE}/WinOpportunity", json={"OpportunityClose": close, "Status": 3})
    assert _entity(api, opportunity["id"], "statecode")["statecode"] == 0
    bound = {**close, "dd_closereasonid@odata.bind": f"/dd_closereasons({reason['id']})"}
    done = api.post(f"{BASE}/WinOpportunity", json={"OpportunityClose": bound, "Status": 3})

    error = _error(refused, 400)
    assert error["@dealdesk.code"] == "validation_error"
    assert error["message"].startswith("dd_closereasonid: is required by the close policy"), (
        "named as Dataverse names it"
    )
    assert done.status_code == 204, done.text


def test_a_changeset_whose_close_breaks_the_policy_rolls_back_with_a_400(api: TestClient) -> None:
    _put_policy(api, REASON_WHEN_WON)
    first, _ = _deal(api, active=0)
    win = (
        f"POST {BASE}/WinOpportunity HTTP/1.1\nContent-Type: application/json\n\n"
        f'{{"OpportunityClose": {{"opportunityid@odata.bind": "/opportunities({first["id"]})"}}, "Status": 3}}'
    )
    rename = f'PATCH {BASE}/opportunities({first["id"]}) HTTP/1.1\nContent-Type: application/json\n\n{{"name": "Gone"}}'
    text = "--b\nContent-Type: multipart/mixed; boundary=cs\n\n" + _changeset("cs", rename, win) + "--b--\n"

    status, answer = _batch(api, text, "b")

    assert status == 200
    assert "HTTP/1.1 400 Bad Request" in answer and "validation_error" in answer and "dd_closereasonid" in answer
    deal = api.get(f"/api/opportunities/{first['id']}").json()
    assert (deal["name"], deal["state"]) == ("Lab rollout", "open"), "rolled back"
