"""The opportunity page and its deal-level dialogs: edit details, reopen, close all quotes, correct a close record,
and more of the audit trail."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from babel import Locale
from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import DomainError, FieldError, NotFound
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.opportunity_changes import KEEP, OpportunityChanges
from dealdesk.domain.states import OpportunityStatus, QuoteStatus, Role
from dealdesk.services import auth, closing, opportunities, views
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import UnitOfWork
from dealdesk.services.views import CloseHistoryEntry, OpportunityScreen
from dealdesk.web.deps import UowDep
from dealdesk.web.ui import choices
from dealdesk.web.ui.audit import audit_panel
from dealdesk.web.ui.currencies import currency_choices
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader, optional_text, version_shown, versions_read
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView, Toast
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import may_manage, render_screen

router = APIRouter(route_class=PageRoute, include_in_schema=False)
OPEN_STATUSES = (OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD)


@router.get("/opportunities/{opportunity_id}", response_class=HTMLResponse)
def opportunity_page(opportunity_id: UUID, view: View, uow: UowDep, actor: PageActor) -> HTMLResponse:
    return render_screen(view, uow, opportunity_id, actor)


@router.get("/opportunities/{opportunity_id}/audit", response_class=HTMLResponse)
def more_audit(opportunity_id: UUID, cursor: str, view: View, uow: UowDep) -> HTMLResponse:
    currency = opportunities.get_opportunity(uow, opportunity_id).currency
    panel = audit_panel(view.language, uow, opportunity_id, currency=currency, cursor=cursor)
    return view.render("opportunity/_audit_lines.html", {"audit": panel, "opportunity_id": opportunity_id})


def _dialog(view: PageView, template: str, context: dict[str, Any], problem: FormProblem | None) -> HTMLResponse:
    status = problem.status if problem is not None else 200
    return view.render(template, {**context, "problem": problem}, status=status)


# ---------------------------------------------------------------------------------------------- details
class DetailsForm(BaseModel):
    name: str = ""
    account_id: str = ""
    currency: str = ""
    estimated_revenue: str = ""
    estimated_close_date: str = ""
    description: str = ""
    status_reason: str = ""
    owner_id: str = ""
    """Sent only by a manager's form; empty keeps the owner."""
    version: str = ""

    @classmethod
    def of(cls, o: Opportunity) -> DetailsForm:
        return cls(
            name=o.name,
            account_id=str(o.account_id),
            currency=o.currency,
            estimated_revenue=f"{o.estimated_revenue:.2f}",
            estimated_close_date=o.estimated_close_date.isoformat() if o.estimated_close_date else "",
            description=o.description or "",
            status_reason=o.status_reason.value,
            owner_id=str(o.owner_id),
            version=str(o.version),
        )

    def changes(self, locale: Locale, current_owner: UUID) -> OpportunityChanges:
        read = FieldReader(locale)
        account_id = read.reference("account_id", self.account_id, required=True)
        revenue = read.decimal("estimated_revenue", self.estimated_revenue, required=True)
        close_date = read.day("estimated_close_date", self.estimated_close_date)
        status = read.choice("status_reason", self.status_reason, OpportunityStatus, required=True)
        owner = read.reference("owner_id", self.owner_id)
        read.check()
        assert account_id is not None and revenue is not None and status is not None  # required: checked above
        return OpportunityChanges(
            name=self.name,
            account_id=account_id,
            currency=self.currency.strip().upper(),
            estimated_revenue=revenue,
            estimated_close_date=close_date,
            description=optional_text(self.description),
            status_reason=status,
            # only a real reassignment asks for a manager
            owner_id=owner if owner is not None and owner != current_owner else KEEP,
        )


