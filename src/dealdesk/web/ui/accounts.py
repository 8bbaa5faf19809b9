"""Accounts in the browser: the list, an account's page (its deals and how they ended), new and rename; and the
type-ahead the new-opportunity form asks for account names."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from dealdesk.domain.errors import DomainError
from dealdesk.domain.states import OpportunityState
from dealdesk.services import catalogue, reports, views
from dealdesk.services.ports import OpportunityFilter
from dealdesk.services.reports import ReportFilter
from dealdesk.services.views import OpportunityListQuery, OpportunitySort
from dealdesk.web.deps import UowDep
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SUGGESTIONS = 10


class AccountForm(BaseModel):
    name: str = ""


def _account_problem(view: PageView, error: DomainError) -> FormProblem:
    problem = form_problem(view.language, error)
    if "name" in problem.errors:
        problem.errors["name"] = view.gettext("Enter the account's name (1 to 160 characters).")
    return problem


@router.get("/accounts", response_class=HTMLResponse)
def account_list(view: View, uow: UowDep, q: str = "") -> HTMLResponse:
    names = views.account_names(uow)
    wanted = q.strip().casefold()
    shown = [(i, n) for i, n in names.items() if wanted in n.casefold()] if wanted else list(names.items())
    return view.render("accounts/list.html", {"accounts": shown, "q": q})


@router.get("/accounts/suggest", response_class=HTMLResponse)
def suggest(view: View, uow: UowDep, account_name: str = "") -> HTMLResponse:
    """The options of the account field's datalist: names containing what was typed, those starting with it first."""
    text = account_name.strip()
    found = views.accounts_matching(uow, text, limit=SUGGESTIONS) if text else {}
    return view.render("accounts/_suggestions.html", {"suggestions": list(found.values())})


@router.get("/accounts/new", response_class=HTMLResponse)
def new_account_page(view: View) -> HTMLResponse:
    return view.render("accounts/form.html", {"account": None, "form": AccountForm(), "problem": None})


@router.post("/accounts/new", response_class=HTMLResponse)
def create_account(form: Annotated[AccountForm, Form()], view: View, uow: UowDep, actor: PageActor) -> Response:
    try:
        account = catalogue.create_account(uow, name=form.name, actor=actor)
    except DomainError as error:
        problem = _account_problem(view, error)
        context = {"account": None, "form": form, "problem": problem}
        return view.render("accounts/form.html", context, status=problem.status)
    return RedirectResponse(f"/accounts/{account.id}", status_code=303)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(account_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    account = catalogue.get_account(uow, account_id)

    def deals(state: OpportunityState | None) -> Any:
        where = OpportunityFilter(state=state, account_id=account_id)
        return views.list_opportunity_rows(uow, OpportunityListQuery(where=where, sort=OpportunitySort.NEWEST))

    report = reports.win_loss(uow, ReportFilter(account_id=account_id))
    context = {
        "account": account,
        "open_deals": deals(OpportunityState.OPEN),
        "won_deals": deals(OpportunityState.WON),
        "lost_deals": deals(OpportunityState.LOST),
        "report": report,
    }
    return view.render("accounts/page.html", context)


@router.get("/accounts/{account_id}/edit", response_class=HTMLResponse)
def edit_account_page(account_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    account = catalogue.get_account(uow, account_id)
    return view.render(
        "accounts/form.html", {"account": account, "form": AccountForm(name=account.name), "problem": None}
    )


@router.post("/accounts/{account_id}/edit", response_class=HTMLResponse)
def rename_account(
    account_id: UUID, form: Annotated[AccountForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> Response:
    try:
        catalogue.rename_account(uow, account_id, name=form.name, actor=actor)
    except DomainError as error:
        account = catalogue.get_account(uow, account_id)
        problem = _account_problem(view, error)
        return view.render(
            "accounts/form.html", {"account": account, "form": form, "problem": problem}, status=problem.status
        )
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)
