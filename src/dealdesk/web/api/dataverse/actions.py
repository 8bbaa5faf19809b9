"""The close flow's Dataverse actions, each a thin call of the use case the rest of the API calls too, so the close
rule and the invariants hold alike (an opportunity with an active quote is not closed, and the refusal names it).

Shapes follow Microsoft's Web API action reference (learn.microsoft.com/power-apps/developer/data-platform/webapi/
reference/…): WinOpportunity and LoseOpportunity take `{OpportunityClose: opportunityclose, Status: Edm.Int32}`;
WinQuote and CloseQuote take `{QuoteClose: quoteclose, Status}`; none returns a value (204). ReviseQuote takes
`{QuoteId: Edm.Guid, ColumnSet: ColumnSet}` and returns the new draft quote. Project Operations' msdyn_CloseQuoteAsWon
and msdyn_CloseQuoteAsLost are bound to a quote and take no parameters (Dynamics 365 Web API reference,
progref/webapireference/actions/msdyn_closequoteaswon.md); they return their (property-less) response types.
As in Project Operations, WinQuote leaves the opportunity open (SPEC §5); WinOpportunity then closes it as won.

The opportunityclose and quoteclose columns Dataverse defines (entity reference, "Writable attributes") are all
accepted: an opportunityclose's `subject` is kept on the close record (a quoteclose's is checked only: a quote's
close has no column for it), `description`, `actualend`, `actualrevenue`, `competitorid` and dealdesk's own
`dd_closereasonid` are used, `transactioncurrencyid` must name the deal's currency, and the rest are checked for
their type and not stored (docs/dataverse.md lists them). A property neither entity has is refused, as Dataverse
refuses it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from pydantic import TypeAdapter, ValidationError

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import Forbidden, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import QuoteLoss
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus, Role
from dealdesk.domain.values import CENT, check_date_range, parse_iso_date
from dealdesk.services import closing, opportunities, quotes
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.api.dataverse.currencies import code_of
from dealdesk.web.schemas import MoneyIn

_MONEY: Final = TypeAdapter(MoneyIn)
_BIND: Final = re.compile(r"^(?:.*/)?(?P<set>[a-z_]+)\((?P<id>[0-9A-Fa-f-]{36})\)$")

WIN_STATUSES: Final = {3: OpportunityStatus.WON, -1: OpportunityStatus.WON}
LOSE_STATUSES: Final = {4: OpportunityStatus.CANCELED, 5: OpportunityStatus.OUT_SOLD, -1: OpportunityStatus.CANCELED}
QUOTE_CLOSE_STATUSES: Final = {5: QuoteStatus.LOST, 6: QuoteStatus.CANCELED, -1: QuoteStatus.LOST}
QUOTE_WIN_STATUSES: Final = {4: QuoteStatus.WON, -1: QuoteStatus.WON}

# ---------------------------------------------------------------------------------------------- activity columns
_TEXT, _INT, _BOOL, _MOMENT, _JSON = "text", "int", "bool", "moment", "json"
CHECKED_ONLY: Final[dict[str, tuple[str, int]]] = {
    "activityadditionalparams": (_TEXT, 8192),
    "activityid": ("guid", 0),
    "actualdurationminutes": (_INT, 0),
    "actualstart": (_MOMENT, 0),
    "category": (_TEXT, 250),
    "subcategory": (_TEXT, 250),
    "exchangeitemid": (_TEXT, 200),
    "exchangeweblink": (_TEXT, 1250),
    "importsequencenumber": (_INT, 0),
    "isbilled": (_BOOL, 0),
    "ismapiprivate": (_BOOL, 0),
    "isworkflowcreated": (_BOOL, 0),
    "lastonholdtime": (_MOMENT, 0),
    "leftvoicemail": (_BOOL, 0),
    "overriddencreatedon": (_MOMENT, 0),
    "prioritycode": (_INT, 0),
    "deliveryprioritycode": (_INT, 0),
    "community": (_INT, 0),
    "processid": ("guid", 0),
    "stageid": ("guid", 0),
    "scheduledstart": (_MOMENT, 0),
    "scheduledend": (_MOMENT, 0),
    "sortdate": (_MOMENT, 0),
    "statecode": (_INT, 0),
    "statuscode": (_INT, 0),
    "timezoneruleversionnumber": (_INT, 0),
    "utcconversiontimezonecode": (_INT, 0),
    "traversedpath": (_TEXT, 1250),
    "revision": (_INT, 0),
    "ownerid@odata.bind": ("bind", 0),
    "serviceid@odata.bind": ("bind", 0),
    "slaid@odata.bind": ("bind", 0),
    "@odata.type": (_TEXT, 200),
}
"""Columns of opportunityclose/quoteclose (entity reference, "Writable attributes") that dealdesk checks for their
type and does not keep: it has no activity, scheduling or ownership of its own for a close record."""

_USED: Final = {
    "opportunityclose": frozenset(
        {
            "subject",
            "description",
            "actualend",
            "actualrevenue",
            "opportunityid@odata.bind",
            "competitorid@odata.bind",
            "transactioncurrencyid@odata.bind",
            "dd_closereasonid@odata.bind",
        }
    ),
    "quoteclose": frozenset(
        {
            "subject",
            "description",
            "actualend",
            "quoteid@odata.bind",
            "transactioncurrencyid@odata.bind",
            "dd_competitorid@odata.bind",
            "dd_closereasonid@odata.bind",
        }
    ),
}


def _fault(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(field, message)


def _check_column(entity: str, name: str, value: Any, *, field: str) -> None:
    if name in _USED[entity]:
        return
    kind = CHECKED_ONLY.get(name)
    if kind is None:
        raise _fault(
            f"{field}.{name}",
            f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{entity}'. Make sure to only use "
            "property names that are defined by the type.",
        )
    shape, limit = kind
    if value is None:
        return
    ok = {
        _TEXT: isinstance(value, str) and len(value) <= limit,
        _INT: isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31,
        _BOOL: isinstance(value, bool),
        _MOMENT: isinstance(value, str) and _moment_or_none(value) is not None,
        "guid": isinstance(value, str) and _guid_or_none(value) is not None,
        "bind": isinstance(value, str) and _BIND.match(value.strip()) is not None,
    }[shape]
    if not ok:
        expected = {
            _TEXT: f"text of at most {limit} characters",
            _INT: "a whole number",
            _BOOL: "true or false",
            _MOMENT: "a date or a timestamp with an offset",
            "guid": "a GUID",
            "bind": "a record bound as /<entityset>(<id>)",
        }[shape]
        raise _fault(f"{field}.{name}", f"must be {expected}")


def _moment_or_none(text: str) -> date | datetime | None:
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _guid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def bound_id(bind: Any, entity_set: str, *, field: str) -> UUID:
    """`/opportunities(<id>)` (or the whole URL ending so) to the id it names."""
    match = _BIND.match(bind.strip()) if isinstance(bind, str) else None
    if match is None or match.group("set") != entity_set:
        raise _fault(field, f"must bind a record as /{entity_set}(<id>)")
    try:
        return UUID(match.group("id"))
    except ValueError as exc:
        raise _fault(field, f"must bind a record as /{entity_set}(<id>)") from exc


# ---------------------------------------------------------------------------------------------- reading a close
class CloseEntity:
    """An opportunityclose or quoteclose entity of an action's body, checked column by column."""

    def __init__(self, entity: str, raw: Any, *, field: str) -> None:
        if not isinstance(raw, dict):
            raise _fault(field, f"must be a {entity} entity (a JSON object)")
        for name, value in raw.items():
            _check_column(entity, name, value, field=field)
        self.entity = entity
        self.raw: Mapping[str, Any] = raw
        self.field = field
        subject = raw.get("subject")
        if subject is not None and (not isinstance(subject, str) or len(subject) > 200):
            raise _fault(f"{field}.subject", "must be text of at most 200 characters")
        self.subject: str | None = subject
        description = raw.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 2000):
            raise _fault(f"{field}.description", "must be text of at most 2000 characters")
        self.description: str | None = description

    def bound(self, name: str, entity_set: str) -> UUID | None:
        value = self.raw.get(f"{name}@odata.bind")
        if value is None:
            return None
        return bound_id(value, entity_set, field=f"{self.field}.{name}@odata.bind")

    def required(self, name: str, entity_set: str) -> UUID:
        found = self.bound(name, entity_set)
        if found is None:
            raise _fault(f"{self.field}.{name}@odata.bind", "is required")
        return found

    def close_date(self, zone: Any) -> date | None:
        value = self.raw.get("actualend")
        if value is None:
            return None
        moment = _moment_or_none(value) if isinstance(value, str) else None
        if isinstance(moment, datetime):
            return check_date_range(moment.astimezone(zone).date(), field=f"{self.field}.actualend")
        if isinstance(value, str) and len(value) == 10:
            return parse_iso_date(value, field="actualend")
        raise _fault("actualend", "must be a date (2026-03-01) or a timestamp with an offset (2026-03-01T09:30:00Z)")

    def revenue(self) -> Decimal | None:
        value = self.raw.get("actualrevenue")
        if value is None:
            return None
        if isinstance(value, Decimal) and value.is_finite() and value == value.quantize(CENT):
            value = value.quantize(CENT)  # Dataverse keeps money to 4 decimals and scripts echo it (2400.0000)
        try:
            money: Decimal = _MONEY.validate_python(value)
        except ValidationError as error:
            message = str(error.errors()[0].get("msg", "is invalid")).removeprefix("Value error, ")
            raise _fault(f"{self.field}.actualrevenue", message) from error
        return money

    def currency_matches(self, currency: str) -> None:
        bound = self.bound("transactioncurrencyid", "transactioncurrencies")
        if bound is not None and code_of(bound) != currency:
            raise _fault(
                f"{self.field}.transactioncurrencyid@odata.bind",
                f"must be the deal's currency ({currency}); dealdesk does not convert currencies",
            )


