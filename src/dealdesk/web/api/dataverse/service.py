"""One request to the Dataverse-compatible service, from HTTP or from inside a `$batch`: resolved by its path
(Web API conventions: `entityset`, `entityset(id)`, `entityset(id)/Microsoft.Dynamics.CRM.Action`, `Action`,
`EntityDefinitions(…)/…`) to a read, a change or an action, each a thin call of a use case. Every refusal becomes
Dataverse's envelope here (envelope.py), so a batch part and a plain request answer alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final
from urllib.parse import unquote
from uuid import UUID, uuid5

from pydantic import ValidationError

from dealdesk.config import Settings
from dealdesk.domain.access import Actor
from dealdesk.domain.errors import DomainError, FieldError, NotFound, PreconditionFailed, ValidationFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityStatus, Outcome
from dealdesk.domain.values import CENT
from dealdesk.services import closing, opportunities
from dealdesk.services.changesets import changeset
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import UnitOfWork
from dealdesk.services.record_queries import query_records, read_record
from dealdesk.web import schemas as s
from dealdesk.web.api.dataverse import actions, csdl, currencies, definitions
from dealdesk.web.api.dataverse.csdl import NAMESPACE
from dealdesk.web.api.dataverse.entities import BY_SET, ENTITIES, OPPORTUNITY, QUOTE, Entity
from dealdesk.web.api.dataverse.envelope import (
    FIELD_NAMES,
    ODATA_HEADERS,
    STATUSES,
    DataverseFault,
    error_body,
    refusal,
)
from dealdesk.web.api.dataverse.query import (
    ENTITY_OPTIONS,
    Preferences,
    check_options,
    collection_request,
    condition,
    matches_in_memory,
    ordering,
    preferences,
    selected,
    skiptoken,
)
from dealdesk.web.api.dataverse.records import Links, etag, render
from dealdesk.web.json_body import loads

JSON: Final = "application/json; odata.metadata=minimal"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    """After the service root, e.g. `opportunities(…)`; still percent-encoded."""
    params: Mapping[str, str]
    headers: Mapping[str, str]
    """Names in lower case."""
    body: bytes = b""


@dataclass
class Answer:
    status: int
    body: bytes = b""
    media_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    actor: Actor
    settings: Settings
    links: Links


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload, ensure_ascii=False).encode(), JSON, {**ODATA_HEADERS, **(headers or {})})


def no_content(headers: dict[str, str] | None = None) -> Answer:
    return Answer(204, b"", None, {**ODATA_HEADERS, **(headers or {})})


def handle(ctx: Context, call: Call) -> Answer:
    """Answer one call; every refusal in Dataverse's envelope."""
    try:
        return _route(ctx, call)
    except DataverseFault as fault:
        return json_answer(STATUSES.get(fault.status, fault.status), error_body(fault.code, fault.message))
    except DomainError as error:
        status, body = refusal(error)
        return json_answer(status, body)