def _details_dialog(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    form: DetailsForm,
    actor: Actor,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    today = uow.clock.today()
    context = {
        "opportunity_id": opportunity_id,
        "form": form,
        "accounts": views.account_names(uow),
        "statuses": OPEN_STATUSES,
        "currencies": currency_choices(view.language.locale, today, keep=form.currency or None),
        "owners": owner_choices(uow) if may_manage(actor) else None,
    }
    return _dialog(view, "dialogs/edit_opportunity.html", context, problem)


@router.get("/opportunities/{opportunity_id}/edit", response_class=HTMLResponse)
def edit_dialog(opportunity_id: UUID, view: View, uow: UowDep, actor: PageActor) -> HTMLResponse:
    opportunity = opportunities.get_opportunity(uow, opportunity_id)
    return _details_dialog(view, uow, opportunity_id, DetailsForm.of(opportunity), actor)


@router.post("/opportunities/{opportunity_id}/edit", response_class=HTMLResponse)
def save_details(
    opportunity_id: UUID, form: Annotated[DetailsForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    pre = Preconditions(expected_version=version_shown(form.version))
    try:
        with versions_read(form.version):
            current = opportunities.get_opportunity(uow, opportunity_id)
            changes = form.changes(view.language.locale, current.owner_id)
            opportunities.edit_opportunity(uow, opportunity_id, changes, actor=actor, pre=pre)
    except DomainError as error:
        problem = form_problem(view.language, error, form.model_dump())
        return _details_dialog(view, uow, opportunity_id, form, actor, problem)
    toast = Toast(view.gettext("Details saved."))
    return render_screen(view, uow, opportunity_id, actor, toasts=[toast], after_dialog=True)


# ---------------------------------------------------------------------------------------------- reopen
class ReopenForm(BaseModel):
    status_reason: str = OpportunityStatus.IN_PROGRESS.value
    reason: str = ""
    revive_quote_id: str = ""
    """A lost or canceled quote to start a new draft revision of, in the same step (SPEC §11); empty: none."""
    version: str = ""


def owner_choices(uow: UnitOfWork) -> list[tuple[UUID, str]]:
    """Who may own a deal: active users who may create opportunities (sales, managers, admins)."""
    return [(u.id, u.name) for u in auth.list_users(uow) if u.active and u.role is not Role.VIEWER]


def _reopen_dialog(
    view: PageView, opportunity: Opportunity, form: ReopenForm, problem: FormProblem | None = None
) -> HTMLResponse:
    # A deal with a won quote keeps it: no quote of it can start again (won_quote_exists), so none is offered.
    revivable = [q for q in opportunity.quotes if q.is_revivable] if opportunity.won_quote_id is None else []
    context = {"opportunity": opportunity, "form": form, "statuses": OPEN_STATUSES, "revivable": revivable}
    return _dialog(view, "dialogs/reopen.html", context, problem)


@router.get("/opportunities/{opportunity_id}/reopen", response_class=HTMLResponse)
def reopen_dialog(opportunity_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    opportunity = opportunities.get_opportunity(uow, opportunity_id)
    return _reopen_dialog(view, opportunity, ReopenForm(version=str(opportunity.version)))


@router.post("/opportunities/{opportunity_id}/reopen", response_class=HTMLResponse)
def reopen(
    opportunity_id: UUID, form: Annotated[ReopenForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    try:
        read = FieldReader()
        status = read.choice("status_reason", form.status_reason, OpportunityStatus)
        revive_quote_id = read.reference("revive_quote_id", form.revive_quote_id)
        if not form.reason.strip():  # the history shows why a deal came back; the dialog asks for it
            read.errors.append(FieldError("reason", "is required"))
        read.check()
        with versions_read(form.version):
            result = closing.reopen_and_revive(
                uow,
                opportunity_id,
                status_reason=status,
                reason=optional_text(form.reason),
                actor=actor,
                pre=Preconditions(expected_version=version_shown(form.version)),
                revive_quote_id=revive_quote_id,
            )
    except DomainError as error:
        opportunity = opportunities.get_opportunity(uow, opportunity_id)
        return _reopen_dialog(view, opportunity, form, form_problem(view.language, error, form.model_dump()))
    revived = result.revived_quote
    if revived is None:
        toast = Toast(view.gettext("Opportunity reopened."))
    else:
        toast = Toast(
            view.gettext(
                "Opportunity reopened: quote %(number)s revision %(revision)s is a new draft.",
                number=revived.number,
                revision=revived.revision,
            )
        )
    return render_screen(view, uow, opportunity_id, actor, toasts=[toast], after_dialog=True)


# ---------------------------------------------------------------------------------------------- close all quotes
class CloseQuotesForm(BaseModel):
    status_reason: str = QuoteStatus.LOST.value
    description: str = ""
    version: str = ""


def _close_quotes_dialog(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    form: CloseQuotesForm | None,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    screen = views.opportunity_screen(uow, opportunity_id)
    form = form or CloseQuotesForm(version=str(screen.opportunity.version))
    context = {"screen": screen, "form": form, "reasons": [QuoteStatus.LOST, QuoteStatus.CANCELED]}
    return _dialog(view, "dialogs/close_quotes.html", context, problem)


@router.get("/opportunities/{opportunity_id}/close-quotes", response_class=HTMLResponse)
def close_quotes_dialog(opportunity_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    return _close_quotes_dialog(view, uow, opportunity_id, None)


@router.post("/opportunities/{opportunity_id}/close-quotes", response_class=HTMLResponse)
def close_quotes(
    opportunity_id: UUID, form: Annotated[CloseQuotesForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    try:
        read = FieldReader()
        reason = read.choice("status_reason", form.status_reason, QuoteStatus, required=True)
        read.check()
        assert reason is not None
        with versions_read(form.version):
            closed = closing.close_all_quotes(
                uow,
                opportunity_id,
                reason=reason,
                description=optional_text(form.description),
                actor=actor,
                pre=Preconditions(expected_version=version_shown(form.version)),
            )
    except DomainError as error:
        # A refusal re-reads the quotes, so the list shown is the one a second try would close.
        return _close_quotes_dialog(view, uow, opportunity_id, None, form_problem(view.language, error))
    message = view.language.ngettext("%(count)s quote closed.", "%(count)s quotes closed.", len(closed))
    toast = Toast(message % {"count": len(closed)})
    return render_screen(view, uow, opportunity_id, actor, toasts=[toast], after_dialog=True)


# ---------------------------------------------------------------------------------------------- correct a close
class CorrectionForm(BaseModel):
    description: str = ""
    competitor_id: str = ""
    close_reason_id: str = ""
    version: str = ""


def _close_entry(uow: UnitOfWork, opportunity_id: UUID, close_id: UUID) -> tuple[OpportunityScreen, CloseHistoryEntry]:
    screen = views.opportunity_screen(uow, opportunity_id)
    entry = next((e for e in screen.closes if e.record.id == close_id), None)
    if entry is None:
        raise NotFound("close record", close_id)
    return screen, entry


def _correction_dialog(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    close_id: UUID,
    form: CorrectionForm | None,
    problem: FormProblem | None = None,
) -> HTMLResponse:
    screen, entry = _close_entry(uow, opportunity_id, close_id)
    record = entry.record
    form = form or CorrectionForm(
        description=record.description or "",
        competitor_id=str(record.competitor_id or ""),
        close_reason_id=str(record.close_reason_id or ""),
        version=str(screen.opportunity.version),
    )
    context = {
        "opportunity": screen.opportunity,
        "entry": entry,
        "form": form,
        "competitors": choices.competitors(uow, keep=record.competitor_id),
        "close_reasons": choices.close_reasons(uow, record.outcome, keep=record.close_reason_id),
    }
    return _dialog(view, "dialogs/correct_close.html", context, problem)


@router.get("/opportunities/{opportunity_id}/closes/{close_id}/correct", response_class=HTMLResponse)
def correction_dialog(opportunity_id: UUID, close_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    return _correction_dialog(view, uow, opportunity_id, close_id, None)


@router.post("/opportunities/{opportunity_id}/closes/{close_id}/correct", response_class=HTMLResponse)
def correct_close(
    opportunity_id: UUID,
    close_id: UUID,
    form: Annotated[CorrectionForm, Form()],
    view: View,
    uow: UowDep,
    actor: PageActor,
) -> HTMLResponse:
    """Only what the person changed is sent, so the audit trail records real corrections only."""
    try:
        _, entry = _close_entry(uow, opportunity_id, close_id)
        read = FieldReader()
        wanted = {
            "description": optional_text(form.description),
            "competitor_id": read.reference("competitor_id", form.competitor_id),
            "close_reason_id": read.reference("close_reason_id", form.close_reason_id),
        }
        read.check()
        changes = {name: value for name, value in wanted.items() if value != getattr(entry.record, name)}
        if changes:
            pre = Preconditions(expected_version=version_shown(form.version))
            with versions_read(form.version):
                closing.correct_close(uow, close_id, changes, actor=actor, pre=pre)
    except DomainError as error:
        problem = form_problem(view.language, error, form.model_dump())
        return _correction_dialog(view, uow, opportunity_id, close_id, form, problem)
    toast = Toast(view.gettext("Close record corrected.") if changes else view.gettext("Nothing was changed."))
    return render_screen(view, uow, opportunity_id, actor, toasts=[toast], after_dialog=True)