def _body(body: Any, entity_key: str, entity: str) -> tuple[CloseEntity, int]:
    if not isinstance(body, dict):
        raise _fault("body", "must be a JSON object")
    for name in body:
        if name not in (entity_key, "Status"):
            raise _fault(name, "is not a parameter of this action")
    if entity_key not in body:
        raise _fault(entity_key, "is required")
    status = body.get("Status")
    if status is None:
        raise _fault("Status", "is required")
    if not isinstance(status, int) or isinstance(status, bool):
        raise _fault("Status", "must be a whole number (Edm.Int32)")
    return CloseEntity(entity, body[entity_key], field=entity_key), status


def _status(number: int, allowed: Mapping[int, Any], action: str) -> Any:
    if number not in allowed:
        names = ", ".join(str(n) for n in allowed if n != -1)
        raise _fault("Status", f"{number} is not a status {action} can set; use {names} (or -1)")
    return allowed[number]


def require_may_change(actor: Actor) -> None:
    """A viewer may change nothing: refused (403) before its input is judged, as in the rest of the API (SPEC §7)."""
    if actor.role is Role.VIEWER:
        raise Forbidden("viewer users may not close, win, reopen or change records")


# ---------------------------------------------------------------------------------------------- the actions
def close_opportunity(uow: UnitOfWork, actor: Actor, zone: Any, body: Any, outcome: Outcome) -> None:
    require_may_change(actor)
    close, number = _body(body, "OpportunityClose", "opportunityclose")
    name = "WinOpportunity" if outcome is Outcome.WON else "LoseOpportunity"
    status = _status(number, WIN_STATUSES if outcome is Outcome.WON else LOSE_STATUSES, name)
    opportunity_id = close.required("opportunityid", "opportunities")
    opportunity = closing_target(uow, opportunity_id)
    close.currency_matches(opportunity.currency)
    details = CloseDetails(
        outcome=outcome,
        status_reason=status,
        close_date=close.close_date(zone) or uow.clock.today(),
        actual_revenue=close.revenue(),
        competitor_id=close.bound("competitorid", "competitors"),
        close_reason_id=close.bound("dd_closereasonid", "dd_closereasons"),
        description=close.description,
        subject=close.subject,
    )
    closing.close_opportunity(uow, opportunity_id, details, actor=actor)


