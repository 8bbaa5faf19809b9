"""The opportunity list at `/` (filter, search, sort, paginate) and bulk close from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import DomainError
from dealdesk.domain.states import CLOSE_STATUSES, OpportunityState, OpportunityStatus, Outcome, QuoteStatus, Role
from dealdesk.services import auth, close_policy, closing, views
from dealdesk.services.ports import OpportunityFilter, UnitOfWork
from dealdesk.services.views import OpportunityListQuery, OpportunitySort
from dealdesk.web.deps import UowDep
from dealdesk.web.ui import choices, messages
from dealdesk.web.ui.close_dialog import STATUS_ORDER
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.forms import FieldReader, optional_text
from dealdesk.web.ui.messages import FormProblem, form_problem
from dealdesk.web.ui.rendering import PageView
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import may_manage

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LIST_CHANGED = {"HX-Trigger": "opportunities-changed"}


MINE, EVERYONE = "mine", "all"
SORT_TOGGLES: dict[str, tuple[OpportunitySort, OpportunitySort | None]] = {
    # column -> (first click, second click): a column header sorts by it, and once more the other way round
    "name": (OpportunitySort.NAME, None),
    "account": (OpportunitySort.ACCOUNT, None),
    "revenue": (OpportunitySort.REVENUE_HIGH, OpportunitySort.REVENUE_LOW),
    "close_date": (OpportunitySort.CLOSE_DATE, None),
}


class ListFilters(BaseModel):
    """The list's query string, read leniently: a value that makes no sense is simply not applied. Every filter
    lives in the address, so a list can be bookmarked and shared; `owner` is `mine`, `all` or a user's id, and
    without it sales see their own deals and everyone else sees everyone's."""

    q: str = ""
    state: str = ""
    account: str = ""
    owner: str = ""
    sort: str = OpportunitySort.NEWEST.value
    page: str = "1"

    def owner_choice(self, actor: Actor) -> str:
        return self.owner or self.default_owner(actor)

    @staticmethod
    def default_owner(actor: Actor) -> str:
        return MINE if actor.role is Role.SALES else EVERYONE

    def tidy(self, actor: Actor) -> ListFilters:
        """The same filters, without what goes without saying (the owner choice that is the default)."""
        return self.model_copy(update={"owner": "" if self.owner == self.default_owner(actor) else self.owner})

    def query(self, actor: Actor) -> OpportunityListQuery:
        read = FieldReader()
        owner = self.owner_choice(actor)
        owner_id = actor.id if owner == MINE else None if owner == EVERYONE else read.reference("owner", owner)
        where = OpportunityFilter(
            state=read.choice("state", self.state, OpportunityState),
            account_id=read.reference("account", self.account),
            owner_id=owner_id,
            q=self.q.strip() or None,
        )
        sort = read.choice("sort", self.sort, OpportunitySort) or OpportunitySort.NEWEST
        # ASCII digits, and few of them: a page beyond any real list is simply the first one.
        page = int(self.page) if self.page.isascii() and self.page.isdigit() and len(self.page) <= 6 else 1
        page = max(page, 1)
        return OpportunityListQuery(where=where, sort=sort, page=page)

    def sorted_by(self, column: str) -> str:
        """The address of this list sorted by a column (the other way round if it is sorted by it already)."""
        first, second = SORT_TOGGLES[column]
        sort = second if second is not None and self.sort == first.value else first
        return self.model_copy(update={"sort": sort.value}).url()

    def sort_of(self, column: str) -> str:
        """aria-sort of a column header: ascending, descending or none."""
        first, second = SORT_TOGGLES[column]
        descending = {OpportunitySort.REVENUE_HIGH}
        for sort in (first, second):
            if sort is not None and self.sort == sort.value:
                return "descending" if sort in descending else "ascending"
        return "none"

    def url(self, page: int = 1) -> str:
        """This list with the same filters, on another page."""
        sort = "" if self.sort == OpportunitySort.NEWEST else self.sort
        values = {"q": self.q, "state": self.state, "account": self.account, "owner": self.owner, "sort": sort}
        shown = {name: value for name, value in values.items() if value}
        if page > 1:
            shown["page"] = str(page)
        return "/?" + urlencode(shown) if shown else "/"


