"""The opportunity page's main region (#opportunity), rendered fresh after every change so nothing on it is stale."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from fastapi.responses import HTMLResponse

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Forbidden
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.transitions import QUOTE_ACTIONS_NEEDING_OPEN_OPPORTUNITY, QUOTE_TRANSITIONS, Action
from dealdesk.services import views
from dealdesk.services.ports import UnitOfWork
from dealdesk.web.ui.audit import audit_panel
from dealdesk.web.ui.rendering import PageView, Toast

SCREEN_ID = "#opportunity"
_QUOTE_ACTIONS = (
    Action.EDIT_QUOTE,
    Action.ACTIVATE,
    Action.REVISE,
    Action.WIN,
    Action.COPY,
    Action.CLOSE_QUOTE,
    Action.DELETE_QUOTE,
)
_NEED_NO_WON_QUOTE = frozenset({Action.ACTIVATE, Action.WIN})
AFTER_DIALOG = {"HX-Retarget": SCREEN_ID, "HX-Reswap": "outerHTML", "HX-Trigger-After-Settle": "dialog-done"}
"""A dialog that succeeded answers with the refreshed page region instead of itself, and closes once that is in
place (so focus can return to the page's heading)."""


def quote_actions(opportunity: Opportunity, quote: Quote) -> list[Action]:
    """The actions a quote row offers, read from the transition table the domain enforces (it still decides)."""
    return [
        action
        for action in _QUOTE_ACTIONS
        if (action, quote.state) in QUOTE_TRANSITIONS
        and (opportunity.is_open or action not in QUOTE_ACTIONS_NEEDING_OPEN_OPPORTUNITY)
        and (opportunity.won_quote_id is None or action not in _NEED_NO_WON_QUOTE)
    ]


def may_manage(actor: Actor) -> bool:
    """Managers and admins may correct close records and bulk-close; the domain's access rule decides."""
    try:
        actor.require_manager("manage")
    except Forbidden:
        return False
    return True


def may_act_on(actor: Actor, opportunity: Opportunity) -> bool:
    """Whether to offer changes at all: viewers only read, sales change only their own deals."""
    try:
        actor.require_may_act_on(opportunity.owner_id)
    except Forbidden:
        return False
    return True


def render_screen(
    view: PageView,
    uow: UnitOfWork,
    opportunity_id: UUID,
    actor: Actor,
    *,
    toasts: Sequence[Toast] = (),
    after_dialog: bool = False,
) -> HTMLResponse:
    """The whole page for a plain request; the #opportunity region for htmx (retargeted when a dialog asked)."""
    screen = views.opportunity_screen(uow, opportunity_id)
    acts = may_act_on(actor, screen.opportunity)
    context = {
        "screen": screen,
        "opportunity": screen.opportunity,
        "quote_actions": {q.id: quote_actions(screen.opportunity, q) if acts else [] for q in screen.quotes},
        "audit": audit_panel(view.language, uow, opportunity_id, currency=screen.opportunity.currency, cursor=None),
        "may_manage": may_manage(actor),
        "may_act": acts,
        "today": uow.clock.today(),
    }
    template = "opportunity/_screen.html" if view.htmx else "opportunity/page.html"
    return view.render(template, context, toasts=toasts, headers=AFTER_DIALOG if after_dialog else None)
