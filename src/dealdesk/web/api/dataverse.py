"""A Dataverse-compatible slice of the Web API under /api/data/v9.2/, so scripts written for Dynamics 365 keep
closing deals: the WinOpportunity, LoseOpportunity, WinQuote and CloseQuote actions, and reading an opportunity.

They call the same use cases as the rest of the API, so the close rule and the invariants hold alike: an
opportunity with an active quote is not closed, and the refusal names the quote. As in Project Operations,
WinQuote leaves the opportunity open (SPEC §5); WinOpportunity then closes it as won.

Errors come in Dataverse's envelope, `{"error": {"code", "message"}}`, with Dataverse's code where it has one for
the case (0x80040203 invalid argument, 0x80040217 no such record, 0x80040220 no privilege) and dealdesk's own
code otherwise; `@dealdesk.code` always carries dealdesk's code (SPEC §7). Input faults are 400, as in Dataverse.
The rest of the API keeps answering RFC 9457 problem documents: the envelope is this router's alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, StrictInt, StrictStr, WithJsonSchema

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ActiveQuotesBlockClose, DomainError, FieldError, Forbidden, ValidationFailed
from dealdesk.domain.opportunity import CloseDetails, Opportunity
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus, Role
from dealdesk.domain.values import CENT, check_date_range, parse_iso_date
from dealdesk.services import closing, opportunities, quotes
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import ActorDep, UowDep
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES, STATUS_OF_CODE, field_name
from dealdesk.web.schemas import Description, MoneyIn

PREFIX: Final = "/data/v9.2"
ODATA_HEADERS: Final = {"OData-Version": "4.0"}
DATAVERSE_CODES: Final = {
    "validation_error": "0x80040203",
    "idempotency_key_reused": "0x80040203",
    "not_found": "0x80040217",
    "forbidden": "0x80040220",
}
"""dealdesk's codes that Dataverse has a code of its own for: InvalidArgument, ObjectDoesNotExist, PrivilegeDenied."""
INPUT_FAULTS: Final = frozenset({"validation_error", "idempotency_key_reused"})
FIELD_NAMES: Final = {
    "close_date": "actualend",
    "actual_revenue": "actualrevenue",
    "competitor_id": "competitorid",
    "status_reason": "Status",
}
"""dealdesk's field names in refusals, as a Dataverse script calls them."""
_BIND: Final = re.compile(r"^(?:.*/)?(?P<set>[a-z]+)\((?P<id>[0-9A-Fa-f-]{36})\)$")


# ---------------------------------------------------------------------------------------------- errors
def dataverse_error(status: int, code: str, message: str, **annotations: Any) -> JSONResponse:
    body = {"error": {"code": DATAVERSE_CODES.get(code, code), "message": message, "@dealdesk.code": code}}
    body["error"].update({f"@dealdesk.{name}": value for name, value in annotations.items()})
    return JSONResponse(body, status_code=status, headers=ODATA_HEADERS)


def refused(error: DomainError) -> JSONResponse:
    if isinstance(error, ValidationFailed):
        faults = [FieldError(FIELD_NAMES.get(e.field, e.field), e.message) for e in error.errors]
        return dataverse_error(400, error.code, "; ".join(f"{e.field}: {e.message}" for e in faults))
    extras: dict[str, Any] = {}
    if isinstance(error, ActiveQuotesBlockClose):
        extras["blocking_quotes"] = error.extensions()["blocking_quotes"]
    status = 400 if error.code in INPUT_FAULTS else STATUS_OF_CODE.get(error.code, 409)
    return dataverse_error(status, error.code, error.detail, **extras)


def unreadable(error: RequestValidationError) -> JSONResponse:
    messages = []
    for fault in error.errors():
        if fault.get("type") == "json_invalid":
            messages.append("The request body is not valid JSON")
            continue
        text = str(fault.get("msg", "is invalid")).removeprefix("Value error, ")
        if fault.get("type") == "extra_forbidden":
            text = "is not a property of this action"
        elif fault.get("type") == "missing":
            text = "is required"
        messages.append(f"{field_name(fault.get('loc', ()))}: {text}")
    return dataverse_error(400, "validation_error", "; ".join(messages))


