"""Accounts, competitors and the close reason catalogue."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from dealdesk.domain.states import Outcome
from dealdesk.services import catalogue
from dealdesk.services.permissions import Attempt
from dealdesk.web import schemas as s
from dealdesk.web.attempts import ACCOUNT, CLOSE_REASON, COMPETITOR, may, names
from dealdesk.web.deps import ActorDep, UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["catalogue"], responses=PROBLEM_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1-200")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post("/accounts", status_code=201, response_model=s.AccountOut, dependencies=[may(Attempt.CREATE)])
def create_account(body: s.AccountIn, uow: UowDep, actor: ActorDep) -> Response:
    return respond(s.AccountOut.model_validate(catalogue.create_account(uow, name=body.name, actor=actor)), status=201)


@router.get("/accounts", response_model=s.Page[s.AccountOut])
def list_accounts(uow: UowDep, limit: Limit = 50, cursor: Cursor = None) -> Response:
    return respond(s.Page[s.AccountOut].model_validate(catalogue.list_accounts(uow, limit=limit, cursor=cursor)))


@router.get("/accounts/{account_id}", response_model=s.AccountOut, dependencies=[names(ACCOUNT)])
def get_account(account_id: UUID, uow: UowDep) -> Response:
    return respond(s.AccountOut.model_validate(catalogue.get_account(uow, account_id)))


@router.post("/competitors", status_code=201, response_model=s.CompetitorOut, dependencies=[may(Attempt.MANAGE)])
def create_competitor(body: s.CompetitorIn, uow: UowDep, actor: ActorDep) -> Response:
    competitor = catalogue.create_competitor(uow, name=body.name, actor=actor)
    return respond(s.CompetitorOut.model_validate(competitor), status=201)


@router.get("/competitors", response_model=s.Page[s.CompetitorOut])
def list_competitors(
    uow: UowDep,
    active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false) ones")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    page = catalogue.list_competitors(uow, active=active, limit=limit, cursor=cursor)
    return respond(s.Page[s.CompetitorOut].model_validate(page))


@router.post("/close-reasons", status_code=201, response_model=s.CloseReasonOut, dependencies=[may(Attempt.MANAGE)])
def create_close_reason(body: s.CloseReasonIn, uow: UowDep, actor: ActorDep) -> Response:
    reason = catalogue.create_close_reason(uow, outcome=body.outcome, name=body.name, active=body.active, actor=actor)
    return respond(s.CloseReasonOut.model_validate(reason), status=201)


@router.get("/close-reasons", response_model=s.Page[s.CloseReasonOut])
def list_close_reasons(
    uow: UowDep, outcome: Outcome | None = None, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    page = catalogue.list_close_reasons(uow, outcome=outcome, limit=limit, cursor=cursor)
    return respond(s.Page[s.CloseReasonOut].model_validate(page))


@router.patch(
    "/close-reasons/{reason_id}", response_model=s.CloseReasonOut, dependencies=[may(Attempt.MANAGE, CLOSE_REASON)]
)
def update_close_reason(reason_id: UUID, body: s.CloseReasonPatch, uow: UowDep, actor: ActorDep) -> Response:
    changes = catalogue.CloseReasonChanges(name=body.name, active=body.active)
    return respond(s.CloseReasonOut.model_validate(catalogue.update_close_reason(uow, reason_id, changes, actor=actor)))


@router.patch("/accounts/{account_id}", response_model=s.AccountOut, dependencies=[may(Attempt.CREATE, ACCOUNT)])
def rename_account(account_id: UUID, body: s.AccountIn, uow: UowDep, actor: ActorDep) -> Response:
    return respond(s.AccountOut.model_validate(catalogue.rename_account(uow, account_id, name=body.name, actor=actor)))


@router.patch(
    "/competitors/{competitor_id}", response_model=s.CompetitorOut, dependencies=[may(Attempt.MANAGE, COMPETITOR)]
)
def update_competitor(competitor_id: UUID, body: s.CompetitorPatch, uow: UowDep, actor: ActorDep) -> Response:
    """Rename, deactivate (`active: false`) or activate again; a deactivated competitor stays on past closes."""
    changes = catalogue.CompetitorChanges(name=body.name, active=body.active)
    competitor = catalogue.update_competitor(uow, competitor_id, changes, actor=actor)
    return respond(s.CompetitorOut.model_validate(competitor))