@router.get("/", response_class=HTMLResponse)
def opportunity_list(
    filters: Annotated[ListFilters, Query()], view: View, uow: UowDep, actor: PageActor
) -> HTMLResponse:
    filters = filters.tidy(actor)
    listing = views.list_opportunity_rows(uow, filters.query(actor))
    context = {
        "filters": filters,
        "owner_choice": filters.owner_choice(actor),
        "owners": [(u.id, u.name) for u in auth.list_users(uow) if u.role is not Role.VIEWER],
        "today": uow.clock.today(),
        "listing": listing,
        "accounts": views.account_names(uow),
        "states": list(OpportunityState),
        "sorts": list(OpportunitySort),
        "may_manage": may_manage(actor),
        "may_create": actor.role is not Role.VIEWER,
    }
    if view.htmx and view.request.headers.get("HX-Target") == "results":
        # Filters and pages put the tidy form of the address in the history, to bookmark or share; the list's
        # own refresh after a bulk close (triggered by #results itself) stays where it is.
        refresh = view.request.headers.get("HX-Trigger") == "results"
        history = {} if refresh else {"HX-Push-Url": filters.url(listing.page)}
        return view.render("opportunities/_results.html", context, headers=history)
    return view.render("opportunities/list.html", context)


# ---------------------------------------------------------------------------------------------- bulk close
class BulkForm(BaseModel):
    ids: list[str] = []
    outcome: str = Outcome.LOST.value
    status_reason: str = ""
    close_date: str = ""
    close_reason_id: str = ""
    competitor_id: str = ""
    description: str = ""
    close_quotes: str = ""

    def chosen_outcome(self) -> Outcome:
        return Outcome.WON if self.outcome == Outcome.WON.value else Outcome.LOST

    def opportunity_ids(self) -> list[UUID]:
        read = FieldReader()
        ids = [read.reference("ids", text, required=True) for text in self.ids]
        read.check()
        return [i for i in ids if i is not None]

    def details(self) -> CloseDetails:
        read = FieldReader()
        close_date = read.day("close_date", self.close_date, required=True)
        status_reason = read.choice("status_reason", self.status_reason, OpportunityStatus)
        close_reason_id = read.reference("close_reason_id", self.close_reason_id)
        competitor_id = read.reference("competitor_id", self.competitor_id)
        close_quotes = read.choice("close_quotes", self.close_quotes, QuoteStatus)
        read.check()
        assert close_date is not None
        return CloseDetails(
            outcome=self.chosen_outcome(),
            close_date=close_date,
            status_reason=status_reason,
            close_reason_id=close_reason_id,
            competitor_id=competitor_id,
            description=optional_text(self.description),
            close_quotes=close_quotes,
        )


@dataclass(frozen=True)
class BulkResultRow:
    id: UUID
    name: str
    ok: bool
    message: str | None


def _bulk_dialog(view: PageView, uow: UnitOfWork, form: BulkForm, problem: FormProblem | None = None) -> HTMLResponse:
    ids = [UUID(i) for i in form.ids if _is_uuid(i)]
    outcome = form.chosen_outcome()
    statuses = [s for s in STATUS_ORDER if s in CLOSE_STATUSES[outcome]]
    today = uow.clock.today()
    if not form.close_date:
        form = form.model_copy(update={"close_date": today.isoformat()})
    context = {
        "form": form,
        "ids": ids,
        "names": views.opportunity_names(uow, ids),
        "outcome": outcome,
        "statuses": statuses,
        "close_reasons": choices.close_reasons(uow, outcome),
        "competitors": choices.competitors(uow),
        "required": close_policy.get_close_policy(uow).required_fields(
            outcome, statuses[0] if len(statuses) == 1 else _chosen_status(form.status_reason)
        ),
        "today": today,
        "problem": problem,
    }
    return view.render("dialogs/bulk_close.html", context, status=problem.status if problem else 200)


def _chosen_status(text: str) -> OpportunityStatus | None:
    return OpportunityStatus(text) if text in {s.value for s in OpportunityStatus} else None


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


@router.get("/bulk-close", response_class=HTMLResponse)
def bulk_close_dialog(form: Annotated[BulkForm, Query()], view: View, uow: UowDep) -> HTMLResponse:
    return _bulk_dialog(view, uow, form)


@router.post("/bulk-close", response_class=HTMLResponse)
def bulk_close(form: Annotated[BulkForm, Form()], view: View, uow: UowDep, actor: PageActor) -> HTMLResponse:
    """Each opportunity closes or is refused on its own; the answer says which and why, in the order chosen."""
    try:
        ids = form.opportunity_ids()
        details = form.details()
        result = closing.bulk_close(uow, ids, details, actor=actor)
    except DomainError as error:
        return _bulk_dialog(view, uow, form, form_problem(view.language, error))
    names = views.opportunity_names(uow, ids)
    rows = [
        BulkResultRow(
            id=row.id,
            name=names.get(row.id, str(row.id)),
            ok=row.ok,
            message=messages.row_refusal(view.language, row.error, form.model_dump()) if row.error else None,
        )
        for row in result.results
    ]
    context = {"rows": rows, "closed": result.closed, "failed": result.failed}
    return view.render("dialogs/bulk_result.html", context, headers=LIST_CHANGED)
