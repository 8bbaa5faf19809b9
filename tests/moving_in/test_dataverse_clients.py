"""Two real Dataverse clients from PyPI drive a real `dealdesk serve` through their public entry points, on SQLite
and PostgreSQL (SPEC §10): `dataverse-api` over HTTP with a requests session carrying a dealdesk bearer token, and
Microsoft's `PowerPlatform-Dataverse-Client`, which insists on HTTPS, against the server's own TLS (`serve
--certfile --keyfile`) with a throwaway CA.

Where a client's public API has no way to say an operation (neither calls an arbitrary action; dataverse-api has no
single-record read by id), the test says so and sends the request as Microsoft's documentation shapes it, over the
same session or TLS connection."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from dataverse_api import DataverseClient as DataverseApiClient
from dataverse_api.errors import DataverseAPIError
from dataverse_api.utils.batching import BatchCommand, RequestMethod
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from tests.moving_in.dataverse_server import Seeder, Tls, dealdesk_serve, throwaway_tls

Json = dict[str, Any]
BASE = "/api/data/v9.2"


@pytest.fixture
def token(engine: Engine, settings: Settings) -> str:
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "ops", Role.ADMIN, password=None).token


@pytest.fixture
def http_server(engine: Engine, settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Plain HTTP and no DEALDESK_PUBLIC_URL: the links in answers are relative, as dataverse-api resolves them."""
    with dealdesk_serve(settings.database_url, tmp_path / "serve.log") as url:
        yield url


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return throwaway_tls(tmp_path)


@pytest.fixture
def https_server(engine: Engine, settings: Settings, tmp_path: Path, tls: Tls) -> Iterator[str]:
    """HTTPS by `serve --certfile --keyfile`; DEALDESK_PUBLIC_URL set, since Microsoft's client follows
    @odata.nextLink as an absolute URL."""
    with dealdesk_serve(settings.database_url, tmp_path / "serve.log", tls=tls, public=True) as url:
        yield url


# ---------------------------------------------------------------------------------------------- dataverse-api
def _batch_parts(responses: list[requests.Response]) -> list[tuple[int, str]]:
    """The (status, body) of each operation in the multipart answers of a batch."""
    parts = []
    for response in responses:
        assert response.status_code == 200, response.text
        for chunk in response.text.split("HTTP/1.1 ")[1:]:
            status = int(chunk[:3])
            body = chunk.split("\r\n\r\n", 1)[1].split("\r\n--", 1)[0] if "\r\n\r\n" in chunk else ""
            parts.append((status, body))
    return parts