class DataverseRoute(ExactJsonRoute):
    """Refusals and unreadable requests of these routes answer in Dataverse's envelope instead of problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def dataverse_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                return refused(error)
            except RequestValidationError as error:
                actor: Actor | None = getattr(request.state, "actor", None)
                if request.method == "POST" and actor is not None and actor.role is Role.VIEWER:
                    # As in the rest of the API, a change this user may not make at all is 403 before its input
                    # is judged (SPEC §7).
                    return refused(Forbidden("viewer users may not close opportunities or quotes"))
                return unreadable(error)

        return dataverse_handler


_ERROR_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": True,
        }
    },
}


def _dataverse_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


DATAVERSE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: _dataverse_response("Invalid input, in Dataverse's error envelope"),
    403: _dataverse_response("The user may not do this"),
    404: _dataverse_response("No such record"),
    409: _dataverse_response("Refused by a rule, e.g. an active quote blocks the close"),
    412: _dataverse_response("The record changed since it was read"),
    # Answered before these routes run, by the API's shared layers, as RFC 9457 problems:
    401: PROBLEM_RESPONSES[401],
    413: PROBLEM_RESPONSES[413],
    422: PROBLEM_RESPONSES[422],
}
"""What these routes may answer besides success; declared so the OpenAPI document is true."""

router = APIRouter(prefix=PREFIX, route_class=DataverseRoute, tags=["dataverse"], responses=DATAVERSE_RESPONSES)


# ---------------------------------------------------------------------------------------------- request bodies
def _moment_or_date(value: Any) -> date | datetime:
    """Dataverse sends `actualend` as a date or as a timestamp with an offset."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return parse_iso_date(value, field="actualend")
        except ValidationFailed as exc:
            raise ValueError(exc.errors[0].message) from exc
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            try:
                check_date_range(moment.date(), field="actualend")
            except ValidationFailed as exc:
                raise ValueError(exc.errors[0].message) from exc
            return moment
    raise ValueError("must be a date (2026-03-01) or a timestamp with an offset (2026-03-01T09:30:00Z)")


def _without_trailing_zeros(value: Any) -> Any:
    """Dataverse keeps money to 4 decimals and scripts echo it (2400.0000); the same amount in cents is accepted."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.quantize(CENT):
        return value.quantize(CENT)
    return value


DataverseMoney = Annotated[MoneyIn, BeforeValidator(_without_trailing_zeros)]
ActualEnd = Annotated[
    date | datetime,
    PlainValidator(_moment_or_date),
    WithJsonSchema({"type": "string", "description": "a date, or a timestamp with an offset"}),
]
Bind = Annotated[StrictStr, Field(max_length=500)]


class _Entity(BaseModel):
    """Dataverse refuses properties an entity does not have; so do these."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    odata_type: Annotated[StrictStr | None, Field(alias="@odata.type")] = None
    subject: Annotated[StrictStr | None, Field(max_length=200)] = None
    """The activity's subject: accepted, not kept (a close record has none)."""
    description: Description | None = None
    actualend: ActualEnd | None = None


class OpportunityCloseIn(_Entity):
    opportunity: Annotated[Bind, Field(alias="opportunityid@odata.bind")]
    actualrevenue: DataverseMoney | None = None
    competitor: Annotated[Bind | None, Field(alias="competitorid@odata.bind")] = None


class QuoteCloseIn(_Entity):
    quote: Annotated[Bind, Field(alias="quoteid@odata.bind")]


class OpportunityAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    OpportunityClose: OpportunityCloseIn
    Status: StrictInt


class QuoteAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    QuoteClose: QuoteCloseIn
    Status: StrictInt


def bound_id(bind: str, entity_set: str, *, field: str) -> UUID:
    """`/opportunities(<id>)` (or the whole URL ending so) to the id it names."""
    match = _BIND.match(bind.strip())
    if match is None or match.group("set") != entity_set:
        raise ValidationFailed.field(field, f"must bind a record as /{entity_set}(<id>)")
    try:
        return UUID(match.group("id"))
    except ValueError as exc:
        raise ValidationFailed.field(field, f"must bind a record as /{entity_set}(<id>)") from exc


def _status(number: int, allowed: dict[int, Any], action: str) -> Any:
    if number not in allowed:
        names = ", ".join(str(n) for n in allowed if n != -1)
        raise ValidationFailed.field("Status", f"{number} is not a status {action} can set; use {names} (or -1)")
    return allowed[number]


def _close_date(request: Request, actualend: date | datetime | None) -> date | None:
    if isinstance(actualend, datetime):
        return actualend.astimezone(request.app.state.settings.zone).date()
    return actualend


def no_content() -> Response:
    return Response(status_code=204, headers=ODATA_HEADERS)


# ---------------------------------------------------------------------------------------------- actions
WIN_STATUSES: Final = {3: OpportunityStatus.WON, -1: OpportunityStatus.WON}
LOSE_STATUSES: Final = {4: OpportunityStatus.CANCELED, 5: OpportunityStatus.OUT_SOLD, -1: OpportunityStatus.CANCELED}
QUOTE_CLOSE_STATUSES: Final = {5: QuoteStatus.LOST, 6: QuoteStatus.CANCELED, -1: QuoteStatus.LOST}
QUOTE_WIN_STATUSES: Final = {4: QuoteStatus.WON, -1: QuoteStatus.WON}


def _close_opportunity(
    request: Request, body: OpportunityAction, uow: UnitOfWork, actor: Actor, outcome: Outcome
) -> None:
    close = body.OpportunityClose
    allowed = WIN_STATUSES if outcome is Outcome.WON else LOSE_STATUSES
    status = _status(body.Status, allowed, "WinOpportunity" if outcome is Outcome.WON else "LoseOpportunity")
    opportunity_id = bound_id(close.opportunity, "opportunities", field="opportunityid@odata.bind")
    competitor_id = None
    if close.competitor is not None:
        competitor_id = bound_id(close.competitor, "competitors", field="competitorid@odata.bind")
    details = CloseDetails(
        outcome=outcome,
        status_reason=status,
        close_date=_close_date(request, close.actualend) or uow.clock.today(),
        actual_revenue=close.actualrevenue,
        competitor_id=competitor_id,
        description=close.description,
    )
    closing.close_opportunity(uow, opportunity_id, details, actor=actor)


