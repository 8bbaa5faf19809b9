"""Quote actions on the opportunity page: new draft with lines, edit draft, activate, revise, copy, close, win and
delete. Each confirms with the version the page showed; the answer is the refreshed page region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from babel import Locale
from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.quote import Quote, QuoteLine
from dealdesk.domain.states import Outcome, QuoteStatus
from dealdesk.services import close_policy, opportunities, quotes
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import UowDep
from dealdesk.web.problems import STATUS_OF_CODE
from dealdesk.web.ui import choices, messages
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader, optional_text, version_shown, versions_read
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView, Toast
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import render_screen

router = APIRouter(route_class=PageRoute, include_in_schema=False)
QUOTE_PATH = "/opportunities/{opportunity_id}/quotes/{quote_id}"
CLOSE_REASONS = (QuoteStatus.LOST, QuoteStatus.CANCELED)


def _expected(version: str) -> Preconditions:
    return Preconditions(expected_version=version_shown(version))


def _dialog(view: PageView, template: str, context: dict[str, Any], problem: FormProblem | None) -> HTMLResponse:
    return view.render(template, {**context, "problem": problem}, status=problem.status if problem else 200)


def _after_dialog(view: PageView, uow: UnitOfWork, opportunity_id: UUID, actor: Actor, message: str) -> HTMLResponse:
    return render_screen(view, uow, opportunity_id, actor, toasts=[Toast(message)], after_dialog=True)


# ---------------------------------------------------------------------------------------------- new and edit
class QuoteForm(BaseModel):
    name: str = ""
    valid_until: str = ""
    line_description: list[str] = []
    line_quantity: list[str] = []
    line_unit_price: list[str] = []
    version: str = ""

    @classmethod
    def of(cls, quote: Quote) -> QuoteForm:
        lines = quote.loaded_lines()
        return cls(
            name=quote.name,
            valid_until=quote.valid_until.isoformat() if quote.valid_until else "",
            line_description=[line.description for line in lines],
            line_quantity=[f"{line.quantity:.2f}" for line in lines],
            line_unit_price=[f"{line.unit_price:.2f}" for line in lines],
            version=str(quote.version),
        )

    def rows(self) -> list[tuple[str, str, str]]:
        """The lines as typed, without rows left entirely blank."""
        typed = zip(self.line_description, self.line_quantity, self.line_unit_price, strict=False)
        return [row for row in typed if any(cell.strip() for cell in row)]

    def parsed(self, locale: Locale) -> tuple[list[QuoteLine], FieldReader]:
        read = FieldReader(locale)
        lines = []
        for index, (description, quantity_text, price_text) in enumerate(self.rows()):
            field = f"lines[{index}]"
            quantity = read.decimal(f"{field}.quantity", quantity_text, required=True)
            unit_price = read.decimal(f"{field}.unit_price", price_text, required=True)
            if quantity is None or unit_price is None:
                continue
            try:
                lines.append(QuoteLine.checked(description, quantity, unit_price, field=field))
            except ValidationFailed as exc:
                read.errors.extend(exc.errors)
        return lines, read


def _quote_dialog(
    view: PageView,
    opportunity_id: UUID,
    form: QuoteForm,
    *,
    quote: Quote | None,
    currency: str,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    context = {"opportunity_id": opportunity_id, "form": form, "quote": quote, "currency": currency}
    return _dialog(view, "dialogs/quote_form.html", context, problem)


@router.get("/opportunities/{opportunity_id}/quotes/new", response_class=HTMLResponse)
def new_quote_dialog(opportunity_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    opportunity = opportunities.get_opportunity(uow, opportunity_id)
    form = QuoteForm(version=str(opportunity.version))
    return _quote_dialog(view, opportunity_id, form, quote=None, currency=opportunity.currency)


@router.post("/opportunities/{opportunity_id}/quotes/new", response_class=HTMLResponse)
def create_quote(
    opportunity_id: UUID, form: Annotated[QuoteForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    try:
        lines, read = form.parsed(view.language.locale)
        valid_until = read.day("valid_until", form.valid_until)
        read.check()
        new = quotes.NewQuote(name=form.name, lines=lines, valid_until=valid_until)
        with versions_read(form.version):
            created = quotes.create_quote(uow, opportunity_id, new, actor=actor, pre=_expected(form.version))
    except DomainError as error:
        currency = opportunities.get_opportunity(uow, opportunity_id).currency
        problem = form_problem(view.language, error)
        return _quote_dialog(view, opportunity_id, form, quote=None, currency=currency, problem=problem)
    message = view.gettext("Draft quote %(number)s created.", number=created.number)
    return _after_dialog(view, uow, opportunity_id, actor, message)


@router.get(f"{QUOTE_PATH}/edit", response_class=HTMLResponse)
def edit_quote_dialog(opportunity_id: UUID, quote_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    quote = quotes.get_quote(uow, quote_id)
    currency = opportunities.get_opportunity(uow, opportunity_id).currency
    return _quote_dialog(view, opportunity_id, QuoteForm.of(quote), quote=quote, currency=currency)


@router.post(f"{QUOTE_PATH}/edit", response_class=HTMLResponse)
def save_quote(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[QuoteForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    try:
        lines, read = form.parsed(view.language.locale)
        valid_until = read.day("valid_until", form.valid_until)
        read.check()
        changes = quotes.QuoteChanges(name=form.name, lines=lines, valid_until=valid_until, set_valid_until=True)
        with versions_read(form.version):
            saved = quotes.edit_quote(uow, quote_id, changes, actor=actor, pre=_expected(form.version))
    except DomainError as error:
        quote = quotes.get_quote(uow, quote_id)
        currency = opportunities.get_opportunity(uow, opportunity_id).currency
        problem = form_problem(view.language, error)
        return _quote_dialog(view, opportunity_id, form, quote=quote, currency=currency, problem=problem)
    return _after_dialog(view, uow, opportunity_id, actor, view.gettext("Quote %(number)s saved.", number=saved.number))


# ---------------------------------------------------------------------------------------------- one-click actions
class VersionForm(BaseModel):
    version: str = ""


def _act(
    view: PageView, uow: UnitOfWork, opportunity_id: UUID, actor: Actor, action: Callable[[], str]
) -> HTMLResponse:
    """Run one action; either way the page region is refreshed, so a refused action also shows the current state.
    A refusal answers with its own status (the page's htmx config swaps 4xx answers in too)."""
    try:
        toast = Toast(action())
    except DomainError as error:
        refused = render_screen(
            view, uow, opportunity_id, actor, toasts=[Toast(messages.refusal(view.language, error), "error")]
        )
        refused.status_code = STATUS_OF_CODE.get(error.code, 409)
        return refused
    return render_screen(view, uow, opportunity_id, actor, toasts=[toast])


@router.post(f"{QUOTE_PATH}/activate", response_class=HTMLResponse)
def activate(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[VersionForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    def run() -> str:
        with versions_read(form.version):
            quote = quotes.activate_quote(uow, quote_id, actor=actor, pre=_expected(form.version))
        return view.gettext("Quote %(number)s activated.", number=quote.number)

    return _act(view, uow, opportunity_id, actor, run)


@router.post(f"{QUOTE_PATH}/revise", response_class=HTMLResponse)
def revise(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[VersionForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    def run() -> str:
        with versions_read(form.version):
            draft = quotes.revise_quote(uow, quote_id, actor=actor, pre=_expected(form.version))
        return view.gettext(
            "Quote %(number)s revised: revision %(revision)s is a new draft.",
            number=draft.number,
            revision=draft.revision,
        )

    return _act(view, uow, opportunity_id, actor, run)


@router.post(f"{QUOTE_PATH}/copy", response_class=HTMLResponse)
def copy(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[VersionForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    def run() -> str:
        with versions_read(form.version):
            draft = quotes.copy_quote(uow, quote_id, actor=actor, pre=_expected(form.version))
        return view.gettext("Copied into the new draft quote %(number)s.", number=draft.number)

    return _act(view, uow, opportunity_id, actor, run)


# ---------------------------------------------------------------------------------------------- close, win, delete
class CloseQuoteForm(BaseModel):
    status_reason: str = QuoteStatus.LOST.value
    close_date: str = ""
    description: str = ""
    version: str = ""


def _close_quote_dialog(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    quote: Quote,
    form: CloseQuoteForm,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    context = {
        "opportunity_id": opportunity_id,
        "quote": quote,
        "form": form,
        "reasons": CLOSE_REASONS,
        "today": uow.clock.today(),
    }
    return _dialog(view, "dialogs/close_quote.html", context, problem)


@router.get(f"{QUOTE_PATH}/close", response_class=HTMLResponse)
def close_quote_dialog(opportunity_id: UUID, quote_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    quote = quotes.get_quote(uow, quote_id)
    form = CloseQuoteForm(close_date=uow.clock.today().isoformat(), version=str(quote.version))
    return _close_quote_dialog(view, uow, opportunity_id, quote, form)


@router.post(f"{QUOTE_PATH}/close", response_class=HTMLResponse)
def close_quote(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[CloseQuoteForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    try:
        read = FieldReader()
        reason = read.choice("status_reason", form.status_reason, QuoteStatus, required=True)
        close_date = read.day("close_date", form.close_date)
        read.check()
        assert reason is not None
        with versions_read(form.version):
            closed = quotes.close_quote(
                uow,
                quote_id,
                reason=reason,
                close_date=close_date,
                description=optional_text(form.description),
                actor=actor,
                pre=_expected(form.version),
            )
    except DomainError as error:
        quote = quotes.get_quote(uow, quote_id)
        return _close_quote_dialog(view, uow, opportunity_id, quote, form, form_problem(view.language, error))
    return _after_dialog(
        view, uow, opportunity_id, actor, view.gettext("Quote %(number)s closed.", number=closed.number)
    )


class WinQuoteForm(BaseModel):
    close_date: str = ""
    competitor_id: str = ""
    close_reason_id: str = ""
    description: str = ""
    close_opportunity: str = ""
    accept_expired: str = ""
    version: str = ""


def _win_dialog(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    quote: Quote,
    form: WinQuoteForm,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    context = {
        "opportunity_id": opportunity_id,
        "quote": quote,
        "form": form,
        "competitors": choices.competitors(uow),
        "close_reasons": choices.close_reasons(uow, Outcome.WON),
        "reason_required": close_policy.get_close_policy(uow).require_close_reason_won,
        "today": uow.clock.today(),
        "currency": opportunities.get_opportunity(uow, opportunity_id).currency,
    }
    return _dialog(view, "dialogs/win_quote.html", context, problem)


@router.get(f"{QUOTE_PATH}/win", response_class=HTMLResponse)
def win_quote_dialog(opportunity_id: UUID, quote_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    quote = quotes.get_quote(uow, quote_id)
    form = WinQuoteForm(close_date=uow.clock.today().isoformat(), version=str(quote.version))
    return _win_dialog(view, uow, opportunity_id, quote, form)


@router.post(f"{QUOTE_PATH}/win", response_class=HTMLResponse)
def win_quote(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[WinQuoteForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    try:
        read = FieldReader()
        details = quotes.WinDetails(
            close_date=read.day("close_date", form.close_date),
            competitor_id=read.reference("competitor_id", form.competitor_id),
            close_reason_id=read.reference("close_reason_id", form.close_reason_id),
            description=optional_text(form.description),
            close_opportunity=bool(form.close_opportunity),
            accept_expired=bool(form.accept_expired),
        )
        read.check()
        with versions_read(form.version):
            result = quotes.win_quote(uow, quote_id, details, actor=actor, pre=_expected(form.version))
    except DomainError as error:
        quote = quotes.get_quote(uow, quote_id)
        problem = form_problem(view.language, error, form.model_dump())
        return _win_dialog(view, uow, opportunity_id, quote, form, problem)
    if result.close is not None:
        message = view.gettext(
            "Quote %(number)s won: project contract created and the opportunity closed as won.",
            number=result.quote.number,
        )
    else:
        message = view.gettext("Quote %(number)s won: project contract created.", number=result.quote.number)
    return _after_dialog(view, uow, opportunity_id, actor, message)


@router.get(f"{QUOTE_PATH}/delete", response_class=HTMLResponse)
def delete_quote_dialog(opportunity_id: UUID, quote_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    quote = quotes.get_quote(uow, quote_id)
    context = {"opportunity_id": opportunity_id, "quote": quote, "form": VersionForm(version=str(quote.version))}
    return _dialog(view, "dialogs/delete_quote.html", context, None)


@router.post(f"{QUOTE_PATH}/delete", response_class=HTMLResponse)
def delete_quote(
    opportunity_id: UUID,
    quote_id: UUID,
    form: Annotated[VersionForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    quote = quotes.get_quote(uow, quote_id)
    try:
        with versions_read(form.version):
            quotes.delete_quote(uow, quote_id, actor=actor, pre=_expected(form.version))
    except DomainError as error:
        context = {"opportunity_id": opportunity_id, "quote": quote, "form": form}
        return _dialog(view, "dialogs/delete_quote.html", context, form_problem(view.language, error))
    return _after_dialog(
        view, uow, opportunity_id, actor, view.gettext("Draft quote %(number)s deleted.", number=quote.number)
    )
