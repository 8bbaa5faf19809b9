"""The Close opportunity dialog (SPEC §4, §5).

It shows the close preview before anything happens and confirms with the version it previewed, so a quote changed
meanwhile is caught instead of silently closed. Three ways to confirm, each one transaction in the services:
a plain close; "close the blocking quotes and close" (close_quotes); "win this quote and close as won"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from babel import Locale
from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.closing import CloseDetails, ClosePreview
from dealdesk.domain.errors import DomainError
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.states import CLOSE_STATUSES, OpportunityStatus, Outcome, QuoteStatus
from dealdesk.domain.values import ZERO
from dealdesk.services import close_policy, closing, opportunities, quotes
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.deps import UowDep
from dealdesk.web.ui import choices
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader, optional_text, version_shown, versions_read
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView, Toast
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import render_screen

router = APIRouter(route_class=PageRoute, include_in_schema=False)
STATUS_ORDER = (OpportunityStatus.WON, OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD)


class CloseMode(StrEnum):
    """What the dialog offers, decided by the outcome and the preview."""

    PLAIN = "plain"
    """No active quote: close (optionally closing the drafts too)."""
    CLOSE_QUOTES = "close_quotes"
    """Lost, with active quotes: close them (and the drafts) as lost or canceled, and the deal, in one step."""
    WIN_QUOTE = "win_quote"
    """Won, with active quotes: win the quote the customer accepted; the others close as lost."""
    ONLY_WON = "only_won"
    """Lost, but a quote was won: refused by the rules, so the dialog says why and offers nothing."""
    NOT_OPEN = "not_open"


class CloseForm(BaseModel):
    outcome: str = Outcome.WON.value
    status_reason: str = ""
    close_reason_id: str = ""
    close_date: str = ""
    actual_revenue: str = ""
    competitor_id: str = ""
    description: str = ""
    close_drafts: str = ""
    """lost or canceled: also close the draft quotes when nothing is active; empty leaves them draft."""
    version: str = ""
    """The opportunity version of the preview the person saw."""
    confirm: str = ""
    """The button pressed: close, close_quotes:<reason> or win:<quote id>:<quote version>."""
    switching: str = ""
    """What a re-render of the fields was asked for: `outcome` (start from its defaults) or `status` (keep what
    was entered, for the fields the close policy requires with that status reason)."""
    accept_expired: str = ""
    """Set when the person confirmed winning a quote past its valid-until date."""

    def chosen_outcome(self) -> Outcome:
        return Outcome.LOST if self.outcome == Outcome.LOST.value else Outcome.WON

    def details(self, close_quotes: QuoteStatus | None, locale: Locale) -> CloseDetails:
        read = FieldReader(locale)
        status = read.choice("status_reason", self.status_reason, OpportunityStatus)
        close_date = read.day("close_date", self.close_date, required=True)
        actual_revenue = read.decimal("actual_revenue", self.actual_revenue)
        close_reason_id = read.reference("close_reason_id", self.close_reason_id)
        competitor_id = read.reference("competitor_id", self.competitor_id)
        read.check()
        assert close_date is not None
        return CloseDetails(
            outcome=self.chosen_outcome(),
            close_date=close_date,
            status_reason=status,
            actual_revenue=actual_revenue,
            close_reason_id=close_reason_id,
            competitor_id=competitor_id,
            description=optional_text(self.description),
            close_quotes=close_quotes,
        )

    def win_details(self) -> quotes.WinDetails:
        """Win and close in one step, guarded by the deal's previewed version (checked under its lock)."""
        read = FieldReader()
        close_date = read.day("close_date", self.close_date, required=True)
        competitor_id = read.reference("competitor_id", self.competitor_id)
        close_reason_id = read.reference("close_reason_id", self.close_reason_id)
        read.check()
        return quotes.WinDetails(
            close_date=close_date,
            description=optional_text(self.description),
            competitor_id=competitor_id,
            close_reason_id=close_reason_id,
            close_opportunity=True,
            opportunity_version=version_shown(self.version),
            accept_expired=bool(self.accept_expired),
        )


@dataclass(frozen=True)
class CloseDialog:
    """Everything the dialog shows, from one fresh preview."""

    opportunity: Opportunity
    preview: ClosePreview
    outcome: Outcome
    form: CloseForm
    close_reasons: list[choices.Choice]
    competitors: list[choices.Choice]
    today: date
    policy: ClosePolicy

    @property
    def required(self) -> frozenset[str]:
        """The fields the close policy requires of this close, as far as the form says yet (the competitor only
        once the status reason is out-sold)."""
        if self.mode is CloseMode.WIN_QUOTE:
            status: OpportunityStatus | None = OpportunityStatus.WON
        else:
            chosen = {s.value: s for s in self.statuses}
            status = chosen.get(self.form.status_reason) or (self.statuses[0] if len(self.statuses) == 1 else None)
        return frozenset(self.policy.required_fields(self.outcome, status))

    @property
    def status_changes_requirements(self) -> bool:
        """Whether choosing another status reason changes what is required (then the fields are drawn again)."""
        return self.policy.require_competitor_when_out_sold and self.outcome is Outcome.LOST

    @property
    def mode(self) -> CloseMode:
        if not self.opportunity.is_open:
            return CloseMode.NOT_OPEN
        if self.outcome is Outcome.LOST and self.preview.won_quote is not None:
            return CloseMode.ONLY_WON
        if self.preview.blocking_quotes:
            return CloseMode.WIN_QUOTE if self.outcome is Outcome.WON else CloseMode.CLOSE_QUOTES
        return CloseMode.PLAIN

    @property
    def statuses(self) -> list[OpportunityStatus]:
        return [s for s in STATUS_ORDER if s in CLOSE_STATUSES[self.outcome]]

    @property
    def default_revenue(self) -> Decimal:
        """SPEC §4: won takes the won quote's total, else the estimate; lost takes 0.00."""
        if self.outcome is Outcome.LOST:
            return ZERO
        won = self.preview.won_quote
        return won.total_amount if won is not None else self.opportunity.estimated_revenue

    @property
    def quotes_to_close(self) -> int:
        return len(self.preview.blocking_quotes) + len(self.preview.draft_quotes)


