"""The Dataverse-compatible reads (SPEC §10): metadata from the one entity description, entity sets with $select,
$filter, $orderby, $top, $count and paging in SQL, If-None-Match, FormattedValue, currencies, links that never
echo the Host header, and Dataverse's envelope for every failure under /api/data/ — on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from dealdesk.config import Settings
from dealdesk.db.record_reads import LABEL_SOURCES, SOURCES, SqlRecordReads
from dealdesk.services.record_queries import RecordKind
from dealdesk.web.api.dataverse.entities import ENTITIES, OPPORTUNITY, Kind
from dealdesk.web.api.dataverse.query import collection_request, preferences
from dealdesk.web.app import create_app
from tests.moving_in.test_dataverse import BASE, Json, _created, _deal, _error

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _value(api: TestClient, path: str, **headers: str) -> list[Json]:
    response = api.get(f"{BASE}/{path}", headers=headers)
    assert response.status_code == 200, response.text
    rows: list[Json] = response.json()["value"]
    return rows


def _names(api: TestClient, filter_: str) -> list[str]:
    return sorted(row["name"] for row in _value(api, f"opportunities?$select=name&$filter={filter_}"))


@pytest.fixture
def deals(api: TestClient) -> dict[str, Json]:
    """Three open deals of one account and a fourth of another, with estimated revenues 1000, 2000, 3000, 4000."""
    account = _created(api, "/api/accounts", {"name": "Contoso"})
    other = _created(api, "/api/accounts", {"name": "Fabrikam"})
    found = {}
    for number, name in enumerate(["Alpha lab", "Beta lab", "Gamma O'Brien", "Delta"], start=1):
        body = {
            "name": name,
            "account_id": (account if number < 4 else other)["id"],
            "estimated_revenue": f"{number}000.00",
            "currency": "HKD" if number == 4 else "USD",
        }
        found[name] = _created(api, "/api/opportunities", body)
    return found


# ---------------------------------------------------------------------------------------------- one description
def test_metadata_entity_definitions_and_the_read_model_all_come_from_the_one_description(api: TestClient) -> None:
    schema = ET.fromstring(api.get(f"{BASE}/$metadata").content)
    types = {node.get("Name"): node for node in schema.iter(f"{EDM}EntityType")}
    sets = {node.get("Name"): node.get("EntityType") for node in schema.iter(f"{EDM}EntitySet")}
    for entity in ENTITIES:
        assert sets[entity.set_name] == f"mscrm.{entity.logical_name}"
        declared = [p.get("Name") for p in types[entity.logical_name].iter(f"{EDM}Property")]
        assert declared == list(entity.property_names)
        definition = api.get(f"{BASE}/EntityDefinitions(LogicalName='{entity.logical_name}')").json()
        assert (definition["EntitySetName"], definition["PrimaryIdAttribute"]) == (entity.set_name, entity.primary_id)
        attributes = _value(api, f"EntityDefinitions(LogicalName='{entity.logical_name}')/Attributes")
        assert [a["LogicalName"] for a in attributes] == [a.name for a in entity.attributes]
        if entity.record_kind:
            kind = cast(RecordKind, entity.record_kind)
            assert {a.source for a in entity.attributes} <= set(SOURCES[kind]), entity.logical_name
            labels = {a.label for a in entity.attributes if a.label is not None}
            assert labels <= set(LABEL_SOURCES.get(kind, {})), entity.logical_name
    actions = {node.get("Name") for node in schema.iter(f"{EDM}Action")}
    assert {"WinOpportunity", "LoseOpportunity", "WinQuote", "CloseQuote", "ReviseQuote"} <= actions
    assert {"msdyn_CloseQuoteAsWon", "msdyn_CloseQuoteAsLost"} <= actions


def test_the_metadata_queries_the_clients_send_on_connect_are_answered(api: TestClient) -> None:
    by_filter = api.get(
        f"{BASE}/EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"
        "&$filter=LogicalName eq 'opportunity'"
    ).json()["value"]
    keys = _value(api, "EntityDefinitions(LogicalName='opportunity')/Keys?$select=SchemaName,KeyAttributes")
    filters = api.get(
        f"{BASE}/sdkmessagefilters?$select=sdkmessagefilterid&$expand=sdkmessageid($select=name)"
        "&$filter=(sdkmessageid/name eq 'CreateMultiple' or sdkmessageid/name eq 'UpdateMultiple') "
        "and primaryobjecttypecode eq 'opportunity'"
    )
    picklists = _value(
        api,
        "EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet($select=Options)",
    )
    many_to_one = _value(api, "EntityDefinitions(LogicalName='quote')/ManyToOneRelationships")
    unknown = api.get(f"{BASE}/EntityDefinitions?$filter=LogicalName eq 'lead'").json()["value"]

    assert [{k: v for k, v in d.items() if k != "MetadataId"} for d in by_filter] == [
        {"LogicalName": "opportunity", "EntitySetName": "opportunities", "PrimaryIdAttribute": "opportunityid"}
    ]
    assert keys == [] and filters.json()["value"] == [] and unknown == []
    status = next(p for p in picklists if p["LogicalName"] == "statuscode")
    assert [
        (o["Value"], o["Label"]["UserLocalizedLabel"]["Label"], o["State"]) for o in status["OptionSet"]["Options"]
    ] == [
        (1, "In Progress", 0),
        (2, "On Hold", 0),
        (3, "Won", 1),
        (4, "Canceled", 2),
        (5, "Out-Sold", 2),
    ]
    assert {r["ReferencingEntityNavigationPropertyName"] for r in many_to_one} == {
        "opportunityid",
        "transactioncurrencyid",
    }


# ---------------------------------------------------------------------------------------------- $filter
@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("estimatedvalue gt 2000", ["Delta", "Gamma O'Brien"]),
        ("estimatedvalue ge 2000 and estimatedvalue lt 4000", ["Beta lab", "Gamma O'Brien"]),
        ("not (estimatedvalue le 3000)", ["Delta"]),
        ("estimatedvalue eq 1000 or (contains(name,'LAB') and statecode eq 0)", ["Alpha lab", "Beta lab"]),
        ("name eq 'Gamma O''Brien'", ["Gamma O'Brien"]),
        ("startswith(name,'del') or endswith(name,'a lab')", ["Alpha lab", "Beta lab", "Delta"]),
        ("2500 lt estimatedvalue and statuscode ne 2", ["Delta", "Gamma O'Brien"]),
        ("estimatedclosedate eq null and description ne null", []),
        ("statecode gt 0", []),
    ],
)
def test_filters_combine_comparisons_functions_and_parentheses(
    api: TestClient, deals: dict[str, Json], filter_: str, expected: list[str]
) -> None:
    assert _names(api, filter_) == expected


def test_a_name_prefix_ordered_by_name_reads_a_range_of_the_lower_name_index_on_postgresql(
    api: TestClient, deals: dict[str, Json], engine: Engine
) -> None:
    """The statement db/record_reads.py runs for `startswith(name,…)` must be one the index of migration 0011
    answers (`lower(name) LIKE 'prefix%'` against `lower(name) text_pattern_ops`). With sequential scans priced out,
    PostgreSQL still scans the table when no index matches the expression, so the plan names the index only if the
    SQL and the index agree. SQLite has no such index (its comparison uses dealdesk's own lower-casing): there the
    answer itself is checked."""
    _created(api, "/api/opportunities", {**_body_like(deals["Beta lab"]), "name": "BETA rollout"})
    params = {"$filter": "startswith(name,'beta')", "$select": "name", "$orderby": "name desc"}

    rows = _value(api, "opportunities?" + "&".join(f"{k}={v}" for k, v in params.items()))

    assert sorted(row["name"] for row in rows) == ["BETA rollout", "Beta lab"]
    if engine.dialect.name != "postgresql":
        return
    request = collection_request(OPPORTUNITY, params, preferences("odata.maxpagesize=2"))
    with engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        statement = SqlRecordReads(lambda: conn).page_statement(request.query, conn)
        compiled = statement.compile(dialect=conn.dialect)
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params))
    assert "ix_opportunities_lower_name" in plan, plan


def _body_like(deal: Json) -> Json:
    return {"account_id": deal["account_id"], "estimated_revenue": deal["estimated_revenue"]}


def test_lookups_filter_by_their_value_and_currencies_have_a_stable_id(api: TestClient, deals: dict[str, Json]) -> None:
    account_id = deals["Delta"]["account_id"]
    [hkd] = _value(api, "transactioncurrencies?$filter=isocurrencycode eq 'HKD'")
    by_id = api.get(f"{BASE}/transactioncurrencies({hkd['transactioncurrencyid']})").json()

    assert _names(api, f"_parentaccountid_value eq {account_id}") == ["Delta"]
    assert _names(api, f"_transactioncurrencyid_value eq {hkd['transactioncurrencyid']}") == ["Delta"]
    assert (by_id["isocurrencycode"], by_id["currencysymbol"]) == ("HKD", "HK$")
    delta = api.get(f"{BASE}/opportunities({deals['Delta']['id']})?$select=_transactioncurrencyid_value").json()
    assert delta["_transactioncurrencyid_value"] == hkd["transactioncurrencyid"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("$filter=revenue gt 1", "Could not find a property named 'revenue'"),
        ("$filter=name eq 5", "incompatible types"),
        ("$filter=tolower(name) eq 'a'", "'tolower' is not supported"),
        ("$filter=estimatedvalue add 1 gt 2", "expected eq, ne, gt, ge, lt or le"),
        ("$filter=name eq 'open", "unterminated string"),
        ("$filter=(name eq 'a'", "expected ')'"),
        ("$filter=" + "(" * 60 + "name eq 'a'" + ")" * 60, "nests deeper"),
        ("$filter=contains(estimatedvalue,'1')", "text columns"),
        ("$expand=parentaccountid", "'$expand' is not supported"),
        ("$apply=groupby((name))", "'$apply' is not supported"),
        ("$skip=2", "'$skip' is not supported"),
        ("$top=x", "Invalid value 'x' for $top"),
        ("$orderby=name sideways", "not a valid $orderby"),
        ("$skiptoken=bm9wZQ", "$skiptoken is not one this server gave out"),
    ],
)
def test_what_dealdesk_does_not_support_is_a_400_never_ignored(
    api: TestClient, deals: dict[str, Json], query: str, fragment: str
) -> None:
    error = _error(api.get(f"{BASE}/opportunities?{query}"), 400)
    assert fragment in error["message"]
    assert error["code"] == "0x80040203"


# ---------------------------------------------------------------------------------------------- paging
def _all_pages(api: TestClient, path: str, page_size: int) -> Iterator[Json]:
    url: str | None = f"{BASE}/{path}"
    while url is not None:
        response = api.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        assert len(body["value"]) <= page_size
        yield from body["value"]
        url = body.get("@odata.nextLink")


def test_paging_by_maxpagesize_and_next_links_reads_every_row_once_in_order(api: TestClient) -> None:
    account = _created(api, "/api/accounts", {"name": "Paging"})
    for number in range(7):
        body = {"name": f"Deal {number % 3}", "account_id": account["id"], "estimated_revenue": f"{number}.00"}
        if number % 2 == 0:
            body["estimated_close_date"] = f"2030-01-0{1 + number % 4}"
        _created(api, "/api/opportunities", body)

    by_name = [(r["name"], r["estimatedvalue"]) for r in _all_pages(api, "opportunities?$orderby=name desc", 2)]
    default = list(_all_pages(api, "opportunities?$select=name&$count=true", 3))

    assert by_name == sorted(by_name, key=lambda row: row[0], reverse=True) and len(by_name) == 7
    assert len(set(by_name)) == 7
    assert len({row["opportunityid"] for row in default}) == 7
    for direction in ("asc", "desc"):  # a nullable key: nulls first ascending, last descending, on both engines
        dates = [
            r["estimatedclosedate"]
            for r in _all_pages(api, f"opportunities?$orderby=estimatedclosedate {direction}", 2)
        ]
        filled = sorted(d for d in dates if d is not None)
        expected = [None] * 3 + filled if direction == "asc" else filled[::-1] + [None] * 3
        assert dates == expected, direction
    counted = api.get(f"{BASE}/opportunities?$count=true&$top=2").json()
    assert (counted["@odata.count"], len(counted["value"]), "@odata.nextLink" in counted) == (7, 2, False)


def test_links_are_relative_by_default_and_absolute_from_the_public_url_never_from_the_host_header(
    settings: Settings, admin_token: str, deals: dict[str, Json]
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}", "Host": "attacker.example", "Prefer": "odata.maxpagesize=1"}
    with TestClient(create_app(settings), headers=headers) as plain:
        relative = plain.get(f"{BASE}/opportunities").json()
    public = settings.model_copy(update={"public_url": "https://deals.example.com"})
    with TestClient(create_app(public), headers=headers) as behind_proxy:
        absolute = behind_proxy.get(f"{BASE}/opportunities").json()

    assert relative["@odata.context"] == f"{BASE}/$metadata#opportunities"
    assert relative["@odata.nextLink"].startswith(f"{BASE}/opportunities?")
    assert absolute["@odata.context"] == f"https://deals.example.com{BASE}/$metadata#opportunities"
    assert absolute["@odata.nextLink"].startswith(f"https://deals.example.com{BASE}/opportunities?")
    assert "$skiptoken" in parse_qs(urlsplit(absolute["@odata.nextLink"]).query)
    assert "attacker" not in str(relative) + str(absolute)


# ---------------------------------------------------------------------------------------------- one record
def test_if_none_match_with_the_current_etag_is_304_and_formatted_values_come_on_request(
    api: TestClient, deals: dict[str, Json]
) -> None:
    path = f"{BASE}/opportunities({deals['Delta']['id']})"
    first = api.get(path, headers={"Prefer": 'odata.include-annotations="*"'})
    unchanged = api.get(path, headers={"If-None-Match": first.headers["ETag"]})
    api.patch(path, json={"description": "changed"})
    changed = api.get(path, headers={"If-None-Match": first.headers["ETag"]})

    body = first.json()
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] == "In Progress"
    assert body["estimatedvalue@OData.Community.Display.V1.FormattedValue"] == "HK$4,000.00"
    assert body["_transactioncurrencyid_value@OData.Community.Display.V1.FormattedValue"] == "Hong Kong Dollar"
    assert first.headers["Preference-Applied"] == 'odata.include-annotations="*"'
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert changed.status_code == 200 and changed.json()["description"] == "changed"
    assert "statuscode@OData.Community.Display.V1.FormattedValue" not in changed.json()


def test_quotes_and_their_closes_read_as_dataverse_entities(api: TestClient) -> None:
    opportunity, [lost, open_quote] = _deal(api, active=2)
    api.post(f"{BASE}/CloseQuote", json={"QuoteClose": {"quoteid@odata.bind": f"/quotes({lost['id']})"}, "Status": 5})

    quotes = _value(api, f"quotes?$filter=_opportunityid_value eq {opportunity['id']}&$orderby=quotenumber")
    [close] = _value(api, f"quotecloses?$filter=_quoteid_value eq {lost['id']}")

    assert [(q["quoteid"], q["statecode"], q["statuscode"]) for q in quotes] == [
        (lost["id"], 3, 5),
        (open_quote["id"], 1, 3),
    ]
    assert (
        quotes[0]["_transactioncurrencyid_value"]
        == _value(api, "transactioncurrencies?$filter=isocurrencycode eq 'USD'")[0]["transactioncurrencyid"]
    )
    assert (close["activityid"], close["statecode"]) == (lost["id"], 1)


ANNOTATED = {"Prefer": 'odata.include-annotations="*"'}
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NAVIGATION = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
LOOKUP = "@Microsoft.Dynamics.CRM.lookuplogicalname"


def _lookup(row: Json, name: str) -> tuple[Any, Any, Any]:
    return (row.get(f"{name}{FORMATTED}"), row.get(f"{name}{NAVIGATION}"), row.get(f"{name}{LOOKUP}"))


def test_lookups_carry_the_name_of_the_record_they_refer_to_when_annotations_are_asked_for(
    api: TestClient, deals: dict[str, Json]
) -> None:
    delta = deals["Delta"]
    select = "name,_parentaccountid_value,_customerid_value,_ownerid_value,_transactioncurrencyid_value"

    [row] = _value(api, f"opportunities?$select={select}&$filter=name eq 'Delta'", **ANNOTATED)
    one = api.get(f"{BASE}/opportunities({delta['id']})?$select={select}", headers=ANNOTATED).json()
    plain = api.get(f"{BASE}/opportunities({delta['id']})?$select={select}").json()

    for record in (row, one):
        assert _lookup(record, "_parentaccountid_value") == ("Fabrikam", "parentaccountid", "account")
        assert _lookup(record, "_customerid_value") == ("Fabrikam", "customerid_account", "account")
        assert _lookup(record, "_ownerid_value") == ("admin", "ownerid", "systemuser")
        assert record[f"_transactioncurrencyid_value{FORMATTED}"] == "Hong Kong Dollar"
    assert not [name for name in plain if name.endswith((FORMATTED, NAVIGATION))]


def test_close_and_quote_lookups_are_labelled_with_the_names_of_their_records(api: TestClient) -> None:
    opportunity, [lost, won] = _deal(api, active=2)
    rival = _created(api, "/api/competitors", {"name": "Northwind"})
    reason = _created(api, "/api/close-reasons", {"outcome": "won", "name": "Best fit"})
    api.post(f"{BASE}/CloseQuote", json={"QuoteClose": {"quoteid@odata.bind": f"/quotes({lost['id']})"}, "Status": 5})
    api.post(f"{BASE}/WinQuote", json={"QuoteClose": {"quoteid@odata.bind": f"/quotes({won['id']})"}, "Status": 4})
    close = {
        "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
        "competitorid@odata.bind": f"/competitors({rival['id']})",
        "dd_closereasonid@odata.bind": f"/dd_closereasons({reason['id']})",
    }
    assert api.post(f"{BASE}/WinOpportunity", json={"OpportunityClose": close, "Status": 3}).status_code == 204

    [closed] = _value(api, f"opportunitycloses?$filter=_opportunityid_value eq {opportunity['id']}", **ANNOTATED)
    quotes = _value(api, f"quotes?$filter=_opportunityid_value eq {opportunity['id']}", **ANNOTATED)
    [quote_close] = _value(api, f"quotecloses?$filter=_quoteid_value eq {lost['id']}", **ANNOTATED)

    assert _lookup(closed, "_opportunityid_value") == ("Lab rollout", "opportunityid", "opportunity")
    assert _lookup(closed, "_competitorid_value") == ("Northwind", "competitorid", "competitor")
    assert _lookup(closed, "_dd_closereasonid_value") == ("Best fit", "dd_closereasonid", "dd_closereason")
    assert _lookup(closed, "_ownerid_value")[0] == "admin"
    assert {_lookup(quote, "_opportunityid_value")[0] for quote in quotes} == {"Lab rollout"}
    assert _lookup(quote_close, "_quoteid_value") == ("Offer 0", "quoteid", "quote")


def test_lookup_names_come_from_the_pages_own_statement_not_one_query_per_row(
    api: TestClient, deals: dict[str, Json]
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def statements_for(path: str) -> int:
        statements.clear()
        rows = _value(api, path, **ANNOTATED)
        assert all(row[f"_parentaccountid_value{FORMATTED}"] in ("Contoso", "Fabrikam") for row in rows)
        return len(statements)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        one_row = statements_for("opportunities?$select=name,_parentaccountid_value&$top=1")
        four_rows = statements_for("opportunities?$select=name,_parentaccountid_value")
    finally:
        event.remove(Engine, "before_cursor_execute", count)

    assert one_row == four_rows


# ---------------------------------------------------------------------------------------------- the envelope
def test_every_failure_under_the_dataverse_prefix_is_in_dataverses_envelope(
    settings: Settings, api: TestClient, deals: dict[str, Json]
) -> None:
    with TestClient(create_app(settings)) as anonymous:
        unauthenticated = _error(anonymous.get(f"{BASE}/opportunities"), 401)
    unknown_segment = _error(api.get(f"{BASE}/leads"), 404)
    no_such_record = _error(api.get(f"{BASE}/opportunities(6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10)"), 404)
    post_to_set = _error(api.post(f"{BASE}/opportunities", json={"name": "x"}), 405)
    delete = _error(api.delete(f"{BASE}/opportunities({deals['Delta']['id']})"), 405)
    too_large = _error(
        api.post(
            f"{BASE}/WinOpportunity",
            content=b"{" + b" " * 1_100_000 + b"}",
            headers={"content-type": "application/json"},
        ),
        413,
    )

    assert (unauthenticated["code"], unauthenticated["@dealdesk.code"]) == ("0x8005f101", "unauthenticated")
    assert (unknown_segment["code"], unknown_segment["message"]) == (
        "0x8006088a",
        "Resource not found for the segment 'leads'.",
    )
    assert no_such_record["code"] == "0x80040217"
    assert post_to_set["@dealdesk.code"] == delete["@dealdesk.code"] == "method_not_allowed"
    assert too_large["@dealdesk.code"] == "payload_too_large"


def test_the_entity_kinds_in_the_description_are_all_served(api: TestClient) -> None:
    for entity in ENTITIES:
        response = api.get(f"{BASE}/{entity.set_name}?$top=1")
        assert response.status_code == 200, (entity.set_name, response.text)
    assert {a.kind for e in ENTITIES for a in e.attributes} == set(Kind)
