"""The catalogues a manager keeps, in the browser: competitors (add, rename, deactivate and activate) and close
reasons (add, rename, retire and bring back). Everyone may look; the use cases refuse changes by anyone but
managers and admins."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import DomainError
from dealdesk.domain.records import CloseReason
from dealdesk.domain.states import Outcome
from dealdesk.services import catalogue
from dealdesk.services.catalogue import CloseReasonChanges, CompetitorChanges
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import UowDep
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import may_manage

router = APIRouter(route_class=PageRoute, include_in_schema=False)
COMPETITORS, CLOSE_REASONS = "/settings/competitors", "/settings/close-reasons"


class NameForm(BaseModel):
    name: str = ""


class NewReasonForm(BaseModel):
    name: str = ""
    outcome: str = Outcome.LOST.value


def _problem(view: PageView, error: DomainError) -> FormProblem:
    problem = form_problem(view.language, error)
    if "name" in problem.errors:
        problem.errors["name"] = view.gettext("Enter a name of 1 to 160 characters.")
    return problem


# ---------------------------------------------------------------------------------------------- competitors
def _competitors_page(
    view: PageView,
    uow: UnitOfWork,
    actor: Actor,
    problem: FormProblem | None = None,
    *,
    failed: str | None = None,
    form: NameForm | None = None,
) -> HTMLResponse:
    context = {
        "competitors": _all(lambda cursor: catalogue.list_competitors(uow, limit=200, cursor=cursor)),
        "may_manage": may_manage(actor),
        "problem": problem,
        "failed": failed,
        "form": form or NameForm(),
    }
    return view.render("settings/competitors.html", context, status=problem.status if problem else 200)


def _all(fetch: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


@router.get(COMPETITORS, response_class=HTMLResponse)
def competitors_page(view: View, uow: UowDep, actor: PageActor) -> HTMLResponse:
    return _competitors_page(view, uow, actor)


@router.post(COMPETITORS, response_class=HTMLResponse)
def add_competitor(form: Annotated[NameForm, Form()], view: View, uow: UowDep, actor: PageActor) -> Response:
    try:
        catalogue.create_competitor(uow, name=form.name, actor=actor)
    except DomainError as error:
        return _competitors_page(view, uow, actor, _problem(view, error), failed="new", form=form)
    return RedirectResponse(COMPETITORS, status_code=303)


class CompetitorChangeForm(BaseModel):
    name: str = ""
    active: str = ""
    """'yes' or 'no' from the activate / deactivate buttons; empty when renaming."""


@router.post(COMPETITORS + "/{competitor_id}", response_class=HTMLResponse)
def change_competitor(
    competitor_id: UUID, form: Annotated[CompetitorChangeForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> Response:
    changes = CompetitorChanges(active=form.active == "yes") if form.active else CompetitorChanges(name=form.name)
    try:
        catalogue.update_competitor(uow, competitor_id, changes, actor=actor)
    except DomainError as error:
        failed_form = NameForm(name=form.name)
        return _competitors_page(view, uow, actor, _problem(view, error), failed=str(competitor_id), form=failed_form)
    return RedirectResponse(COMPETITORS, status_code=303)


# ---------------------------------------------------------------------------------------------- close reasons
def _reasons_page(
    view: PageView,
    uow: UnitOfWork,
    actor: Actor,
    problem: FormProblem | None = None,
    *,
    failed: str | None = None,
    form: NewReasonForm | None = None,
) -> HTMLResponse:
    reasons: list[CloseReason] = _all(
        lambda cursor: catalogue.list_close_reasons(uow, outcome=None, limit=200, cursor=cursor)
    )
    context = {
        "groups": [(outcome, [r for r in reasons if r.outcome is outcome]) for outcome in (Outcome.WON, Outcome.LOST)],
        "outcomes": [Outcome.WON, Outcome.LOST],
        "may_manage": may_manage(actor),
        "problem": problem,
        "failed": failed,
        "form": form or NewReasonForm(),
    }
    return view.render("settings/close_reasons.html", context, status=problem.status if problem else 200)


@router.get(CLOSE_REASONS, response_class=HTMLResponse)
def close_reasons_page(view: View, uow: UowDep, actor: PageActor) -> HTMLResponse:
    return _reasons_page(view, uow, actor)


@router.post(CLOSE_REASONS, response_class=HTMLResponse)
def add_close_reason(form: Annotated[NewReasonForm, Form()], view: View, uow: UowDep, actor: PageActor) -> Response:
    try:
        read = FieldReader()
        outcome = read.choice("outcome", form.outcome, Outcome, required=True)
        read.check()
        assert outcome is not None
        catalogue.create_close_reason(uow, outcome=outcome, name=form.name, active=True, actor=actor)
    except DomainError as error:
        return _reasons_page(view, uow, actor, _problem(view, error), failed="new", form=form)
    return RedirectResponse(CLOSE_REASONS, status_code=303)


class ReasonChangeForm(BaseModel):
    name: str = ""
    active: str = ""
    """'yes' or 'no' from the retire / bring back buttons; empty when renaming."""


@router.post(CLOSE_REASONS + "/{reason_id}", response_class=HTMLResponse)
def change_close_reason(
    reason_id: UUID, form: Annotated[ReasonChangeForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> Response:
    changes = CloseReasonChanges(active=form.active == "yes") if form.active else CloseReasonChanges(name=form.name)
    try:
        catalogue.update_close_reason(uow, reason_id, changes, actor=actor)
    except DomainError as error:
        failed_form = NewReasonForm()
        return _reasons_page(view, uow, actor, _problem(view, error), failed=str(reason_id), form=failed_form)
    return RedirectResponse(CLOSE_REASONS, status_code=303)
