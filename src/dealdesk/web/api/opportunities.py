"""Opportunities and the quotes under them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.quote import QuoteLine
from dealdesk.domain.states import OpportunityState
from dealdesk.services import opportunities, quotes
from dealdesk.services.guards import Preconditions
from dealdesk.services.permissions import Attempt
from dealdesk.services.ports import OpportunityFilter
from dealdesk.web import presenters
from dealdesk.web import schemas as s
from dealdesk.web.api.catalogue import Cursor, Limit
from dealdesk.web.attempts import OPPORTUNITY, may, names
from dealdesk.web.deps import ActorDep, ExpectedVersion, UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["opportunities"], responses=PROBLEM_RESPONSES)
NOT_NULLABLE = ("name", "account_id", "currency", "estimated_revenue", "status_reason", "owner_id")


def domain_lines(lines: list[s.LineIn]) -> list[QuoteLine]:
    return [
        QuoteLine.checked(line.description, line.quantity, line.unit_price, field=f"lines[{i}]")
        for i, line in enumerate(lines)
    ]


@router.post("/opportunities", status_code=201, response_model=s.OpportunityOut, dependencies=[may(Attempt.CREATE)])
def create_opportunity(body: s.OpportunityIn, uow: UowDep, actor: ActorDep) -> Response:
    new = opportunities.NewOpportunity(
        name=body.name,
        account_id=body.account_id,
        currency=body.currency,
        estimated_revenue=body.estimated_revenue,
        estimated_close_date=body.estimated_close_date,
        description=body.description,
    )
    created = opportunities.create_opportunity(uow, new, actor=actor)
    return respond(s.OpportunityOut.model_validate(created), status=201, version=created.version)


@router.get("/opportunities", response_model=s.Page[s.OpportunityOut])
def list_opportunities(
    uow: UowDep,
    state: OpportunityState | None = None,
    account_id: UUID | None = None,
    owner_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=300, description="Part of the name, any case")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    where = OpportunityFilter(state=state, account_id=account_id, owner_id=owner_id, q=q)
    page = opportunities.list_opportunities(uow, where, limit=limit, cursor=cursor)
    return respond(s.Page[s.OpportunityOut].model_validate(page))


@router.get("/opportunities/{opportunity_id}", response_model=s.OpportunityOut, dependencies=[names(OPPORTUNITY)])
def get_opportunity(opportunity_id: UUID, uow: UowDep) -> Response:
    found = opportunities.get_opportunity(uow, opportunity_id)
    return respond(s.OpportunityOut.model_validate(found), version=found.version)


@router.patch(
    "/opportunities/{opportunity_id}",
    response_model=s.OpportunityOut,
    dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)],
)
def edit_opportunity(
    opportunity_id: UUID, body: s.OpportunityPatch, uow: UowDep, actor: ActorDep, version: ExpectedVersion
) -> Response:
    """Open opportunities only. Fields left out stay as they are; `null` clears an optional field."""
    changes = body.model_dump(exclude_unset=True)
    required = [name for name in NOT_NULLABLE if name in changes and changes[name] is None]
    if required:
        raise ValidationFailed([FieldError(name, "must not be null") for name in required])
    edited = opportunities.edit_opportunity(
        uow, opportunity_id, OpportunityChanges(**changes), actor=actor, pre=Preconditions(expected_version=version)
    )
    return respond(s.OpportunityOut.model_validate(edited), version=edited.version)


@router.post(
    "/opportunities/{opportunity_id}/quotes",
    status_code=201,
    response_model=s.QuoteOut,
    dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)],
)
def create_quote(
    opportunity_id: UUID, body: s.QuoteIn, uow: UowDep, actor: ActorDep, version: ExpectedVersion
) -> Response:
    """A new draft quote with its lines (open opportunities only)."""
    new = quotes.NewQuote(name=body.name, lines=domain_lines(body.lines), valid_until=body.valid_until)
    created = quotes.create_quote(uow, opportunity_id, new, actor=actor, pre=Preconditions(expected_version=version))
    return respond(presenters.quote(created, uow.clock.today()), status=201, version=created.version)


@router.get(
    "/opportunities/{opportunity_id}/quotes", response_model=s.Page[s.QuoteOut], dependencies=[names(OPPORTUNITY)]
)
def list_quotes(
    opportunity_id: UUID, uow: UowDep, limit: Limit = 50, cursor: Cursor = None, expired: bool | None = None
) -> Response:
    """By number and revision. `expired=true` keeps the draft and active quotes whose `valid_until` is before
    today; `expired=false` the others."""
    page = quotes.list_quotes(uow, opportunity_id, limit=limit, cursor=cursor, expired=expired)
    return respond(presenters.quotes(page.items, page.next_cursor, uow.clock.today()))
