"""Changes through the Dataverse-compatible API (SPEC §10): PATCH to reopen or edit, Project Operations' bound
actions and ReviseQuote, the opportunityclose columns Dataverse defines, and `$batch` — with one test per Microsoft
documentation example body dealdesk implements. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth, opportunities
from tests.moving_in.test_dataverse import BASE, _created, _deal, _entity, _error


def _win(api: TestClient, opportunity_id: str, **close: Any) -> None:
    body = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity_id})", **close}, "Status": 3}
    response = api.post(f"{BASE}/WinOpportunity", json=body)
    assert response.status_code == 204, response.text


def _batch(api: TestClient, text: str, boundary: str, **headers: str) -> tuple[int, str]:
    response = api.post(
        f"{BASE}/$batch",
        content=text.replace("\n", "\r\n").encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}", **headers},
    )
    return response.status_code, response.text


# ---------------------------------------------------------------------------------------------- Microsoft's examples
def test_microsoft_example_win_opportunity_with_the_organization_uri_in_the_bind(api: TestClient) -> None:
    """ "Use Web API actions" (learn.microsoft.com/power-apps/developer/data-platform/webapi/use-web-api-actions):
    the WinOpportunity example binds the opportunity by its whole URI and sends Status before OpportunityClose."""
    opportunity, _ = _deal(api, active=0)
    body = (
        '{"Status": 3, "OpportunityClose": {"subject": "Won Opportunity", "opportunityid@odata.bind": '
        f'"https://org.crm.dynamics.com/api/data/v9.2/opportunities({opportunity["id"]})"}}}}'
    )

    response = api.post(f"{BASE}/WinOpportunity", content=body.encode(), headers={"Content-Type": "application/json"})

    assert response.status_code == 204, response.text
    assert _entity(api, opportunity["id"], "statecode,statuscode")["statuscode"] == 3


def test_microsoft_example_batch_with_a_changeset_and_a_get(api: TestClient) -> None:
    """ "Execute batch operations using the Web API": a change set (here a PATCH, Content-ID 1) and then a GET,
    part headers written as in the example (`Content-Transfer-Encoding:binary`, `type=entry`)."""
    opportunity, _ = _deal(api, active=0)
    text = f"""--batch_AAA123
Content-Type: multipart/mixed; boundary=changeset_BBB456

--changeset_BBB456
Content-Type: application/http
Content-Transfer-Encoding:binary
Content-ID: 1

PATCH https://org.crm.dynamics.com/api/data/v9.2/opportunities({opportunity["id"]}) HTTP/1.1
Content-Type: application/json;type=entry

{{"name": "Renamed in a batch"}}
--changeset_BBB456--

--batch_AAA123
Content-Type: application/http
Content-Transfer-Encoding:binary

GET https://org.crm.dynamics.com/api/data/v9.2/opportunities({opportunity["id"]})?$select=name HTTP/1.1
Accept: application/json

