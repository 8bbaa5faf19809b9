"""Racing requests on the same opportunities serialise (SPEC §6): I1 to I4 hold at every moment, and a racing request
either succeeds or is refused with a domain error — never "database is locked", a deadlock or any other crash.

The same races run on both engines: PostgreSQL serialises on the opportunity row lock, SQLite on its write lock."""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, func, select

from dealdesk.config import Settings
from dealdesk.db import tables as t
from dealdesk.db.engine import WRITE_OPTION
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import DomainError
from dealdesk.domain.quote import QuoteLine
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.services import closing, opportunities, quotes
from tests.integration.builders import Desk, line
from tests.integration.db_facts import invariant_violations

WORKERS = 8
DEALS = 5
MAX_DEALS = 40
RACE_SECONDS = 3.0
Action = Callable[[SqlUnitOfWork, random.Random, UUID], object]


class NothingToDo(Exception):
    """The chosen deal has no quote in the state this action needs just now: not a request, not counted."""


class Race:
    """Worker threads, each with its own unit of work, doing random deal actions until the deadline."""

    def __init__(self, engine: Engine, settings: Settings, actor: Actor, deals: list[UUID]) -> None:
        self.engine = engine
        self.settings = settings
        self.actor = actor
        self.deals = deals
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.crashes: list[str] = []
        self.violations_seen: list[dict[str, list[Any]]] = []
        self.checks = 0
        self._lock = threading.Lock()
        self._deadline = 0.0

    # ------------------------------------------------------------------ running
    def run(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(WORKERS)]
        threads.append(threading.Thread(target=self._watch, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 30)
        hung = [thread.name for thread in threads if thread.is_alive()]
        if hung:
            self.crashes.append(f"threads still running long after the deadline (deadlock?): {hung}")

    def _work(self, seed: int) -> None:
        rng = random.Random(seed)
        uow = SqlUnitOfWork(self.engine, SystemClock(self.settings.zone))
        actions = self._actions()
        weights = [weight for _, _, weight in actions]
        while time.monotonic() < self._deadline:
            ((name, action, _),) = rng.choices(actions, weights)
            with self._lock:
                deal = rng.choice(self.deals)
            try:
                action(uow, rng, deal)
            except NothingToDo:
                self._count(name, "nothing to do")
            except DomainError as refused:
                self._count(name, refused.code)
            except Exception:
                with self._lock:
                    self.crashes.append(f"{name}: {traceback.format_exc()}")
            else:
                self._count(name, "ok")

    def _watch(self) -> None:
        """Reads the invariants in one snapshot, over and over, while the workers race."""
        while time.monotonic() < self._deadline:
            try:
                with self.engine.connect() as conn:
                    if conn.dialect.name == "postgresql":
                        conn = conn.execution_options(isolation_level="REPEATABLE READ")
                    else:
                        conn = conn.execution_options(**{WRITE_OPTION: False})
                    with conn.begin():
                        found = invariant_violations(conn)
            except Exception:
                with self._lock:
                    self.crashes.append(f"invariant check: {traceback.format_exc()}")
                return
            self.checks += 1
            if found:
                self.violations_seen.append(found)
            time.sleep(0.02)

    def _count(self, name: str, result: str) -> None:
        with self._lock:
            self.outcomes[(name, result)] += 1

    def successes(self, name: str) -> int:
        return self.outcomes[(name, "ok")]

    # ------------------------------------------------------------------ the actions
    def _actions(self) -> list[tuple[str, Action, int]]:
        """(name, action, weight): enough closes and reopens to race them, enough new quotes to keep going."""
        return [
            ("new deal", self._new_deal, 1),
            ("add quote", self._add_quote, 4),
            ("edit quote", self._edit_quote, 1),
            ("activate", self._activate, 5),
            ("win", self._win, 4),
            ("close", self._close, 2),
            ("close with quotes", self._close_with_quotes, 2),
            ("close all quotes", self._close_all_quotes, 1),
            ("close one quote", self._close_one_quote, 1),
            ("revise", self._revise, 1),
            ("reopen", self._reopen, 4),
            ("correct close", self._correct_close, 1),
            ("bulk close", self._bulk_close, 1),
        ]

    @staticmethod
    def _lines(rng: random.Random) -> list[QuoteLine]:
        return [
            line(f"Item {n}", f"{rng.randint(1, 400) / 4:.2f}", f"{rng.randint(-500, 5000) / 3:.2f}")
            for n in range(rng.randint(1, 3))
        ]

    def _quote_of(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID, *states: QuoteState) -> UUID:
        found = [q.id for q in quotes.list_quotes(uow, deal, limit=200, cursor=None).items if q.state in states]
        if not found:
            raise NothingToDo
        return rng.choice(found)

    def _details(self, uow: SqlUnitOfWork, rng: random.Random, close_quotes: QuoteStatus | None) -> CloseDetails:
        outcome = rng.choice([Outcome.WON, Outcome.LOST])
        return CloseDetails(
            outcome=outcome,
            close_date=uow.clock.today(),
            status_reason=None
            if outcome is Outcome.WON
            else rng.choice([OpportunityStatus.CANCELED, OpportunityStatus.OUT_SOLD]),
            close_quotes=close_quotes,
        )

    def _new_deal(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        account_id = opportunities.get_opportunity(uow, deal).account_id
        new = opportunities.NewOpportunity(name="Raced later", account_id=account_id, estimated_revenue=Decimal(1))
        created = opportunities.create_opportunity(uow, new, actor=self.actor)
        quote = quotes.create_quote(
            uow, created.id, quotes.NewQuote(name="First", lines=self._lines(rng)), actor=self.actor
        )
        quotes.activate_quote(uow, quote.id, actor=self.actor)
        with self._lock:
            if len(self.deals) < MAX_DEALS:
                self.deals.append(created.id)
        return created

    def _add_quote(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        return quotes.create_quote(uow, deal, quotes.NewQuote(name="Raced", lines=self._lines(rng)), actor=self.actor)

    def _edit_quote(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        quote_id = self._quote_of(uow, rng, deal, QuoteState.DRAFT)
        return quotes.edit_quote(uow, quote_id, quotes.QuoteChanges(lines=self._lines(rng)), actor=self.actor)

    def _activate(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        quote_id = self._quote_of(uow, rng, deal, QuoteState.DRAFT)
        return quotes.activate_quote(uow, quote_id, actor=self.actor)

    def _win(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        quote_id = self._quote_of(uow, rng, deal, QuoteState.ACTIVE)
        details = quotes.WinDetails(close_opportunity=rng.random() < 0.5)
        return quotes.win_quote(uow, quote_id, details, actor=self.actor)

    def _close(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        return closing.close_opportunity(uow, deal, self._details(uow, rng, None), actor=self.actor)

    def _close_with_quotes(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        reason = rng.choice([QuoteStatus.LOST, QuoteStatus.CANCELED])
        return closing.close_opportunity(uow, deal, self._details(uow, rng, reason), actor=self.actor)

    def _close_all_quotes(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        return closing.close_all_quotes(uow, deal, reason=QuoteStatus.CANCELED, description=None, actor=self.actor)

    def _close_one_quote(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        quote_id = self._quote_of(uow, rng, deal, QuoteState.ACTIVE, QuoteState.DRAFT)
        return quotes.close_quote(
            uow, quote_id, reason=QuoteStatus.LOST, close_date=None, description=None, actor=self.actor
        )

    def _revise(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        return quotes.revise_quote(uow, self._quote_of(uow, rng, deal, QuoteState.ACTIVE), actor=self.actor)

    def _reopen(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        return closing.reopen_opportunity(uow, deal, status_reason=None, reason="raced", actor=self.actor)

    def _correct_close(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        records = closing.list_closes(uow, deal, limit=200, cursor=None).items
        if not records:
            raise NothingToDo
        record = rng.choice(records)
        return closing.correct_close(uow, record.id, {"description": f"corrected {rng.random()}"}, actor=self.actor)

    def _bulk_close(self, uow: SqlUnitOfWork, rng: random.Random, deal: UUID) -> object:
        with self._lock:
            ids = rng.sample(self.deals, 2)
        return closing.bulk_close(
            uow, ids, self._details(uow, rng, rng.choice([None, QuoteStatus.LOST])), actor=self.actor
        )


def _deals_with_quotes(desk: Desk) -> list[UUID]:
    deals = []
    for n in range(DEALS):
        deal = desk.opportunity(f"Raced deal {n}", estimated_revenue="1000.00")
        desk.active(deal.id, name="Active at start")
        desk.draft(deal.id, name="Draft at start")
        deals.append(deal.id)
    return deals


def test_racing_quote_and_close_actions_keep_every_invariant_and_only_ever_fail_with_a_refusal(
    desk: Desk, engine: Engine, settings: Settings, engine_name: str
) -> None:
    race = Race(engine, settings, desk.actor, _deals_with_quotes(desk))

    race.run(RACE_SECONDS)

    assert race.crashes == [], f"{len(race.crashes)} crash(es) on {engine_name}; first:\n{race.crashes[0]}"
    with engine.connect() as conn:
        assert invariant_violations(conn) == {}
    assert race.violations_seen == []
    assert race.checks > 0
    for action in ("add quote", "activate", "win", "close", "close with quotes", "reopen", "bulk close"):
        assert race.successes(action) > 0, f"no {action} succeeded: the race did not exercise it ({race.outcomes})"


@pytest.mark.parametrize(
    ("close_opportunity", "loser_code", "deal_state"),
    [(False, "won_quote_exists", "open"), (True, "opportunity_not_open", "won")],
    ids=["deal stays open", "win closes the deal"],
)
def test_two_users_winning_different_quotes_of_one_deal_at_once_win_exactly_one(
    desk: Desk, engine: Engine, settings: Settings, close_opportunity: bool, loser_code: str, deal_state: str
) -> None:
    deals = [desk.opportunity(f"Contested {n}").id for n in range(4)]
    pairs = {deal: (desk.active(deal, name="A").id, desk.active(deal, name="B").id) for deal in deals}
    results: dict[UUID, list[str]] = {deal: [] for deal in deals}
    crashes: list[str] = []

    def win(deal: UUID, quote_id: UUID, barrier: threading.Barrier) -> None:
        uow = SqlUnitOfWork(engine, SystemClock(settings.zone))
        barrier.wait()
        try:
            quotes.win_quote(uow, quote_id, quotes.WinDetails(close_opportunity=close_opportunity), actor=desk.actor)
            results[deal].append("ok")
        except DomainError as refused:
            results[deal].append(refused.code)
        except Exception:
            crashes.append(traceback.format_exc())

    for deal, pair in pairs.items():
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=win, args=(deal, quote_id, barrier)) for quote_id in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert crashes == []
    for deal in deals:
        assert sorted(results[deal]) == sorted(["ok", loser_code])
        assert sorted(q.state.value for q in desk.quotes_of(deal)) == ["closed", "won"]
        assert desk.read(deal).state.value == deal_state
    with engine.connect() as conn:
        assert invariant_violations(conn) == {}
        assert conn.execute(select(func.count()).select_from(t.contracts)).scalar_one() == len(deals)
