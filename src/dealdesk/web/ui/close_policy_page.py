"""The Close policy settings page: what every opportunity close must carry (SPEC §11). Everyone may look; managers and
admins change it (the use case refuses anyone else, and audits the change)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.errors import DomainError
from dealdesk.services import close_policy
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import UowDep
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import may_manage

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CLOSE_POLICY = "/settings/close-policy"


class ClosePolicyForm(BaseModel):
    """Checkboxes: a ticked one sends "yes", an unticked one sends nothing."""

    require_close_reason_won: str = ""
    require_close_reason_lost: str = ""
    require_competitor_when_out_sold: str = ""
    require_description_when_lost: str = ""

    def policy(self) -> ClosePolicy:
        return ClosePolicy(
            require_close_reason_won=bool(self.require_close_reason_won),
            require_close_reason_lost=bool(self.require_close_reason_lost),
            require_competitor_when_out_sold=bool(self.require_competitor_when_out_sold),
            require_description_when_lost=bool(self.require_description_when_lost),
        )


def _page(
    view: PageView,
    uow: UnitOfWork,
    actor: Actor,
    *,
    saved: bool = False,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    context = {
        "policy": close_policy.get_close_policy(uow),
        "may_manage": may_manage(actor),
        "saved": saved,
        "problem": problem,
    }
    return view.render("settings/close_policy.html", context, status=problem.status if problem else 200)


@router.get(CLOSE_POLICY, response_class=HTMLResponse)
def close_policy_page(view: View, uow: UowDep, actor: PageActor, saved: Annotated[str, Query()] = "") -> HTMLResponse:
    return _page(view, uow, actor, saved=saved == "1")


@router.post(CLOSE_POLICY, response_class=HTMLResponse)
def save_close_policy(form: Annotated[ClosePolicyForm, Form()], view: View, uow: UowDep, actor: PageActor) -> Response:
    try:
        close_policy.set_close_policy(uow, form.policy(), actor=actor)
    except DomainError as error:
        return _page(view, uow, actor, problem=form_problem(view.language, error))
    return RedirectResponse(CLOSE_POLICY + "?saved=1", status_code=303)
