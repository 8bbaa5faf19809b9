"""The opportunity aggregate in memory: its quotes, close records and contracts, loaded and saved as
db/opportunity_store.py does (copies in, copies out, quote lines only when asked for)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from uuid import UUID

from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.errors import NotFound
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.records import Contract
from dealdesk.domain.states import OpportunityState
from dealdesk.services.ports import IdempotencyRequest, KeptAnswer, LockedForClose, OpportunityFilter, Page
from tests.fake_uow.data import Guard, InStore, found
from tests.fake_uow.idempotency import FakeIdempotency
from tests.fake_uow.records import FakeAudit, FakeClosePolicy


def _by_number(quote: Quote) -> tuple[str, int]:
    return quote.number, quote.revision


class FakeOpportunities(InStore):
    def __init__(
        self,
        store: Guard,
        now: Callable[[], datetime],
        *,
        audit: FakeAudit,
        idempotency: FakeIdempotency,
        close_policy: FakeClosePolicy,
    ) -> None:
        super().__init__(store, now)
        self._audit = audit
        self._idempotency = idempotency
        self._close_policy = close_policy
        self._loaded: dict[UUID, list[OpportunityClose]] = {}
        """Aggregates loaded (or added) in this transaction, with the close records loaded with them: `save` writes
        those back, so a reopen's stamp on the record it ended is kept."""

    def forget(self) -> None:
        self._loaded.clear()

    def lock(self, opportunity_id: UUID, *, lines_of: Sequence[UUID] | None = None) -> Opportunity:
        return self._load(opportunity_id, lines_of=lines_of or ())

    def lock_for_close(self, opportunity_id: UUID, *, idempotency: IdempotencyRequest | None) -> LockedForClose:
        opportunity = self.lock(opportunity_id)
        kept = self._idempotency.find(idempotency) if idempotency is not None else None
        return LockedForClose(opportunity, self._close_policy.get(), kept)

    def get(self, opportunity_id: UUID) -> Opportunity:
        return self._load(opportunity_id, lines_of=())

    def lock_many(self, opportunity_ids: Sequence[UUID]) -> dict[UUID, Opportunity]:
        data = self._store().data
        return {i: self._load(i, lines_of=()) for i in sorted(opportunity_ids) if i in data.opportunities}

    def exists(self, opportunity_id: UUID) -> bool:
        return opportunity_id in self._store().data.opportunities

    def _load(self, opportunity_id: UUID, *, lines_of: Sequence[UUID]) -> Opportunity:
        data = self._store().data
        stored = data.opportunities.get(opportunity_id)
        if stored is None:
            raise NotFound("opportunity", opportunity_id)
        opportunity = copy.deepcopy(stored)
        opportunity.quotes.sort(key=_by_number)
        for quote in opportunity.quotes:
            if quote.id not in lines_of:
                quote.lines = None  # not loaded: a use case that needs them must ask, as it must of the database
        if opportunity.state is not OpportunityState.OPEN:
            standing = [c for c in data.closes.values() if c.opportunity_id == opportunity_id and c.is_standing]
            opportunity.standing_close = copy.deepcopy(standing[0]) if standing else None
        self._loaded[opportunity_id] = [opportunity.standing_close] if opportunity.standing_close else []
        return opportunity

    def add(self, opportunity: Opportunity) -> None:
        self._store().data.opportunities[opportunity.id] = self._row(opportunity, previous=None)
        self._loaded[opportunity.id] = []

    def save(self, opportunity: Opportunity, *, by: UUID, answer: KeptAnswer | None = None) -> None:
        """Write the aggregate back whole: the deal, its quotes (lines kept where they were not loaded), the close
        records loaded with it and its standing close; audit its changes; keep `answer`."""
        if opportunity.id not in self._loaded:
            raise KeyError(f"opportunity {opportunity.id} was not loaded in this transaction")
        data = self._store().data
        data.opportunities[opportunity.id] = self._row(opportunity, previous=data.opportunities.get(opportunity.id))
        self._audit.record(opportunity.changes, by=by, at=opportunity.updated_at, opportunity_id=opportunity.id)
        opportunity.changes.clear()
        if answer is not None:
            self._idempotency.remember(answer.request, answer.answer, at=answer.at)
        standing = opportunity.standing_close
        for record in [*self._loaded[opportunity.id], *([standing] if standing else [])]:
            data.closes[record.id] = copy.deepcopy(record)
        self._loaded[opportunity.id] = [standing] if standing else []

    def save_many(self, opportunities: Sequence[Opportunity], *, by: UUID) -> None:
        for opportunity in opportunities:
            self.save(opportunity, by=by)

    @staticmethod
    def _row(opportunity: Opportunity, *, previous: Opportunity | None) -> Opportunity:
        """What is stored of the aggregate: itself and its quotes with all their lines, nothing transient."""
        lines_before = {q.id: q.lines for q in previous.quotes} if previous is not None else {}
        quotes = []
        for quote in opportunity.quotes:
            stored = copy.deepcopy(quote)
            if stored.lines is None:
                stored.lines = lines_before[quote.id]
            quotes.append(stored)
        return dataclasses.replace(copy.deepcopy(opportunity), quotes=quotes, standing_close=None, changes=[])

    def list(self, where: OpportunityFilter, *, limit: int, cursor: str | None) -> Page[Opportunity]:
        """Newest first; listed deals come without their quotes, as the database lists them."""
        store = self._store()
        matching = [
            dataclasses.replace(o, quotes=[])
            for o in store.data.opportunities.values()
            if (where.state is None or o.state is where.state)
            and (where.account_id is None or o.account_id == where.account_id)
            and (where.owner_id is None or o.owner_id == where.owner_id)
            and (not where.q or where.q.lower() in o.name.lower())
        ]
        return store.page(matching, key=lambda o: (o.created_at, o.id), descending=True, limit=limit, cursor=cursor)