def test_dataverse_api_connects_reads_pages_closes_reopens_and_batches(http_server: str, token: str) -> None:
    seed = Seeder(http_server, token)
    won_deal, [won_quote] = seed.deal("Lab rollout alpha", active=1)
    lost_deal, [lost_quote] = seed.deal("Lab rollout beta", active=1)
    extra = [seed.deal(f"Lab rollout {n}")[0] for n in range(3)]
    rival = seed.post("/competitors", {"name": "Fabrikam"})
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    client = DataverseApiClient(session, f"{http_server}/")

    # Connect: Keys, sdkmessagefilters, EntityDefinitions(LogicalName=…) and both relationship lists.
    opportunities = client.entity("opportunity")
    assert (opportunities.entity_set_name, opportunities.primary_id_attr) == ("opportunities", "opportunityid")
    assert opportunities.alternate_keys == {}
    assert not opportunities.supports_create_multiple
    assert "opportunity_quotes" in opportunities.relationships.collection_valued

    # Read one (dataverse-api reads collections only: a filter on the key).
    [one] = opportunities.read(filter=f"opportunityid eq {won_deal['id']}", select=["name", "statecode"])
    assert (one["name"], one["statecode"], one["opportunityid"]) == ("Lab rollout alpha", 0, won_deal["id"])

    # List with a filter and paging (Prefer: odata.maxpagesize, @odata.nextLink followed by the client).
    pages = opportunities.read(
        filter="statecode eq 0 and contains(name,'rollout')", select=["name"], page_size=2, return_responses=True
    )
    names = sorted(row["name"] for page in pages for row in page.json()["value"])
    assert len(pages) == 3
    assert names == sorted(["Lab rollout alpha", "Lab rollout beta", *(deal["name"] for deal in extra)])

    # The actions: dataverse-api cannot call an action by itself, but its public submit_batch sends any
    # request; the bodies are Microsoft's documented ones (WinQuote, WinOpportunity, LoseOpportunity, CloseQuote).
    blocked = _batch_parts(
        client.submit_batch(
            [
                BatchCommand(
                    "LoseOpportunity",
                    RequestMethod.POST,
                    data={
                        "OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({lost_deal['id']})"},
                        "Status": 5,
                    },
                )
            ]
        )
    )
    assert blocked[0][0] == 400 and lost_quote["number"] in blocked[0][1], "the active quote blocks, named"
    assert "close_quotes" not in blocked[0][1], "a Dataverse caller cannot send close_quotes"
    flow = _batch_parts(
        client.submit_batch(
            [
                BatchCommand(
                    "WinQuote",
                    RequestMethod.POST,
                    data={
                        "QuoteClose": {"subject": "Won", "quoteid@odata.bind": f"/quotes({won_quote['id']})"},
                        "Status": 4,
                    },
                ),
                BatchCommand(
                    "WinOpportunity",
                    RequestMethod.POST,
                    data={
                        "OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({won_deal['id']})"},
                        "Status": 3,
                    },
                ),
                BatchCommand(
                    "CloseQuote",
                    RequestMethod.POST,
                    data={"QuoteClose": {"quoteid@odata.bind": f"/quotes({lost_quote['id']})"}, "Status": 5},
                ),
                BatchCommand(
                    "LoseOpportunity",
                    RequestMethod.POST,
                    data={
                        "OpportunityClose": {
                            "opportunityid@odata.bind": f"/opportunities({lost_deal['id']})",
                            "competitorid@odata.bind": f"/competitors({rival['id']})",
                            "description": "Cheaper offer",
                        },
                        "Status": 5,
                    },
                ),
            ]
        )
    )
    assert [status for status, _ in flow] == [204, 204, 204, 204], flow
    assert (seed.opportunity(won_deal["id"])["state"], seed.quote(won_quote["id"])["state"]) == ("won", "won")
    lost = seed.opportunity(lost_deal["id"])
    assert (lost["state"], lost["status_reason"]) == ("lost", "out_sold")
    [close] = seed.get(f"/opportunities/{lost_deal['id']}/closes")["items"]
    assert close["competitor_id"] == rival["id"]

    # Reopen by update (SetState as PATCH statecode 0), then a batch of edits through upsert(mode="batch").
    [reopened] = opportunities.upsert([{"opportunityid": won_deal["id"], "statecode": 0, "statuscode": 2}])
    assert reopened.status_code == 204, reopened.text
    assert (seed.opportunity(won_deal["id"])["state"], seed.opportunity(won_deal["id"])["status_reason"]) == (
        "open",
        "on_hold",
    )
    edits = opportunities.upsert(
        [{"opportunityid": deal["id"], "description": f"Batch {n}"} for n, deal in enumerate(extra)], mode="batch"
    )
    assert [status for status, _ in _batch_parts(edits)] == [204, 204, 204]
    assert [seed.opportunity(deal["id"])["description"] for deal in extra] == ["Batch 0", "Batch 1", "Batch 2"]

    # A refusal: upsert hands back the answer (the library logs it), in Dataverse's envelope ...
    logging.getLogger().setLevel(logging.CRITICAL)
    [again] = opportunities.upsert([{"opportunityid": extra[0]["id"], "statecode": 0}])
    assert again.status_code == 400
    assert again.json()["error"]["@dealdesk.code"] == "invalid_transition"
    # ... and a refused read surfaces as the library's own error type, carrying Dataverse's message.
    with pytest.raises(DataverseAPIError) as refused:
        opportunities.read(select=["name"], expand="parentaccountid")
    assert "'$expand' is not supported" in str(refused.value)
    assert refused.value.response.json()["error"]["code"] == "0x80040203"


