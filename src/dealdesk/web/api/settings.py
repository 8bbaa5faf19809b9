"""Settings: the close policy (SPEC §11)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.services import close_policy
from dealdesk.services.permissions import Attempt
from dealdesk.web import schemas as s
from dealdesk.web.attempts import may
from dealdesk.web.deps import ActorDep, UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["settings"], responses=PROBLEM_RESPONSES)


def policy_doc(policy: ClosePolicy) -> s.ClosePolicyDoc:
    return s.ClosePolicyDoc.model_validate(policy.as_dict())


@router.get("/settings/close-policy", response_model=s.ClosePolicyDoc)
def get_close_policy(uow: UowDep) -> Response:
    """What every opportunity close must carry; anyone signed in may read it."""
    return respond(policy_doc(close_policy.get_close_policy(uow)))


@router.put("/settings/close-policy", response_model=s.ClosePolicyDoc, dependencies=[may(Attempt.MANAGE)])
def set_close_policy(body: s.ClosePolicyDoc, uow: UowDep, actor: ActorDep) -> Response:
    """Managers and admins set every field at once; audited. Applies to every close from then on, through every
    door (the Close dialog, this API, bulk close, the CLI, imports, Dataverse), and to corrections of close records,
    which may not clear a value it requires. Quote closes are not governed by it."""
    policy = ClosePolicy(
        require_close_reason_won=body.require_close_reason.won,
        require_close_reason_lost=body.require_close_reason.lost,
        require_competitor_when_out_sold=body.require_competitor_when_out_sold,
        require_description_when_lost=body.require_description_when_lost,
    )
    return respond(policy_doc(close_policy.set_close_policy(uow, policy, actor=actor)))
