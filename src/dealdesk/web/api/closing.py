"""Closing an opportunity: preview, close all quotes, close, reopen, close history, corrections, bulk close."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.quote import QuoteLoss
from dealdesk.services import closing
from dealdesk.services.guards import Preconditions
from dealdesk.services.permissions import Attempt
from dealdesk.web import presenters
from dealdesk.web import schemas as s
from dealdesk.web.api.catalogue import Cursor, Limit
from dealdesk.web.attempts import CLOSE, OPPORTUNITY, may, names
from dealdesk.web.deps import (
    ActorDep,
    ExpectedVersion,
    IdempotencyKey,
    UowDep,
    preconditions,
    respond,
    respond_result,
)
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["closing"], responses=PROBLEM_RESPONSES)


@router.post("/opportunities/bulk-close", response_model=s.BulkCloseOut, dependencies=[may(Attempt.MANAGE)])
def bulk_close(
    body: s.BulkCloseIn, request: Request, uow: UowDep, actor: ActorDep, key: IdempotencyKey = None
) -> Response:
    """Each opportunity closes or is refused on its own; every id is reported, in the order given."""
    pre = preconditions(request, actor, version=None, key=key, body=body, render=presenters.bulk_result)
    result = closing.bulk_close(uow, body.ids, body.details(), actor=actor, pre=pre)
    return respond_result(pre, result, presenters.bulk_result)


@router.get(
    "/opportunities/{opportunity_id}/close-preview", response_model=s.ClosePreviewOut, dependencies=[names(OPPORTUNITY)]
)
def close_preview(opportunity_id: UUID, uow: UowDep) -> Response:
    """What the Close dialog shows before the user confirms; send `etag` back as If-Match on the close."""
    preview = closing.preview_close(uow, opportunity_id)
    return respond(presenters.preview(preview), version=preview.version)


@router.post(
    "/opportunities/{opportunity_id}/close-quotes",
    response_model=s.ClosedQuotesOut,
    dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)],
)
def close_quotes(
    opportunity_id: UUID, body: s.CloseQuotesIn, uow: UowDep, actor: ActorDep, version: ExpectedVersion
) -> Response:
    """Every active and draft quote of an open opportunity, closed at once."""
    closed = closing.close_all_quotes(
        uow,
        opportunity_id,
        reason=body.status_reason,
        description=body.description,
        actor=actor,
        loss=QuoteLoss(competitor_id=body.competitor_id, close_reason_id=body.close_reason_id),
        pre=Preconditions(expected_version=version),
    )
    return respond(s.ClosedQuotesOut(closed_quotes=presenters.closed_quotes(closed)))


@router.post(
    "/opportunities/{opportunity_id}/close",
    response_model=s.CloseOut,
    dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)],
)
def close_opportunity(
    opportunity_id: UUID,
    body: s.CloseIn,
    request: Request,
    uow: UowDep,
    actor: ActorDep,
    version: ExpectedVersion,
    key: IdempotencyKey = None,
) -> Response:
    """Close as won or lost. Refused while a quote is active (`active_quotes_block_close` names them), unless
    `close_quotes` closes every active and draft quote in the same transaction."""
    pre = preconditions(request, actor, version=version, key=key, body=body, render=presenters.close_result)
    result = closing.close_opportunity(uow, opportunity_id, body.details(), actor=actor, pre=pre)
    return respond_result(pre, result, presenters.close_result, version=result.opportunity.version)


@router.post(
    "/opportunities/{opportunity_id}/reopen",
    response_model=s.ReopenOut,
    dependencies=[may(Attempt.ACT_ON_OPPORTUNITY, OPPORTUNITY)],
)
def reopen(
    opportunity_id: UUID, uow: UowDep, actor: ActorDep, version: ExpectedVersion, body: s.ReopenIn | None = None
) -> Response:
    """Back to open; the standing close record is kept and stamped with who reopened it and why.
    `revive_quote_id` (a lost or canceled quote of the deal) also starts a new draft revision of it, in the same
    transaction, answered as `revived_quote`; not while the deal has a won quote (`won_quote_exists`)."""
    body = body or s.ReopenIn()
    result = closing.reopen_and_revive(
        uow,
        opportunity_id,
        status_reason=body.status_reason,
        reason=body.reason,
        actor=actor,
        pre=Preconditions(expected_version=version),
        revive_quote_id=body.revive_quote_id,
    )
    answer = presenters.reopened(result.opportunity, result.revived_quote, uow.clock.today())
    return respond(answer, version=result.opportunity.version)


@router.get(
    "/opportunities/{opportunity_id}/closes",
    response_model=s.Page[s.CloseRecordOut],
    dependencies=[names(OPPORTUNITY)],
)
def list_closes(opportunity_id: UUID, uow: UowDep, limit: Limit = 50, cursor: Cursor = None) -> Response:
    """Every close record, newest first, including those ended by a reopen."""
    page = closing.list_closes(uow, opportunity_id, limit=limit, cursor=cursor)
    return respond(s.Page[s.CloseRecordOut].model_validate(page))


@router.patch("/closes/{close_id}", response_model=s.CloseRecordOut, dependencies=[may(Attempt.MANAGE, CLOSE)])
def correct_close(close_id: UUID, body: s.ClosePatch, uow: UowDep, actor: ActorDep) -> Response:
    """The standing record's description, competitor and reason detail; audited."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed([FieldError("body", "name at least one of description, competitor_id, close_reason_id")])
    return respond(s.CloseRecordOut.model_validate(closing.correct_close(uow, close_id, changes, actor=actor)))