# ---------------------------------------------------------------------------------------------- routing
def segments_of(path: str) -> list[str]:
    return [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []


def _name_and_key(segment: str) -> tuple[str, str | None]:
    if segment.endswith(")") and "(" in segment:
        name, _, key = segment[:-1].partition("(")
        return name, key
    return segment, None


ACTIONS: Final = frozenset({"WinOpportunity", "LoseOpportunity", "WinQuote", "CloseQuote", "ReviseQuote"})
BOUND_ACTIONS: Final = frozenset({"msdyn_CloseQuoteAsWon", "msdyn_CloseQuoteAsLost"})


def _route(ctx: Context, call: Call) -> Answer:
    segments = segments_of(call.path)
    if not segments:
        _only(call, "GET")
        return _service_document(ctx)
    first, key = _name_and_key(segments[0])
    if first == "$metadata" and len(segments) == 1:
        _only(call, "GET")
        return Answer(200, csdl.document().encode(), "application/xml", dict(ODATA_HEADERS))
    if first == "WhoAmI" and len(segments) == 1:
        _only(call, "GET")
        return _who_am_i(ctx)
    if first == "EntityDefinitions":
        _only(call, "GET")
        rest = ([key] if key is not None else []) + segments[1:]
        return json_answer(200, definitions.answer(ctx.links.root, rest, call.params))
    if first == "sdkmessagefilters" and key is None and len(segments) == 1:
        # dealdesk has no CreateMultiple/UpdateMultiple messages; clients read an empty answer as "not supported".
        _only(call, "GET")
        return json_answer(200, {"@odata.context": ctx.links.context("sdkmessagefilters"), "value": []})
    if first in ACTIONS and key is None and len(segments) == 1:
        _only(call, "POST")
        return _action(ctx, first, call)
    entity = BY_SET.get(first)
    if entity is None:
        raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{first}'.")
    if key is None:
        if len(segments) != 1:
            raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{segments[1]}'.")
        if call.method != "GET":
            raise _not_allowed(call, f"records are created through /api, not by {call.method} to {entity.set_name}")
        return _collection(ctx, entity, call)
    record_id = _record_id(entity, key)
    if len(segments) == 2:
        action = segments[1].removeprefix(f"{NAMESPACE}.")
        if entity is QUOTE and action in BOUND_ACTIONS:
            _only(call, "POST")
            return _bound_action(ctx, action, record_id, call)
        raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{segments[1]}'.")
    if len(segments) > 2:
        raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{segments[2]}'.")
    if call.method == "GET":
        return _one(ctx, entity, record_id, call)
    if call.method == "PATCH" and entity is OPPORTUNITY:
        return _patch_opportunity(ctx, record_id, call)
    raise _not_allowed(call, f"{entity.set_name} records cannot be changed by {call.method} here")


def _only(call: Call, method: str) -> None:
    if call.method != method:
        raise _not_allowed(call, f"use {method}")


def _not_allowed(call: Call, why: str) -> DataverseFault:
    return DataverseFault(405, "method_not_allowed", f"The HTTP method '{call.method}' is not allowed here: {why}.")


def _record_id(entity: Entity, key: str) -> UUID:
    try:
        return UUID(key)
    except ValueError as exc:
        raise ValidationFailed.field(
            entity.primary_id, f"'{key}' is not a GUID; dealdesk has no alternate keys"
        ) from exc


# ---------------------------------------------------------------------------------------------- connect
ORGANIZATION_ID: Final = uuid5(UUID("8f1b0f3e-3c55-4d6c-9a53-6a1d2b7c9e40"), "organization")
BUSINESS_UNIT_ID: Final = uuid5(UUID("8f1b0f3e-3c55-4d6c-9a53-6a1d2b7c9e40"), "businessunit")


def _service_document(ctx: Context) -> Answer:
    value = [{"name": e.set_name, "kind": "EntitySet", "url": e.set_name} for e in ENTITIES]
    value.append({"name": "WhoAmI", "kind": "FunctionImport", "url": "WhoAmI"})
    return json_answer(200, {"@odata.context": f"{ctx.links.root}/$metadata", "value": value})


def _who_am_i(ctx: Context) -> Answer:
    """WhoAmI function (Web API reference): the signed-in user's id; dealdesk is one organization and unit."""
    return json_answer(
        200,
        {
            "@odata.context": ctx.links.context("Microsoft.Dynamics.CRM.WhoAmIResponse"),
            "BusinessUnitId": str(BUSINESS_UNIT_ID),
            "UserId": str(ctx.actor.id),
            "OrganizationId": str(ORGANIZATION_ID),
        },
    )


# ---------------------------------------------------------------------------------------------- reading
def _collection(ctx: Context, entity: Entity, call: Call) -> Answer:
    prefer = preferences(call.headers.get("prefer"))
    if entity.record_kind == "":
        return _in_memory_collection(ctx, entity, call, prefer)
    request = collection_request(entity, call.params, prefer)
    formatted = prefer.annotations is not None
    page = query_records(ctx.uow, replace(request.query, labels=formatted))
    body: dict[str, Any] = {"@odata.context": ctx.links.context(_context_name(entity, request.select))}
    if page.total is not None:
        body["@odata.count"] = page.total
    body["value"] = [render(entity, row, request.columns, formatted=formatted) for row in page.rows]
    if page.more and request.top is None and page.rows:
        last = page.rows[-1]
        token = skiptoken((*(last[key.source] for key in request.query.order), last["id"]))
        body["@odata.nextLink"] = ctx.links.next_page(entity, call.params, token)
    return json_answer(200, body, _applied(prefer))


def _applied(prefer: Preferences) -> dict[str, str]:
    applied = prefer.applied()
    return {"Preference-Applied": applied} if applied else {}


def _context_name(entity: Entity, select: str | None) -> str:
    if select is None:
        return entity.set_name
    return f"{entity.set_name}({','.join(part.strip() for part in select.split(','))})"


def _in_memory_collection(ctx: Context, entity: Entity, call: Call, prefer: Preferences) -> Answer:
    """transactioncurrencies: a fixed list of currencies, not a table."""
    check_options(call.params, frozenset({"$select", "$filter", "$orderby", "$top", "$count"}))
    columns = selected(entity, call.params.get("$select"))
    rows = currencies.all_records()
    if "$filter" in call.params:
        where = condition(entity, call.params["$filter"])
        rows = [row for row in rows if matches_in_memory(entity, where, row)]
    for key in reversed(ordering(entity, call.params.get("$orderby"))):
        source = key.source
        rows.sort(key=lambda row: str(row.get(source)), reverse=key.descending)
    total = len(rows)
    top = call.params.get("$top")
    if top is not None:
        if not top.isdigit():
            raise DataverseFault(400, "validation_error", f"Invalid value '{top}' for $top query option.")
        rows = rows[: int(top)]
    formatted = prefer.annotations is not None
    body: dict[str, Any] = {"@odata.context": ctx.links.context(_context_name(entity, call.params.get("$select")))}
    if call.params.get("$count") == "true":
        body["@odata.count"] = total
    body["value"] = [render(entity, row, columns, formatted=formatted) for row in rows]
    return json_answer(200, body, _applied(prefer))


def _one(ctx: Context, entity: Entity, record_id: Any, call: Call) -> Answer:
    check_options(call.params, ENTITY_OPTIONS)
    prefer = preferences(call.headers.get("prefer"))
    columns = selected(entity, call.params.get("$select"))
    row: Mapping[str, Any] | None
    if entity.record_kind == "":
        code = currencies.code_of(record_id)
        row = None if code is None else currencies.currency_record(code)
    else:
        row = read_record(
            ctx.uow,
            entity.record_kind,  # type: ignore[arg-type]
            record_id,
            labels=prefer.annotations is not None,
        )
    if row is None:
        raise NotFound(entity.logical_name, record_id)
    tag = etag(row)
    if tag is not None and _matches(call.headers.get("if-none-match"), tag):
        return Answer(304, b"", None, {**ODATA_HEADERS, "ETag": tag})
    select = call.params.get("$select")
    body = {
        "@odata.context": ctx.links.context(f"{_context_name(entity, select)}/$entity"),
        **render(entity, row, columns, formatted=prefer.annotations is not None),
    }
    headers = {"ETag": tag} if tag is not None else {}
    return json_answer(200, body, {**headers, **_applied(prefer)})


def _matches(header: str | None, tag: str) -> bool:
    """If-None-Match with weak comparison (RFC 9110 §13.1.2), as a GET uses it."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    version = tag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == version for candidate in header.split(","))


# ---------------------------------------------------------------------------------------------- changing
UPDATABLE: Final = {
    "name": "name",
    "description": "description",
    "estimatedvalue": "estimated_revenue",
    "estimatedclosedate": "estimated_close_date",
}
"""PATCH opportunities(id) edits these (SPEC §10); statecode 0 reopens; statuscode 1/2 puts on hold or resumes."""


def _patch_opportunity(ctx: Context, record_id: UUID, call: Call) -> Answer:
    """Update and SetState ("Update and delete table rows using the Web API"; SetState as an update of
    `statecode`/`statuscode`). No upsert: an unknown id is 404. `If-Match: *` means "exists"."""
    current = read_record(ctx.uow, "opportunity", record_id)
    if current is None:
        raise NotFound("opportunity", record_id)
    actions.require_may_change(ctx.actor)
    if (call.headers.get("if-none-match") or "").strip() == "*":
        raise PreconditionFailed("A record with matching key values already exists (If-None-Match: *).")
    body = _json_object(call.body)
    changes, state, status = _opportunity_changes(body)
    expected = _expected_version(call.headers.get("if-match"))
    pre = Preconditions(expected_version=expected)
    with changeset(ctx.uow) as joined:
        if state is not None:
            closing.reopen_opportunity(joined, record_id, status_reason=status, reason=None, actor=ctx.actor, pre=pre)
            pre = Preconditions()
        elif status is not None:
            changes = replace(changes, status_reason=status)
        if changes.given():
            opportunities.edit_opportunity(joined, record_id, changes, actor=ctx.actor, pre=pre)
    prefer = preferences(call.headers.get("prefer"))
    location = {"OData-EntityId": ctx.links.entity(OPPORTUNITY, record_id)}
    if prefer.return_representation:
        return _one(ctx, OPPORTUNITY, record_id, Call("GET", call.path, {}, {}))
    return no_content(location)


def _opportunity_changes(body: Mapping[str, Any]) -> tuple[OpportunityChanges, int | None, OpportunityStatus | None]:
    state: int | None = None
    status: OpportunityStatus | None = None
    raw: dict[str, Any] = {}
    for name, value in body.items():
        if name == "@odata.type":
            if value != "Microsoft.Dynamics.CRM.opportunity":
                raise ValidationFailed.field(name, "must be Microsoft.Dynamics.CRM.opportunity")
        elif name in UPDATABLE:
            raw[UPDATABLE[name]] = _four_decimals(value) if name == "estimatedvalue" else value
        elif name == "statecode":
            if value != 0 or isinstance(value, bool):
                raise ValidationFailed.field(
                    "statecode",
                    "only 0 (Open) may be set, which reopens the opportunity; close it with WinOpportunity or "
                    "LoseOpportunity",
                )
            state = 0
        elif name == "statuscode":
            if value not in (1, 2) or isinstance(value, bool):
                raise ValidationFailed.field(
                    "statuscode", "must be 1 (In Progress) or 2 (On Hold); close with WinOpportunity or LoseOpportunity"
                )
            status = OpportunityStatus.from_dataverse(value)
        elif OPPORTUNITY.attribute(name) is not None:
            raise ValidationFailed.field(name, "is read-only here: it changes through the close actions")
        else:
            raise ValidationFailed.field(
                name,
                f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.opportunity'. Make sure to "
                "only use property names that are defined by the type.",
            )
    try:
        checked = s.OpportunityPatch.model_validate(raw)
    except ValidationError as error:
        reverse = {v: k for k, v in UPDATABLE.items()}
        raise ValidationFailed(
            [
                FieldError(
                    reverse.get(str(fault["loc"][0]), str(fault["loc"][0])) if fault.get("loc") else "body",
                    str(fault.get("msg", "is invalid")).removeprefix("Value error, "),
                )
                for fault in error.errors()
            ]
        ) from error
    changes = checked.model_dump(exclude_unset=True)
    for required in ("name", "estimated_revenue"):
        if required in changes and changes[required] is None:
            raise ValidationFailed.field(FIELD_NAMES.get(required, required), "must not be null")
    return OpportunityChanges(**changes), state, status


def _four_decimals(value: Any) -> Any:
    """Dataverse keeps money to 4 decimals and scripts echo it (2400.0000): the same amount in cents is accepted."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.quantize(CENT):
        return value.quantize(CENT)
    return value


def _expected_version(header: str | None) -> int | None:
    """If-Match: `*` is "exists" (no version check); a tag this server gave (W/"7" or "7") names a version."""
    if header is None or header.strip() == "*":
        return None
    for candidate in header.split(","):
        text = candidate.strip().removeprefix("W/")
        if len(text) >= 3 and text[0] == text[-1] == '"' and text[1:-1].isdigit() and len(text) < 21:
            return int(text[1:-1])
    return -1


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataverseFault(400, "validation_error", "The request body is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed.field("body", "must be a JSON object")
    return parsed


def _json_or_none(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataverseFault(400, "validation_error", "The request body is not valid JSON") from exc


def _action(ctx: Context, name: str, call: Call) -> Answer:
    actions.require_may_change(ctx.actor)
    body = _json_or_none(call.body)
    zone = ctx.settings.zone
    if name == "WinOpportunity":
        actions.close_opportunity(ctx.uow, ctx.actor, zone, body, Outcome.WON)
    elif name == "LoseOpportunity":
        actions.close_opportunity(ctx.uow, ctx.actor, zone, body, Outcome.LOST)
    elif name == "WinQuote":
        actions.win_quote(ctx.uow, ctx.actor, zone, body)
    elif name == "CloseQuote":
        actions.close_quote(ctx.uow, ctx.actor, zone, body)
    else:
        draft_id, columns = actions.revise_quote(ctx.uow, ctx.actor, body)
        select = None if columns is None else ",".join(columns)
        return _one(ctx, QUOTE, draft_id, Call("GET", "", {"$select": select} if select else {}, {}))
    return no_content()


def _bound_action(ctx: Context, name: str, quote_id: UUID, call: Call) -> Answer:
    actions.require_may_change(ctx.actor)
    body = _json_or_none(call.body)
    if name == "msdyn_CloseQuoteAsWon":
        actions.close_quote_as_won(ctx.uow, ctx.actor, quote_id, body)
    else:
        actions.close_quote_as_lost(ctx.uow, ctx.actor, quote_id, body)
    return json_answer(200, {"@odata.context": ctx.links.context(f"Microsoft.Dynamics.CRM.{name}Response")})