class FakeQuotes(InStore):
    def _all(self) -> list[Quote]:
        return [q for o in self._store().data.opportunities.values() for q in o.quotes]

    def get(self, quote_id: UUID) -> Quote:
        for quote in self._all():
            if quote.id == quote_id:
                return copy.deepcopy(quote)
        raise NotFound("quote", quote_id)

    def opportunity_id_of(self, quote_id: UUID) -> UUID:
        return self.get(quote_id).opportunity_id

    def list_for(
        self, opportunity_id: UUID, *, limit: int, cursor: str | None, expiry: tuple[bool, date] | None = None
    ) -> Page[Quote]:
        quotes = [
            q
            for q in self._all()
            if q.opportunity_id == opportunity_id and (expiry is None or q.is_expired(expiry[1]) is expiry[0])
        ]
        return self._store().page(quotes, key=_by_number, descending=False, limit=limit, cursor=cursor)

    def next_number(self) -> str:
        data = self._store().data
        data.last_quote_number += 1
        return f"Q-{data.last_quote_number:05d}"


class FakeCloses(InStore):
    def get(self, close_id: UUID) -> OpportunityClose:
        return found(self._store().data.closes, close_id, "close record")

    def list_for(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[OpportunityClose]:
        store = self._store()
        records = [c for c in store.data.closes.values() if c.opportunity_id == opportunity_id]
        return store.page(records, key=lambda c: (c.closed_at, c.id), descending=True, limit=limit, cursor=cursor)

    def save(self, record: OpportunityClose) -> None:
        self._store().data.closes[record.id] = copy.deepcopy(record)


class FakeContracts(InStore):
    def get(self, contract_id: UUID) -> Contract:
        return found(self._store().data.contracts, contract_id, "contract")

    def add(self, contract: Contract) -> None:
        self._store().data.contracts[contract.id] = copy.deepcopy(contract)
