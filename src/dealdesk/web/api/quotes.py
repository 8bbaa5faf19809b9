"""Quote actions: edit, delete, activate, close, revise, copy, win."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from fastapi import APIRouter, Request, Response

from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.quote import QuoteLoss
from dealdesk.services import quotes
from dealdesk.services.guards import Preconditions
from dealdesk.services.permissions import Attempt
from dealdesk.web import presenters
from dealdesk.web import schemas as s
from dealdesk.web.api.opportunities import domain_lines
from dealdesk.web.attempts import QUOTE, may, names
from dealdesk.web.deps import ActorDep, ExpectedVersion, IdempotencyKey, UowDep, preconditions, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["quotes"], responses=PROBLEM_RESPONSES)


@router.get("/quotes/{quote_id}", response_model=s.QuoteOut, dependencies=[names(QUOTE)])
def get_quote(quote_id: UUID, uow: UowDep) -> Response:
    found = quotes.get_quote(uow, quote_id)
    return respond(presenters.quote(found, uow.clock.today()), version=found.version)


@router.patch("/quotes/{quote_id}", response_model=s.QuoteOut, dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)])
def edit_quote(quote_id: UUID, body: s.QuotePatch, uow: UowDep, actor: ActorDep, version: ExpectedVersion) -> Response:
    """Drafts only: name, lines (replaced as a whole) and valid_until (`null` clears it)."""
    given = body.model_fields_set
    changes = quotes.QuoteChanges(
        name=body.name,
        lines=domain_lines(body.lines) if body.lines is not None else None,
        valid_until=body.valid_until,
        set_valid_until="valid_until" in given,
    )
    if "name" in given and body.name is None:
        raise ValidationFailed.field("name", "must not be null")
    edited = quotes.edit_quote(uow, quote_id, changes, actor=actor, pre=Preconditions(expected_version=version))
    return respond(presenters.quote(edited, uow.clock.today()), version=edited.version)


@router.delete(
    "/quotes/{quote_id}",
    status_code=204,
    response_class=Response,
    dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)],
)
def delete_quote(quote_id: UUID, uow: UowDep, actor: ActorDep, version: ExpectedVersion) -> Response:
    quotes.delete_quote(uow, quote_id, actor=actor, pre=Preconditions(expected_version=version))
    return Response(status_code=204)


@router.post("/quotes/{quote_id}/activate", response_model=s.QuoteOut, dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)])
def activate_quote(quote_id: UUID, uow: UowDep, actor: ActorDep, version: ExpectedVersion) -> Response:
    """Draft to active (sent to the customer): needs at least one line, a total of 0 or more, and a
    `valid_until` that has not passed (else `quote_expired`: move it first)."""
    activated = quotes.activate_quote(uow, quote_id, actor=actor, pre=Preconditions(expected_version=version))
    return respond(presenters.quote(activated, uow.clock.today()), version=activated.version)


@router.post("/quotes/{quote_id}/close", response_model=s.QuoteOut, dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)])
def close_quote(
    quote_id: UUID, body: s.QuoteCloseIn, uow: UowDep, actor: ActorDep, version: ExpectedVersion
) -> Response:
    closed = quotes.close_quote(
        uow,
        quote_id,
        reason=body.status_reason,
        close_date=body.close_date,
        description=body.description,
        actor=actor,
        loss=QuoteLoss(competitor_id=body.competitor_id, close_reason_id=body.close_reason_id),
        pre=Preconditions(expected_version=version),
    )
    return respond(presenters.quote(closed, uow.clock.today()), version=closed.version)


@router.post(
    "/quotes/{quote_id}/revise",
    status_code=201,
    response_model=s.QuoteOut,
    dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)],
)
def revise_quote(quote_id: UUID, uow: UowDep, actor: ActorDep, version: ExpectedVersion) -> Response:
    """The active quote closes as revised; answers the new draft (same number, next revision)."""
    draft = quotes.revise_quote(uow, quote_id, actor=actor, pre=Preconditions(expected_version=version))
    return respond(presenters.quote(draft, uow.clock.today()), status=201, version=draft.version)


@router.post(
    "/quotes/{quote_id}/copy",
    status_code=201,
    response_model=s.QuoteOut,
    dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)],
)
def copy_quote(quote_id: UUID, uow: UowDep, actor: ActorDep, version: ExpectedVersion) -> Response:
    """Answers a new draft with a new number and the same lines."""
    draft = quotes.copy_quote(uow, quote_id, actor=actor, pre=Preconditions(expected_version=version))
    return respond(presenters.quote(draft, uow.clock.today()), status=201, version=draft.version)


@router.post("/quotes/{quote_id}/win", response_model=s.WinOut, dependencies=[may(Attempt.ACT_ON_QUOTE, QUOTE)])
def win_quote(
    quote_id: UUID,
    request: Request,
    uow: UowDep,
    actor: ActorDep,
    version: ExpectedVersion,
    key: IdempotencyKey = None,
    body: s.WinIn | None = None,
) -> Response:
    """SPEC §5: the quote is won, its siblings lost, a draft contract starts; `close_opportunity` also closes
    the deal as won, in the same transaction."""
    body = body or s.WinIn()
    details = quotes.WinDetails(
        close_date=body.close_date,
        description=body.description,
        competitor_id=body.competitor_id,
        close_reason_id=body.close_reason_id,
        close_opportunity=body.close_opportunity,
        accept_expired=body.accept_expired,
    )
    render = partial(presenters.win_result, today=uow.clock.today())
    pre = preconditions(request, actor, version=version, key=key, body=body, render=render)
    result = quotes.win_quote(uow, quote_id, details, actor=actor, pre=pre)
    return respond(render(result))