def _dialog(uow: UnitOfWork, opportunity_id: UUID, form: CloseForm) -> CloseDialog:
    opportunity = opportunities.get_opportunity(uow, opportunity_id)
    preview = closing.preview_close(uow, opportunity_id)
    outcome = form.chosen_outcome()
    today = uow.clock.today()
    form = form.model_copy(
        update={
            "version": str(preview.version),
            "close_date": form.close_date or today.isoformat(),
        }
    )
    return CloseDialog(
        opportunity=opportunity,
        preview=preview,
        outcome=outcome,
        form=form,
        close_reasons=choices.close_reasons(uow, outcome),
        competitors=choices.competitors(uow),
        today=today,
        policy=close_policy.get_close_policy(uow),
    )


def _with_defaults(dialog: CloseDialog) -> CloseDialog:
    """A fresh outcome starts from its own defaults: its status reason and its actual revenue."""
    statuses = dialog.statuses
    form = dialog.form.model_copy(
        update={
            "status_reason": statuses[0].value if len(statuses) == 1 else "",
            "close_reason_id": "",
            "actual_revenue": f"{dialog.default_revenue:.2f}",
        }
    )
    return replace(dialog, form=form)


def _render(view: PageView, template: str, dialog: CloseDialog, problem: FormProblem | None = None) -> HTMLResponse:
    context: dict[str, Any] = {"dialog": dialog, "form": dialog.form, "problem": problem}
    return view.render(template, context, status=problem.status if problem is not None else 200)


@router.get("/opportunities/{opportunity_id}/close", response_class=HTMLResponse)
def close_dialog(opportunity_id: UUID, form: Annotated[CloseForm, Query()], view: View, uow: UowDep) -> HTMLResponse:
    """Opening the dialog, and switching its outcome: the outcome's own defaults and a fresh preview. Switching
    the status reason keeps what was entered and marks what the close policy requires with it."""
    dialog = _dialog(uow, opportunity_id, form)
    return _render(view, "dialogs/close.html", dialog if form.switching == "status" else _with_defaults(dialog))


@router.post("/opportunities/{opportunity_id}/close", response_class=HTMLResponse)
def confirm_close(
    opportunity_id: UUID, form: Annotated[CloseForm, Form()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    """Nothing half-happens: every path is one transaction, and a refusal shows the dialog again, re-previewed."""
    try:
        with versions_read(form.version, form.confirm.partition(":")[2].partition(":")[2]):
            toasts = _confirm(view, uow, opportunity_id, form, actor)
    except DomainError as error:
        return _render(
            view,
            "dialogs/close.html",
            _dialog(uow, opportunity_id, form),
            form_problem(view.language, error, form.model_dump()),
        )
    return render_screen(view, uow, opportunity_id, actor, toasts=toasts, after_dialog=True)


def _quote_reason(text: str) -> QuoteStatus | None:
    """lost or canceled, as a button or the drafts choice names it; anything else closes no quote."""
    return QuoteStatus(text) if text in (QuoteStatus.LOST, QuoteStatus.CANCELED) else None


def _confirm(view: PageView, uow: UnitOfWork, opportunity_id: UUID, form: CloseForm, actor: Actor) -> list[Toast]:
    path, _, argument = form.confirm.partition(":")
    if path == "win":
        return _win_and_close(view, uow, opportunity_id, form, argument, actor)
    close_quotes = _quote_reason(argument if path == "close_quotes" else form.close_drafts)
    pre = Preconditions(expected_version=version_shown(form.version))
    result = closing.close_opportunity(
        uow, opportunity_id, form.details(close_quotes, view.language.locale), actor=actor, pre=pre
    )
    won = result.close.outcome is Outcome.WON
    toasts = [Toast(view.gettext("Opportunity closed as won.") if won else view.gettext("Opportunity closed as lost."))]
    if result.closed_quotes:
        count = len(result.closed_quotes)
        message = view.language.ngettext("%(count)s quote closed.", "%(count)s quotes closed.", count)
        toasts.append(Toast(message % {"count": count}))
    return toasts


def _win_and_close(
    view: PageView, uow: UnitOfWork, opportunity_id: UUID, form: CloseForm, argument: str, actor: Actor
) -> list[Toast]:
    """Guarded twice, inside the win's own transaction: the won quote's version and the deal's previewed one,
    so a sibling quote changed since the preview is noticed too."""
    quote_text, _, quote_version = argument.partition(":")
    read = FieldReader()
    quote_id = read.reference("win_quote", quote_text, required=True)
    read.check()
    assert quote_id is not None
    details = form.win_details()
    result = quotes.win_quote(
        uow, quote_id, details, actor=actor, pre=Preconditions(expected_version=version_shown(quote_version))
    )
    message = view.gettext(
        "Quote %(number)s won: project contract created and the opportunity closed as won.",
        number=result.quote.number,
    )
    return [Toast(message)]
