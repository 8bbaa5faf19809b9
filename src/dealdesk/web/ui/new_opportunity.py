"""A new opportunity from the browser. The account is typed (the field suggests existing names as one types) and,
when no account has that name yet, created in the same step once the person confirms it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.opportunity_changes import KEEP, OpportunityChanges
from dealdesk.services import catalogue, opportunities, views
from dealdesk.services.opportunities import NewOpportunity
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import UowDep
from dealdesk.web.ui.currencies import currency_choices
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader, optional_text
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


class NewOpportunityForm(BaseModel):
    name: str = ""
    account_name: str = ""
    create_account: str = ""
    currency: str = "USD"
    estimated_revenue: str = ""
    estimated_close_date: str = ""
    description: str = ""


def _account_named(uow: UnitOfWork, name: str) -> UUID | None:
    """The one account with exactly this name (ignoring case and outer spaces), if there is one."""
    wanted = name.strip().casefold()
    found = [i for i, n in views.accounts_matching(uow, name.strip(), limit=50).items() if n.casefold() == wanted]
    return found[0] if found else None


def _page(
    view: PageView, uow: UnitOfWork, form: NewOpportunityForm, problem: FormProblem | None, *, ask_create: bool = False
) -> HTMLResponse:
    context = {
        "form": form,
        "problem": problem,
        "ask_create": ask_create,
        "currencies": currency_choices(view.language.locale, uow.clock.today(), keep=form.currency or None),
    }
    return view.render("opportunities/new.html", context, status=problem.status if problem else 200)


@router.get("/opportunities/new", response_class=HTMLResponse)
def new_opportunity_page(view: View, uow: UowDep, account: str = "") -> HTMLResponse:
    """`?account=<id>` starts the form with that account (from the account's page)."""
    form = NewOpportunityForm()
    names = views.account_names(uow)
    for account_id, name in names.items():
        if str(account_id) == account:
            form = NewOpportunityForm(account_name=name)
    return _page(view, uow, form, None)


@router.post("/opportunities/new", response_class=HTMLResponse)
def create_opportunity(
    form: Annotated[NewOpportunityForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> Response:
    read = FieldReader(view.language.locale)
    revenue = read.decimal("estimated_revenue", form.estimated_revenue, required=True)
    close_date = read.day("estimated_close_date", form.estimated_close_date)
    currency = form.currency.strip().upper() or "USD"
    own_fields = OpportunityChanges(
        name=form.name,
        currency=currency,
        estimated_revenue=KEEP if revenue is None else revenue,
        description=optional_text(form.description),
    )
    try:  # every fault of the deal's own fields is found before an account is created for it
        own_fields.checked()
    except ValidationFailed as exc:
        read.errors.extend(exc.errors)
    account_id = _account_named(uow, form.account_name) if form.account_name.strip() else None
    ask_create = False
    if not form.account_name.strip():
        read.errors.append(ValidationFailed.field("account_id", "is required").errors[0])
    elif account_id is None and form.create_account != "yes":
        ask_create = True
        read.errors.append(ValidationFailed.field("account_id", "no such account").errors[0])
    try:
        read.check()
        assert revenue is not None
        if account_id is None:
            account_id = catalogue.create_account(uow, name=form.account_name.strip(), actor=actor).id
        new = NewOpportunity(
            name=form.name,
            account_id=account_id,
            estimated_revenue=revenue,
            currency=currency,
            estimated_close_date=close_date,
            description=optional_text(form.description),
        )
        created = opportunities.create_opportunity(uow, new, actor=actor)
    except DomainError as error:
        problem = form_problem(view.language, error, form.model_dump())
        if ask_create:
            problem.errors["account_id"] = view.gettext(
                "No account has this name yet. Tick the box below to create it with the opportunity, or pick a "
                "name from the suggestions."
            )
        return _page(view, uow, form, problem, ask_create=ask_create)
    return RedirectResponse(f"/opportunities/{created.id}", status_code=303)