--batch_AAA123--
"""
    status, answer = _batch(api, text, "batch_AAA123")

    assert status == 200
    assert "HTTP/1.1 204 No Content" in answer and "Content-ID: 1" in answer
    assert '"name": "Renamed in a batch"' in answer
    assert answer.index("204 No Content") < answer.index("200 OK")


def test_microsoft_example_formatted_values_preference(api: TestClient) -> None:
    """ "Formatted values" (Query data: `Prefer: odata.include-annotations="OData.Community.Display.V1.
    FormattedValue"`)."""
    opportunity, _ = _deal(api, active=0)

    response = api.get(
        f"{BASE}/opportunities({opportunity['id']})?$select=statecode,estimatedvalue",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    )

    assert response.json()["statecode@OData.Community.Display.V1.FormattedValue"] == "Open"
    assert response.json()["estimatedvalue@OData.Community.Display.V1.FormattedValue"] == "$5,000.00"


# ---------------------------------------------------------------------------------------------- PATCH
def test_patch_with_statecode_0_reopens_and_edits_in_one_transaction(api: TestClient) -> None:
    opportunity, _ = _deal(api, active=0)
    _win(api, opportunity["id"])
    etag = api.get(f"{BASE}/opportunities({opportunity['id']})").headers["ETag"]

    response = api.patch(
        f"{BASE}/opportunities({opportunity['id']})",
        json={"statecode": 0, "statuscode": 2, "name": "Reopened", "estimatedvalue": 7000.0},
        headers={"If-Match": etag, "Prefer": "return=representation"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["statecode"], body["statuscode"], body["name"], body["estimatedvalue"]) == (0, 2, "Reopened", 7000.0)
    assert body["actualvalue"] is None
    [standing] = api.get(f"/api/opportunities/{opportunity['id']}/closes").json()["items"]
    assert standing["reopened_at"] is not None


def test_patch_refusals_each_answer_as_dataverse_does(api: TestClient, engine: Engine, settings: Settings) -> None:
    opportunity, _ = _deal(api, active=0)
    path = f"{BASE}/opportunities({opportunity['id']})"
    viewer = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "vic", Role.VIEWER, password=None)

    not_closed = _error(api.patch(path, json={"statecode": 0}), 400)
    close_by_patch = _error(api.patch(path, json={"statecode": 1}), 400)
    read_only = _error(api.patch(path, json={"actualvalue": 5}), 400)
    unknown = _error(api.patch(path, json={"revenue": 5}), 400)
    stale = _error(api.patch(path, json={"name": "x"}, headers={"If-Match": 'W/"999"'}), 412)
    no_upsert = _error(
        api.patch(f"{BASE}/opportunities(6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10)", json={"name": "x"}), 404
    )
    create_only = _error(api.patch(path, json={"name": "x"}, headers={"If-None-Match": "*"}), 412)
    forbidden = _error(api.patch(path, json={"name": "x"}, headers={"Authorization": f"Bearer {viewer.token}"}), 403)
    bad_money = _error(api.patch(path, json={"estimatedvalue": 1.005}), 400)

    assert (not_closed["code"], not_closed["@dealdesk.code"]) == ("0x80040265", "invalid_transition")
    assert "WinOpportunity" in close_by_patch["message"]
    assert "read-only" in read_only["message"]
    assert "The property 'revenue' does not exist on type 'Microsoft.Dynamics.CRM.opportunity'" in unknown["message"]
    assert stale["code"] == create_only["code"] == "0x80060882"
    assert no_upsert["code"] == "0x80040217"
    assert forbidden["code"] == "0x80040220"
    assert bad_money["message"].startswith("estimatedvalue: ")
    assert api.get(path).json()["name"] == "Lab rollout", "nothing changed"


# ---------------------------------------------------------------------------------------------- actions
def test_project_operations_bound_actions_and_revise_quote(api: TestClient) -> None:
    opportunity, [lost, won, revised] = _deal(api, active=3)

    as_lost = api.post(f"{BASE}/quotes({lost['id']})/Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsLost", json={})
    revision = api.post(f"{BASE}/ReviseQuote", json={"QuoteId": revised["id"], "ColumnSet": {"Columns": ["name"]}})
    as_won = api.post(f"{BASE}/quotes({won['id']})/Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsWon")
    again = api.post(f"{BASE}/quotes({won['id']})/Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsWon")

    assert as_lost.status_code == 200, as_lost.text
    assert as_lost.json()["@odata.context"].endswith("#Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsLostResponse")
    assert revision.status_code == 200, revision.text
    draft = revision.json()
    assert set(draft) == {"@odata.context", "@odata.etag", "name", "quoteid"} and draft["quoteid"] != revised["id"]
    assert as_won.status_code == 200, as_won.text
    assert _error(again, 400)["@dealdesk.code"] in ("invalid_transition", "won_quote_exists")
    states = {
        q["id"]: q["status_reason"] for q in api.get(f"/api/opportunities/{opportunity['id']}/quotes").json()["items"]
    }
    assert (states[lost["id"]], states[won["id"]], states[revised["id"]], states[draft["quoteid"]]) == (
        "lost",
        "won",
        "revised",
        "lost",
    ), "winning closed the new draft revision as lost, as it closes every sibling"


def test_opportunityclose_columns_dataverse_defines_are_checked_and_the_currency_must_be_the_deals(
    api: TestClient,
) -> None:
    opportunity, _ = _deal(api, active=0)
    reason = _created(api, "/api/close-reasons", {"outcome": "won", "name": "Best fit"})
    [usd] = api.get(f"{BASE}/transactioncurrencies?$filter=isocurrencycode eq 'USD'").json()["value"]
    [eur] = api.get(f"{BASE}/transactioncurrencies?$filter=isocurrencycode eq 'EUR'").json()["value"]
    bind = f"/opportunities({opportunity['id']})"

    def win(**close: Any) -> Any:
        body = {"OpportunityClose": {"opportunityid@odata.bind": bind, **close}, "Status": 3}
        return api.post(f"{BASE}/WinOpportunity", json=body)

    wrong_currency = _error(
        win(**{"transactioncurrencyid@odata.bind": f"/transactioncurrencies({eur['transactioncurrencyid']})"}), 400
    )
    long_category = _error(win(category="x" * 251), 400)
    won = win(
        subject="Won",
        category="Renewal",
        scheduledend="2026-01-31T10:00:00Z",
        isbilled=False,
        actualdurationminutes=15,
        **{
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({usd['transactioncurrencyid']})",
            "dd_closereasonid@odata.bind": f"/dd_closereasons({reason['id']})",
        },
    )

    assert "must be the deal's currency (USD)" in wrong_currency["message"]
    assert long_category["message"] == "OpportunityClose.category: must be text of at most 250 characters"
    assert won.status_code == 204, won.text
    [close] = api.get(f"{BASE}/opportunitycloses?$filter=_opportunityid_value eq {opportunity['id']}").json()["value"]
    assert (close["_dd_closereasonid_value"], close["statecode"]) == (reason["id"], 1)


def test_the_subject_of_a_close_is_kept_and_read_back_by_both_apis(api: TestClient) -> None:
    opportunity, _ = _deal(api, active=0)
    untitled, _ = _deal(api, active=0)

    _win(api, opportunity["id"], subject="Won after the pilot")
    _win(api, untitled["id"])

    [close] = api.get(
        f"{BASE}/opportunitycloses?$filter=_opportunityid_value eq {opportunity['id']}&$select=subject"
    ).json()["value"]
    [none] = api.get(f"{BASE}/opportunitycloses?$filter=_opportunityid_value eq {untitled['id']}").json()["value"]
    [record] = api.get(f"/api/opportunities/{opportunity['id']}/closes").json()["items"]
    found = api.get(f"{BASE}/opportunitycloses?$filter=startswith(subject,'won after')&$select=subject").json()
    assert close["subject"] == record["subject"] == "Won after the pilot"
    assert none["subject"] is None
    assert [row["activityid"] for row in found["value"]] == [close["activityid"]]


def test_the_active_quote_refusal_tells_a_dataverse_caller_what_it_can_do(api: TestClient) -> None:
    opportunity, [quote] = _deal(api, active=1)

    error = _error(
        api.post(
            f"{BASE}/WinOpportunity",
            json={
                "OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"},
                "Status": 3,
            },
        ),
        400,
    )

    assert quote["number"] in error["message"] and "CloseQuote" in error["message"]
    assert "close_quotes" not in error["message"]


# ---------------------------------------------------------------------------------------------- $batch
def _changeset(boundary: str, *requests: str) -> str:
    parts = [
        f"--{boundary}\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: {n}\n\n{r}\n"
        for n, r in enumerate(requests, start=1)
    ]
    return "".join(parts) + f"--{boundary}--\n"


def test_a_failing_changeset_rolls_back_every_operation_and_stops_the_batch(api: TestClient) -> None:
    first, _ = _deal(api, active=0)
    second, [quote] = _deal(api, active=1)
    win_second = (
        f"POST {BASE}/WinOpportunity HTTP/1.1\nContent-Type: application/json\n\n"
        f'{{"OpportunityClose": {{"opportunityid@odata.bind": "/opportunities({second["id"]})"}}, "Status": 3}}'
    )
    rename = f'PATCH {BASE}/opportunities({first["id"]}) HTTP/1.1\nContent-Type: application/json\n\n{{"name": "Gone"}}'
    text = (
        "--b\nContent-Type: multipart/mixed; boundary=cs\n\n"
        + _changeset("cs", rename, win_second)
        + f"--b\nContent-Type: application/http\n\nGET {BASE}/opportunities({first['id']}) HTTP/1.1\n\n\n--b--\n"
    )

    status, answer = _batch(api, text, "b")
    _, with_continue = _batch(api, text, "b", Prefer="odata.continue-on-error")

    assert status == 200
    assert answer.count("HTTP/1.1 ") == 1 and "HTTP/1.1 400 Bad Request" in answer and "Content-ID: 2" in answer
    assert quote["number"] in answer
    assert api.get(f"/api/opportunities/{first['id']}").json()["name"] == "Lab rollout", "rolled back"
    assert with_continue.count("HTTP/1.1 ") == 2 and "HTTP/1.1 200 OK" in with_continue


def test_a_lose_in_a_changeset_keeps_its_subject(api: TestClient) -> None:
    opportunity, _ = _deal(api, active=0)
    lose = (
        f"POST {BASE}/LoseOpportunity HTTP/1.1\nContent-Type: application/json\n\n"
        f'{{"OpportunityClose": {{"subject": "Lost on price", '
        f'"opportunityid@odata.bind": "/opportunities({opportunity["id"]})"}}, "Status": 5}}'
    )
    text = "--b\nContent-Type: multipart/mixed; boundary=cs\n\n" + _changeset("cs", lose) + "--b--\n"

    status, answer = _batch(api, text, "b")

    assert status == 200 and "HTTP/1.1 204 No Content" in answer, answer
    [record] = api.get(f"/api/opportunities/{opportunity['id']}/closes").json()["items"]
    assert (record["outcome"], record["subject"]) == ("lost", "Lost on price")


def test_batch_faults_are_dataverse_errors(api: TestClient) -> None:
    not_multipart = api.post(f"{BASE}/$batch", json={})
    nested = _batch(api, f"--b\nContent-Type: application/http\n\nPOST {BASE}/$batch HTTP/1.1\n\n\n--b--\n", "b")

    assert _error(not_multipart, 400)["message"].startswith("A $batch request must be multipart/mixed")
    assert nested[0] == 400 and "cannot contain another $batch" in nested[1]


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_in_a_changeset_answers_503_with_retry_after_and_changes_nothing(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in: a real deadlock cannot be had on demand, so the edit use case raises what psycopg raises for
    one (SQLSTATE 40P01, wrapped by SQLAlchemy) after the changeset's first operation has written."""
    first, _ = _deal(api, active=0)
    second, _ = _deal(api, active=0)
    calls: list[str] = []
    real_edit = opportunities.edit_opportunity

    def edit_then_deadlock(*args: Any, **kwargs: Any) -> Any:
        calls.append("edit")
        if len(calls) == 2:
            raise OperationalError("UPDATE opportunities …", {}, _Deadlock())
        return real_edit(*args, **kwargs)

    monkeypatch.setattr(opportunities, "edit_opportunity", edit_then_deadlock)
    rename = [
        f'PATCH {BASE}/opportunities({deal["id"]}) HTTP/1.1\nContent-Type: application/json\n\n{{"name": "Renamed"}}'
        for deal in (first, second)
    ]
    text = "--b\nContent-Type: multipart/mixed; boundary=cs\n\n" + _changeset("cs", *rename) + "--b--\n"

    status, answer = _batch(api, text, "b")

    assert status == 200
    assert "HTTP/1.1 503 Service Unavailable" in answer and "Retry-After: 1" in answer
    assert api.get(f"/api/opportunities/{first['id']}").json()["name"] == "Lab rollout", "rolled back"