def closing_target(uow: UnitOfWork, opportunity_id: UUID) -> Opportunity:
    return opportunities.get_opportunity(uow, opportunity_id)


def close_quote(uow: UnitOfWork, actor: Actor, zone: Any, body: Any) -> None:
    """Status 5 lost, 6 canceled. 7 (revised) is refused, as in Dataverse: a quote is revised by revising it."""
    require_may_change(actor)
    close, number = _body(body, "QuoteClose", "quoteclose")
    reason = _status(number, QUOTE_CLOSE_STATUSES, "CloseQuote")
    quote_id = close.required("quoteid", "quotes")
    _check_quote_currency(uow, close, quote_id)
    loss = QuoteLoss(
        competitor_id=close.bound("dd_competitorid", "competitors"),
        close_reason_id=close.bound("dd_closereasonid", "dd_closereasons"),
    )
    quotes.close_quote(
        uow,
        quote_id,
        reason=reason,
        close_date=close.close_date(zone),
        description=close.description,
        actor=actor,
        loss=loss,
    )


def win_quote(uow: UnitOfWork, actor: Actor, zone: Any, body: Any) -> None:
    """Status 4: the quote is won, its siblings close as lost and a draft contract starts; the deal stays open."""
    require_may_change(actor)
    close, number = _body(body, "QuoteClose", "quoteclose")
    _status(number, QUOTE_WIN_STATUSES, "WinQuote")
    for lost_only in ("dd_competitorid", "dd_closereasonid"):
        if f"{lost_only}@odata.bind" in close.raw:
            raise _fault(f"{close.field}.{lost_only}@odata.bind", "only a lost or canceled quote close has one")
    quote_id = close.required("quoteid", "quotes")
    _check_quote_currency(uow, close, quote_id)
    details = quotes.WinDetails(close_date=close.close_date(zone), description=close.description)
    quotes.win_quote(uow, quote_id, details, actor=actor)


