"""Dynamics scripts keep working: the Dataverse Web API actions of the close flow, with request bodies shaped as in
Microsoft's documentation, call the same use cases as the rest of the API, so the close rule holds alike.
Errors come in Dataverse's envelope; the rest of the API keeps answering RFC 9457 problems."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth

Json = dict[str, Any]
BASE = "/api/data/v9.2"


def _created(client: TestClient, path: str, body: Json) -> Json:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    result: Json = response.json()
    return result


def _deal(api: TestClient, *, active: int = 1, estimated: str = "5000.00") -> tuple[Json, list[Json]]:
    """An open opportunity with `active` active quotes of 2,400.00 each."""
    account = _created(api, "/api/accounts", {"name": "Contoso Pharmaceuticals"})
    opportunity = _created(
        api, "/api/opportunities", {"name": "Lab rollout", "account_id": account["id"], "estimated_revenue": estimated}
    )
    quotes = []
    for number in range(active):
        lines = [{"description": "Validation", "quantity": "3", "unit_price": "800.00"}]
        quote = _created(
            api, f"/api/opportunities/{opportunity['id']}/quotes", {"name": f"Offer {number}", "lines": lines}
        )
        quotes.append(_created(api, f"/api/quotes/{quote['id']}/activate", {}))
    return opportunity, quotes


def _entity(api: TestClient, opportunity_id: str, select: str | None = None) -> Json:
    query = f"?$select={select}" if select else ""
    response = api.get(f"{BASE}/opportunities({opportunity_id}){query}")
    assert response.status_code == 200, response.text
    assert response.headers["OData-Version"] == "4.0"
    entity: Json = response.json()
    return entity


def _error(response: httpx.Response, status: int) -> Json:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: Json = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    error: Json = body["error"]
    return error


def _today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


def test_a_script_that_wins_the_quote_and_then_the_opportunity_works_as_in_dynamics(api: TestClient) -> None:
    opportunity, [quote] = _deal(api)

    won_quote = api.post(
        f"{BASE}/WinQuote",
        json={"QuoteClose": {"subject": "Quote won", "quoteid@odata.bind": f"/quotes({quote['id']})"}, "Status": 4},
    )
    assert won_quote.status_code == 204, won_quote.text
    assert _entity(api, opportunity["id"], "statecode,statuscode") == {
        "@odata.context": f"{BASE}/$metadata#opportunities(statecode,statuscode)/$entity",
        "@odata.etag": _entity(api, opportunity["id"])["@odata.etag"],
        "statecode": 0,
        "statuscode": 1,
        "opportunityid": opportunity["id"],
    }, "WinQuote leaves the opportunity open (SPEC §5)"

    won = api.post(
        f"{BASE}/WinOpportunity",
        json={
            "OpportunityClose": {
                "subject": "Won Opportunity",
                "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
            },
            "Status": 3,
        },
    )

    assert won.status_code == 204, won.text
    entity = _entity(api, opportunity["id"])
    assert (entity["statecode"], entity["statuscode"]) == (1, 3)
    assert entity["actualvalue"] == 2400.0, "the won quote's total, as dealdesk defaults it"
    assert entity["opportunityid"] == opportunity["id"]
    assert entity["_parentaccountid_value"] == opportunity["account_id"]
    assert entity["estimatedvalue"] == 5000.0 and entity["name"] == "Lab rollout"
    assert api.get(f"/api/quotes/{quote['id']}").json()["state"] == "won"


def test_lose_opportunity_with_an_active_quote_is_refused_naming_the_quote(api: TestClient) -> None:
    opportunity, [quote] = _deal(api)

    response = api.post(
        f"{BASE}/LoseOpportunity",
        json={
            "OpportunityClose": {
                "subject": "Lost Opportunity",
                "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
            },
            "Status": 4,
        },
    )

    error = _error(response, 400)
    assert error["@dealdesk.code"] == "active_quotes_block_close"
    assert quote["number"] in error["message"]
    assert [q["id"] for q in error["@dealdesk.blocking_quotes"]] == [quote["id"]]
    assert _entity(api, opportunity["id"], "statecode")["statecode"] == 0


def test_lose_opportunity_as_out_sold_records_the_competitor_revenue_and_end_date(
    api: TestClient, settings: Settings
) -> None:
    opportunity, _ = _deal(api, active=0)
    rival = _created(api, "/api/competitors", {"name": "Fabrikam"})
    yesterday = _today(settings) - timedelta(days=1)

    response = api.post(
        f"{BASE}/LoseOpportunity",
        json={
            "OpportunityClose": {
                "@odata.type": "Microsoft.Dynamics.CRM.opportunityclose",
                "subject": "Lost to Fabrikam",
                "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
                "competitorid@odata.bind": f"/competitors({rival['id']})",
                "actualrevenue": 0,
                "actualend": yesterday.isoformat(),
                "description": "Cheaper offer",
            },
            "Status": 5,
        },
    )

    assert response.status_code == 204, response.text
    entity = _entity(api, opportunity["id"])
    assert (entity["statecode"], entity["statuscode"]) == (2, 5)
    assert entity["actualclosedate"] == yesterday.isoformat()
    [record] = api.get(f"/api/opportunities/{opportunity['id']}/closes").json()["items"]
    assert (record["competitor_id"], record["description"], record["actual_revenue"]) == (
        rival["id"],
        "Cheaper offer",
        "0.00",
    )


def test_lose_opportunity_of_a_deal_with_a_won_quote_is_refused(api: TestClient) -> None:
    opportunity, [quote] = _deal(api)
    bind = {"quoteid@odata.bind": f"/quotes({quote['id']})"}
    assert api.post(f"{BASE}/WinQuote", json={"QuoteClose": bind, "Status": 4}).status_code == 204

    response = api.post(
        f"{BASE}/LoseOpportunity",
        json={"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"}, "Status": 4},
    )

    assert _error(response, 400)["@dealdesk.code"] == "won_quote_requires_won_close"


def test_close_quote_closes_as_lost_or_canceled_and_refuses_revised_as_dataverse_does(api: TestClient) -> None:
    _, [lost, canceled] = _deal(api, active=2)

    for quote, status in ((lost, 5), (canceled, 6)):
        bind = {"subject": "Closed", "quoteid@odata.bind": f"/quotes({quote['id']})"}
        assert api.post(f"{BASE}/CloseQuote", json={"QuoteClose": bind, "Status": status}).status_code == 204
    revised = api.post(
        f"{BASE}/CloseQuote", json={"QuoteClose": {"quoteid@odata.bind": f"/quotes({lost['id']})"}, "Status": 7}
    )

    assert [api.get(f"/api/quotes/{q['id']}").json()["status_reason"] for q in (lost, canceled)] == ["lost", "canceled"]
    error = _error(revised, 400)
    assert (error["code"], error["@dealdesk.code"]) == ("0x80040203", "validation_error")
    assert error["message"].startswith("Status: 7 is not a status CloseQuote can set")


def test_faults_answer_in_the_dataverse_envelope_with_sensible_statuses(api: TestClient) -> None:
    opportunity, [quote] = _deal(api)
    unknown = "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"

    missing = _error(api.get(f"{BASE}/opportunities({unknown})"), 404)
    not_a_guid = _error(api.get(f"{BASE}/opportunities(nope)"), 400)
    no_record = _error(
        api.post(
            f"{BASE}/WinOpportunity",
            json={"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({unknown})"}, "Status": 3},
        ),
        404,
    )
    wrong_status = _error(
        api.post(
            f"{BASE}/WinOpportunity",
            json={
                "OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"},
                "Status": 5,
            },
        ),
        400,
    )
    unknown_property = _error(
        api.post(
            f"{BASE}/WinQuote",
            json={"QuoteClose": {"quoteid@odata.bind": f"/quotes({quote['id']})", "discount": 5}, "Status": 4},
        ),
        400,
    )
    unreadable = _error(
        api.post(f"{BASE}/WinQuote", content=b'{"QuoteClose": ', headers={"content-type": "application/json"}), 400
    )
    future = _error(
        api.post(
            f"{BASE}/WinOpportunity",
            json={
                "OpportunityClose": {
                    "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
                    "actualend": "2999-01-01T00:00:00Z",
                },
                "Status": 3,
            },
        ),
        400,
    )
    unknown_select = _error(api.get(f"{BASE}/opportunities({opportunity['id']})?$select=revenue"), 400)

    assert missing["code"] == no_record["code"] == "0x80040217"
    assert not_a_guid["code"] == wrong_status["code"] == "0x80040203"
    assert unknown_property["message"] == (
        "QuoteClose.discount: The property 'discount' does not exist on type 'Microsoft.Dynamics.CRM.quoteclose'. "
        "Make sure to only use property names that are defined by the type."
    )
    assert unreadable["message"] == "The request body is not valid JSON"
    assert future["message"].startswith("actualend: must not be in the future")
    assert "revenue" in unknown_select["message"]


def test_the_rest_of_the_api_keeps_answering_rfc_9457_problems(api: TestClient) -> None:
    opportunity, _ = _deal(api)

    response = api.post(f"/api/opportunities/{opportunity['id']}/close", json={"outcome": "won", "close_date": "x"})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"


def test_a_viewer_may_read_but_not_close_through_the_dataverse_actions(
    api: TestClient, settings: Settings, engine: Engine
) -> None:
    opportunity, _ = _deal(api, active=0)
    token = auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "vic", Role.VIEWER, password=None).token
    viewer = {"Authorization": f"Bearer {token}"}

    read = api.get(f"{BASE}/opportunities({opportunity['id']})", headers=viewer)
    closed = api.post(
        f"{BASE}/WinOpportunity",
        json={"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({opportunity['id']})"}, "Status": 3},
        headers=viewer,
    )

    unreadable = api.post(f"{BASE}/WinOpportunity", json={"Status": "won"}, headers=viewer)

    assert read.status_code == 200
    assert _error(closed, 403)["code"] == "0x80040220"
    assert _error(unreadable, 403)["code"] == "0x80040220", "403 before the input is judged, as in the rest of the API"


def test_money_echoed_with_dataverses_four_decimals_is_taken_in_cents_and_more_is_refused(api: TestClient) -> None:
    opportunity, _ = _deal(api, active=0)
    bind = f'"opportunityid@odata.bind": "/opportunities({opportunity["id"]})"'

    def win(revenue: str) -> httpx.Response:
        body = f'{{"OpportunityClose": {{{bind}, "actualrevenue": {revenue}}}, "Status": 3}}'
        return api.post(f"{BASE}/WinOpportunity", content=body.encode(), headers={"content-type": "application/json"})

    too_precise = win("2400.0050")
    echoed = win("2400.5000")

    assert _error(too_precise, 400)["message"].startswith(
        "OpportunityClose.actualrevenue: must have at most 2 decimals"
    )
    assert echoed.status_code == 204, echoed.text
    assert _entity(api, opportunity["id"], "actualvalue")["actualvalue"] == 2400.5


def test_close_quote_keeps_dealdesks_competitor_and_reason_detail_and_quotecloses_reads_them(api: TestClient) -> None:
    _, [lost, won] = _deal(api, active=2)
    rival = api.post("/api/competitors", json={"name": "Rival Consulting"}).json()
    reason = api.post("/api/close-reasons", json={"outcome": "lost", "name": "Price too high"}).json()
    close = {
        "quoteid@odata.bind": f"/quotes({lost['id']})",
        "dd_competitorid@odata.bind": f"/competitors({rival['id']})",
        "dd_closereasonid@odata.bind": f"/dd_closereasons({reason['id']})",
    }

    assert api.post(f"{BASE}/CloseQuote", json={"QuoteClose": close, "Status": 5}).status_code == 204
    refused = api.post(
        f"{BASE}/WinQuote",
        json={"QuoteClose": {**close, "quoteid@odata.bind": f"/quotes({won['id']})"}, "Status": 4},
    )

    quote = api.get(f"/api/quotes/{lost['id']}").json()
    assert (quote["competitor_id"], quote["close_reason_id"]) == (rival["id"], reason["id"])
    [read] = api.get(f"{BASE}/quotecloses?$filter=_quoteid_value eq {lost['id']}").json()["value"]
    assert (read["_dd_competitorid_value"], read["_dd_closereasonid_value"]) == (rival["id"], reason["id"])
    assert _error(refused, 400)["@dealdesk.code"] == "validation_error"
    assert api.get(f"/api/quotes/{won['id']}").json()["state"] == "active"