@router.post("/WinOpportunity", status_code=204, response_class=Response)
def win_opportunity(request: Request, body: OpportunityAction, uow: UowDep, actor: ActorDep) -> Response:
    """Close the opportunity as won (Status 3). Refused while it has an active quote, naming it."""
    _close_opportunity(request, body, uow, actor, Outcome.WON)
    return no_content()


@router.post("/LoseOpportunity", status_code=204, response_class=Response)
def lose_opportunity(request: Request, body: OpportunityAction, uow: UowDep, actor: ActorDep) -> Response:
    """Close the opportunity as lost: Status 4 canceled, 5 out-sold. Refused while it has an active quote, naming
    it, and for an opportunity with a won quote."""
    _close_opportunity(request, body, uow, actor, Outcome.LOST)
    return no_content()


@router.post("/CloseQuote", status_code=204, response_class=Response)
def close_quote(request: Request, body: QuoteAction, uow: UowDep, actor: ActorDep) -> Response:
    """Close a draft or active quote: Status 5 lost, 6 canceled. 7 (revised) is refused, as in Dataverse: a quote
    is revised by revising it."""
    reason = _status(body.Status, QUOTE_CLOSE_STATUSES, "CloseQuote")
    close = body.QuoteClose
    quote_id = bound_id(close.quote, "quotes", field="quoteid@odata.bind")
    quotes.close_quote(
        uow,
        quote_id,
        reason=reason,
        close_date=_close_date(request, close.actualend),
        description=close.description,
        actor=actor,
    )
    return no_content()


@router.post("/WinQuote", status_code=204, response_class=Response)
def win_quote(request: Request, body: QuoteAction, uow: UowDep, actor: ActorDep) -> Response:
    """Win an active quote (Status 4): its siblings close as lost and a draft contract starts; the opportunity
    stays open until WinOpportunity closes it."""
    _status(body.Status, QUOTE_WIN_STATUSES, "WinQuote")
    close = body.QuoteClose
    quote_id = bound_id(close.quote, "quotes", field="quoteid@odata.bind")
    details = quotes.WinDetails(close_date=_close_date(request, close.actualend), description=close.description)
    quotes.win_quote(uow, quote_id, details, actor=actor)
    return no_content()


# ---------------------------------------------------------------------------------------------- reading
def opportunity_entity(opportunity: Opportunity) -> dict[str, Any]:
    """The opportunity with Dataverse's column names and numbers (SPEC §3); money as JSON numbers."""
    return {
        "opportunityid": str(opportunity.id),
        "name": opportunity.name,
        "description": opportunity.description,
        "estimatedvalue": float(opportunity.estimated_revenue),
        "estimatedclosedate": _day(opportunity.estimated_close_date),
        "actualvalue": None if opportunity.actual_revenue is None else float(opportunity.actual_revenue),
        "actualclosedate": _day(opportunity.actual_close_date),
        "statecode": opportunity.state.dataverse,
        "statuscode": opportunity.status_reason.dataverse,
        "_parentaccountid_value": str(opportunity.account_id),
        "_customerid_value": str(opportunity.account_id),
        "_ownerid_value": str(opportunity.owner_id),
        "createdon": _moment(opportunity.created_at),
        "modifiedon": _moment(opportunity.updated_at),
        "versionnumber": opportunity.version,
    }


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _selected(select: str | None, columns: Sequence[str]) -> list[str]:
    if select is None:
        return list(columns)
    chosen = [name.strip() for name in select.split(",") if name.strip()]
    for name in chosen:
        if name not in columns:
            raise ValidationFailed.field("$select", f"could not find a property named '{name}' on opportunity")
    return chosen


@router.get("/opportunities({opportunity_id})")
def get_opportunity(
    opportunity_id: str,
    request: Request,
    uow: UowDep,
    select: Annotated[str | None, Query(alias="$select", max_length=2000)] = None,
) -> JSONResponse:
    """One opportunity; `$select` picks columns, as in Dataverse. `statecode`/`statuscode` are SPEC §3's numbers."""
    try:
        key = UUID(opportunity_id)
    except ValueError as exc:
        raise ValidationFailed.field("opportunityid", "is not a GUID") from exc
    opportunity = opportunities.get_opportunity(uow, key)
    entity = opportunity_entity(opportunity)
    columns = _selected(select, list(entity))
    shape = "" if select is None else "(" + ",".join(columns) + ")"
    base = str(request.base_url).rstrip("/")
    body = {
        "@odata.context": f"{base}/api{PREFIX}/$metadata#opportunities{shape}/$entity",
        "@odata.etag": f'W/"{opportunity.version}"',
        **{name: entity[name] for name in columns},
    }
    if "opportunityid" not in columns:
        body["opportunityid"] = entity["opportunityid"]  # Dataverse always answers with the key
    return JSONResponse(body, headers={**ODATA_HEADERS, "ETag": f'W/"{opportunity.version}"'})