# ---------------------------------------------------------------------------------------------- Microsoft's client
class DealdeskToken:
    """The auth stand-in: there is no Entra ID here, so this TokenCredential (azure-core's protocol, which
    Microsoft's client takes) hands out a dealdesk API token instead of an OAuth access token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token, int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))


def test_microsoft_client_connects_over_tls_reads_pages_closes_reopens_batches_and_is_refused(
    https_server: str, token: str, tls: Tls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))  # trust the throwaway CA, as requests documents
    seed = Seeder(https_server, token, verify=str(tls.ca_file))
    won_deal, [won_quote, draft] = seed.deal("Pilot north", active=1, drafts=1)
    lost_deal, [lost_quote] = seed.deal("Pilot south", active=1)
    others = [seed.deal(f"Pilot {n}")[0] for n in range(3)]
    credential = DealdeskToken(token)
    actions = requests.Session()  # Microsoft's client has no public way to call an action: raw requests, shaped
    actions.headers.update({"Authorization": f"Bearer {token}", "OData-Version": "4.0", "Accept": "application/json"})
    actions.verify = str(tls.ca_file)

    def action(name: str, body: Json) -> requests.Response:
        return actions.post(f"{https_server}{BASE}/{name}", json=body, timeout=30)

    with DataverseClient(https_server, credential) as client:
        # Connect and read one: EntityDefinitions?$filter=LogicalName eq 'opportunity', then the record.
        record = client.records.retrieve(
            "opportunity",
            won_deal["id"],
            select=["name", "statecode", "estimatedvalue"],
            include_annotations="OData.Community.Display.V1.FormattedValue",
        )
        assert record is not None
        assert (record["name"], record["statecode"], record["estimatedvalue"]) == ("Pilot north", 0, 5000.0)
        assert record["statecode@OData.Community.Display.V1.FormattedValue"] == "Open"
        assert record["estimatedvalue@OData.Community.Display.V1.FormattedValue"] == "$5,000.00"
        assert set(credential.scopes) == {f"{https_server}/.default"}

        # List with a filter and paging: @odata.nextLink is absolute (DEALDESK_PUBLIC_URL) and the client follows it.
        pages = list(
            client.records.list_pages(
                "opportunity", filter="startswith(name,'Pilot')", select=["name"], orderby=["name desc"], page_size=2
            )
        )
        assert [len(page) for page in pages] == [2, 2, 1]
        names = [row["name"] for page in pages for row in page]
        assert names == sorted(names, reverse=True) and len(set(names)) == 5

        # Win a quote (Project Operations' bound msdyn_CloseQuoteAsWon), close the lost deal's quote (CloseQuote),
        # win and lose the deals — raw requests as Microsoft documents them, over the same TLS.
        won = actions.post(
            f"{https_server}{BASE}/quotes({won_quote['id']})/Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsWon", json={}
        )
        assert won.status_code == 200, won.text
        assert seed.quote(draft["id"])["status_reason"] == "lost", "the sibling draft closes as lost (SPEC §5)"
        close_quote = {"QuoteClose": {"quoteid@odata.bind": f"/quotes({lost_quote['id']})"}, "Status": 6}
        assert action("CloseQuote", close_quote).status_code == 204
        win = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({won_deal['id']})"}, "Status": 3}
        assert action("WinOpportunity", win).status_code == 204
        lose = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({lost_deal['id']})"}, "Status": 4}
        assert action("LoseOpportunity", lose).status_code == 204
        closed = client.records.retrieve("opportunity", won_deal["id"], select=["statecode", "actualvalue"])
        assert closed is not None and (closed["statecode"], closed["actualvalue"]) == (1, 2400.0)

        # Reopen by update (PATCH statecode 0 with If-Match: *, as the client sends it).
        client.records.update("opportunity", lost_deal["id"], {"statecode": 0, "statuscode": 1})
        assert seed.opportunity(lost_deal["id"])["state"] == "open"

        # A refusal surfaces as the client's own HttpError with Dataverse's code and message.
        with pytest.raises(HttpError) as refused:
            client.records.update("opportunity", others[0]["id"], {"statecode": 0})
        assert refused.value.status_code == 400
        assert refused.value.details["service_error_code"] == "0x80040265"
        assert "reopen" in str(refused.value).lower() or "transition" in str(refused.value).lower()

        # A batch: one changeset of two edits commits together; a changeset with a refused step changes nothing.
        batch = client.batch.new()
        with batch.changeset() as changes:
            changes.records.update("opportunity", others[1]["id"], {"description": "first"})
            changes.records.update("opportunity", others[2]["id"], {"description": "second"})
        result = batch.execute()
        assert [item.status_code for item in result.responses] == [204, 204]
        failing = client.batch.new()
        with failing.changeset() as changes:
            changes.records.update("opportunity", others[1]["id"], {"description": "rolled back"})
            changes.records.update("opportunity", others[2]["id"], {"statecode": 0})
        outcome = failing.execute()
        assert [item.status_code for item in outcome.responses] == [400]
        assert seed.opportunity(others[1]["id"])["description"] == "first", "the changeset rolled back as one"