def _check_quote_currency(uow: UnitOfWork, close: CloseEntity, quote_id: UUID) -> None:
    if close.bound("transactioncurrencyid", "transactioncurrencies") is None:
        return
    quote = quotes.get_quote(uow, quote_id)
    close.currency_matches(closing_target(uow, quote.opportunity_id).currency)


def close_quote_as_won(uow: UnitOfWork, actor: Actor, quote_id: UUID, body: Any) -> None:
    require_may_change(actor)
    _no_parameters(body)
    quotes.win_quote(uow, quote_id, quotes.WinDetails(), actor=actor)


def close_quote_as_lost(uow: UnitOfWork, actor: Actor, quote_id: UUID, body: Any) -> None:
    require_may_change(actor)
    _no_parameters(body)
    quotes.close_quote(uow, quote_id, reason=QuoteStatus.LOST, close_date=None, description=None, actor=actor)


def _no_parameters(body: Any) -> None:
    if body not in (None, {}):
        raise _fault("body", "this action takes no parameters")


def revise_quote(uow: UnitOfWork, actor: Actor, body: Any) -> tuple[UUID, tuple[str, ...] | None]:
    """Answers the new draft's id and the columns ColumnSet asks for (None: all of them)."""
    require_may_change(actor)
    if not isinstance(body, dict):
        raise _fault("body", "must be a JSON object")
    for name in body:
        if name not in ("QuoteId", "ColumnSet"):
            raise _fault(name, "is not a parameter of this action")
    raw_id = body.get("QuoteId")
    quote_id = _guid_or_none(raw_id) if isinstance(raw_id, str) else None
    if quote_id is None:
        raise _fault("QuoteId", "is required and must be a GUID")
    columns = _column_set(body.get("ColumnSet"))
    draft = quotes.revise_quote(uow, quote_id, actor=actor)
    return draft.id, columns


def _column_set(raw: Any) -> tuple[str, ...] | None:
    """ColumnSet ComplexType: `{"AllColumns": true}` or `{"Columns": ["name", …]}`."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fault("ColumnSet", "must be a ColumnSet object")
    for name in raw:
        if name not in ("AllColumns", "Columns", "@odata.type"):
            raise _fault(f"ColumnSet.{name}", "is not a property of ColumnSet")
    if raw.get("AllColumns") is True:
        return None
    columns = raw.get("Columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _fault("ColumnSet.Columns", "must be a list of column names")
    return tuple(columns)
