"""Checks that ids named in a request body point at real records (an unknown one is a validation error)."""

from __future__ import annotations

from uuid import UUID

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.quote import QuoteLoss
from dealdesk.domain.states import Outcome
from dealdesk.services.ports import UnitOfWork


def check_close_references(
    uow: UnitOfWork,
    *,
    outcome: Outcome,
    close_reason_id: UUID | None,
    competitor_id: UUID | None,
) -> None:
    errors: list[FieldError] = []
    if competitor_id is not None:
        competitor = uow.competitors.find(competitor_id)
        if competitor is None:
            errors.append(FieldError("competitor_id", "no such competitor"))
        else:
            try:
                competitor.require_usable()
            except ValidationFailed as exc:
                errors.extend(exc.errors)
    if close_reason_id is not None:
        reason = uow.close_reasons.find(close_reason_id)
        if reason is None:
            errors.append(FieldError("close_reason_id", "no such close reason"))
        else:
            try:
                reason.require_usable_for(outcome)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)


def check_quote_loss(uow: UnitOfWork, loss: QuoteLoss | None) -> QuoteLoss | None:
    """A quote close's competitor must exist and its reason detail be a usable lost reason (SPEC §11)."""
    if loss is None:
        return None
    check_close_references(
        uow, outcome=Outcome.LOST, close_reason_id=loss.close_reason_id, competitor_id=loss.competitor_id
    )
    return loss


def check_account(uow: UnitOfWork, account_id: UUID) -> None:
    if not uow.accounts.exists(account_id):
        raise ValidationFailed.field("account_id", "no such account")
