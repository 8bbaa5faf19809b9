"""Read models for screens (names joined in, sorted lists): reading only, never changing anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.records import Contract
from dealdesk.domain.values import check_storable
from dealdesk.services.ports import OpportunityFilter, Page, UnitOfWork

T = TypeVar("T")
_BATCH = 200


def user_names(uow: UnitOfWork, ids: list[UUID]) -> dict[UUID, str]:
    """Display names of users, for 'owner', 'closed by' and 'reopened by' columns."""
    with uow.transaction(write=False):
        return uow.views.names_of_users(ids)


def opportunity_names(uow: UnitOfWork, ids: Sequence[UUID]) -> dict[UUID, str]:
    with uow.transaction(write=False):
        return uow.views.names_of_opportunities(ids)


def account_names(uow: UnitOfWork) -> dict[UUID, str]:
    """Every account by name, for pickers and filters."""
    with uow.transaction(write=False):
        return uow.views.account_names()


def accounts_matching(uow: UnitOfWork, q: str, *, limit: int) -> dict[UUID, str]:
    """Accounts whose name contains `q`, for type-ahead: names starting with it first."""
    check_storable(q, field="q")
    with uow.transaction(write=False):
        return uow.views.accounts_matching(q, limit=limit)


def competitor_names(uow: UnitOfWork) -> dict[UUID, str]:
    """Every competitor by name, deactivated ones too (old records still name them)."""
    with uow.transaction(write=False):
        return uow.views.competitor_names()


def close_reason_names(uow: UnitOfWork) -> dict[UUID, str]:
    """Every close reason by name, retired ones too (old records still name them)."""
    with uow.transaction(write=False):
        return uow.views.close_reason_names()


# ---------------------------------------------------------------------------------------------- the list
class OpportunitySort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    NAME = "name"
    ACCOUNT = "account"
    REVENUE_HIGH = "revenue_high"
    REVENUE_LOW = "revenue_low"
    CLOSE_DATE = "close_date"


SORT_KEYS: dict[OpportunitySort, tuple[str, bool]] = {
    OpportunitySort.NEWEST: ("created_at", True),
    OpportunitySort.OLDEST: ("created_at", False),
    OpportunitySort.NAME: ("name", False),
    OpportunitySort.ACCOUNT: ("account", False),
    OpportunitySort.REVENUE_HIGH: ("estimated_revenue", True),
    OpportunitySort.REVENUE_LOW: ("estimated_revenue", False),
    OpportunitySort.CLOSE_DATE: ("close_date", False),
}
"""Each choice as (sort key of ViewQueries.opportunities_sorted, descending)."""


@dataclass(frozen=True)
class OpportunityListQuery:
    where: OpportunityFilter
    sort: OpportunitySort = OpportunitySort.NEWEST
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class OpportunityRow:
    opportunity: Opportunity
    account_name: str
    owner_name: str
    active_quotes: int
    expired_quotes: int = 0
    """Draft and active quotes past their `valid_until` today (SPEC §11)."""


@dataclass(frozen=True)
class OpportunityListing:
    rows: Sequence[OpportunityRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown; 0 when nothing matches."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def list_opportunity_rows(uow: UnitOfWork, query: OpportunityListQuery) -> OpportunityListing:
    """A page of the opportunity list, filtered and sorted, with account and owner names."""
    if query.where.q is not None:
        check_storable(query.where.q, field="q")
    sort, descending = SORT_KEYS[query.sort]
    with uow.transaction(write=False):
        found, total = uow.views.opportunities_sorted(
            query.where,
            sort=sort,
            descending=descending,
            offset=(query.page - 1) * query.per_page,
            limit=query.per_page,
        )
        accounts = uow.views.account_names()
        owners = uow.views.names_of_users([o.owner_id for o in found])
        active = uow.views.active_quote_counts([o.id for o in found])
        expired = uow.views.expired_quote_counts([o.id for o in found], uow.clock.today())
    rows = [
        OpportunityRow(
            opportunity=o,
            account_name=accounts.get(o.account_id, ""),
            owner_name=owners.get(o.owner_id, ""),
            active_quotes=active.get(o.id, 0),
            expired_quotes=expired.get(o.id, 0),
        )
        for o in found
    ]
    return OpportunityListing(rows=rows, total=total, page=query.page, per_page=query.per_page)


# ---------------------------------------------------------------------------------------------- one deal
@dataclass(frozen=True)
class CloseHistoryEntry:
    """A close record with the names a person reads instead of ids."""

    record: OpportunityClose
    closed_by: str
    reopened_by: str | None
    competitor: str | None
    close_reason: str | None


@dataclass(frozen=True)
class OpportunityScreen:
    """Everything the opportunity page shows, read in one transaction so it is one consistent moment."""

    opportunity: Opportunity
    account_name: str
    owner_name: str
    quotes: Sequence[Quote]
    """With their lines, by number and revision."""
    closes: Sequence[CloseHistoryEntry]
    """Newest first, including those ended by a reopen."""
    competitor_names: Mapping[UUID, str] = field(default_factory=dict)
    """Of the competitors the closes and the closed quotes name."""
    close_reason_names: Mapping[UUID, str] = field(default_factory=dict)
    """Of the reason details the closes and the closed quotes name."""

    def quote_named(self, quote_id: UUID | None) -> Quote | None:
        """The quote of this deal with that id (a closed quote's `superseded_by_quote_id`)."""
        return next((q for q in self.quotes if q.id == quote_id), None)

    @property
    def open_quotes(self) -> list[Quote]:
        """Draft and active quotes: what 'Close all quotes' would close."""
        return [q for q in self.quotes if q.is_open]


def quotes_of(uow: UnitOfWork, opportunity_id: UUID) -> list[Quote]:
    """Every quote of a deal, by number and revision (for naming them in its activity)."""
    with uow.transaction(write=False):
        return _every(lambda cursor: uow.quotes.list_for(opportunity_id, limit=_BATCH, cursor=cursor))


def _every(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


def opportunity_screen(uow: UnitOfWork, opportunity_id: UUID) -> OpportunityScreen:
    with uow.transaction(write=False):
        opportunity = uow.opportunities.get(opportunity_id)
        quotes = _every(lambda cursor: uow.quotes.list_for(opportunity_id, limit=_BATCH, cursor=cursor))
        closes = _every(lambda cursor: uow.closes.list_for(opportunity_id, limit=_BATCH, cursor=cursor))
        people = uow.views.names_of_users(
            [opportunity.owner_id]
            + [c.closed_by for c in closes]
            + [c.reopened_by for c in closes if c.reopened_by is not None]
        )
        lost_quotes = any(q.competitor_id or q.close_reason_id for q in quotes)
        competitors = uow.views.competitor_names() if closes or lost_quotes else {}
        reasons = uow.views.close_reason_names() if closes or lost_quotes else {}
        account = uow.accounts.get(opportunity.account_id).name
    history = [
        CloseHistoryEntry(
            record=c,
            closed_by=people.get(c.closed_by, ""),
            reopened_by=people.get(c.reopened_by) if c.reopened_by is not None else None,
            competitor=competitors.get(c.competitor_id) if c.competitor_id is not None else None,
            close_reason=reasons.get(c.close_reason_id) if c.close_reason_id is not None else None,
        )
        for c in closes
    ]
    return OpportunityScreen(
        opportunity=opportunity,
        account_name=account,
        owner_name=people.get(opportunity.owner_id, ""),
        quotes=quotes,
        closes=history,
        competitor_names=competitors,
        close_reason_names=reasons,
    )


# ---------------------------------------------------------------------------------------------- a project contract
@dataclass(frozen=True)
class ContractScreen:
    """A project contract with the records it came from: its deal, its won quote and its account."""

    contract: Contract
    opportunity_name: str
    quote: Quote
    account_name: str


def contract_screen(uow: UnitOfWork, contract_id: UUID) -> ContractScreen:
    with uow.transaction(write=False):
        contract = uow.contracts.get(contract_id)
        return ContractScreen(
            contract=contract,
            opportunity_name=uow.views.names_of_opportunities([contract.opportunity_id]).get(
                contract.opportunity_id, ""
            ),
            quote=uow.quotes.get(contract.quote_id),
            account_name=uow.accounts.get(contract.account_id).name,
        )
