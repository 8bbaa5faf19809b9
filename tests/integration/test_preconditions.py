"""If-Match (expected version) and Idempotency-Key, checked inside the change's own transaction (SPEC §7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ActiveQuotesBlockClose, IdempotencyKeyReused, PreconditionFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.services import closing, opportunities, quotes
from dealdesk.services.guards import Preconditions, Replay
from dealdesk.services.ports import IdempotencyRequest, StoredAnswer
from tests.integration.builders import Desk, FixedClock
from tests.integration.db_facts import changed_tables, count_rows, row_of, snapshot


def _keyed(
    actor: Actor, *, scope: str, key: str = "key-1", fingerprint: str = "body-1", body: bytes = b""
) -> Preconditions:
    return Preconditions(
        idempotency=IdempotencyRequest(user_id=actor.id, scope=scope, key=key, fingerprint=fingerprint),
        answer=lambda _result: StoredAnswer(200, body),
    )


# ---------------------------------------------------------------------------------------------- If-Match
VersionedChange = Callable[[Desk, UUID, int], object]

VERSIONED_CHANGES: dict[str, VersionedChange] = {
    "edit": lambda d, opp, v: opportunities.edit_opportunity(
        d.uow, opp, OpportunityChanges(name="Changed"), actor=d.actor, pre=Preconditions(expected_version=v)
    ),
    "add quote": lambda d, opp, v: quotes.create_quote(
        d.uow, opp, quotes.NewQuote(name="Q"), actor=d.actor, pre=Preconditions(expected_version=v)
    ),
    "close all quotes": lambda d, opp, v: closing.close_all_quotes(
        d.uow, opp, reason=QuoteStatus.LOST, description=None, actor=d.actor, pre=Preconditions(expected_version=v)
    ),
    "close": lambda d, opp, v: d.close(opp, Outcome.LOST, pre=Preconditions(expected_version=v)),
}


@pytest.mark.parametrize("change", VERSIONED_CHANGES.values(), ids=VERSIONED_CHANGES.keys())
def test_a_change_confirmed_against_a_stale_version_is_refused_and_writes_nothing(
    desk: Desk, engine: Engine, change: VersionedChange
) -> None:
    opportunity = desk.opportunity()
    seen = desk.read(opportunity.id).version
    desk.draft(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(PreconditionFailed) as refused:
        change(desk, opportunity.id, seen)

    assert refused.value.code == "precondition_failed"
    assert changed_tables(before, snapshot(engine)) == []


@pytest.mark.parametrize("change", VERSIONED_CHANGES.values(), ids=VERSIONED_CHANGES.keys())
def test_a_change_confirmed_against_the_current_version_goes_through(
    desk: Desk, engine: Engine, change: VersionedChange
) -> None:
    opportunity = desk.opportunity()
    desk.draft(opportunity.id)
    current = desk.read(opportunity.id).version

    change(desk, opportunity.id, current)

    assert row_of(engine, t.opportunities, opportunity.id)["version"] > current


def test_a_quote_changed_after_the_close_dialog_opened_makes_the_close_fail_its_precondition(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    desk.close_quote(quote.id)
    shown = closing.preview_close(uow, opportunity.id)
    other = desk.draft(opportunity.id)
    desk.activate(other.id)
    quotes.close_quote(uow, other.id, reason=QuoteStatus.CANCELED, close_date=None, description=None, actor=desk.actor)

    with pytest.raises(PreconditionFailed):
        desk.close(opportunity.id, Outcome.WON, pre=Preconditions(expected_version=shown.version))

    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "open"


def test_quote_changes_are_checked_against_the_quote_version(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)
    seen = desk.read_quote(quote.id).version
    quotes.edit_quote(uow, quote.id, quotes.QuoteChanges(name="Edited elsewhere"), actor=desk.actor)

    with pytest.raises(PreconditionFailed):
        quotes.activate_quote(uow, quote.id, actor=desk.actor, pre=Preconditions(expected_version=seen))
    quotes.activate_quote(uow, quote.id, actor=desk.actor, pre=Preconditions(expected_version=seen + 1))

    assert row_of(engine, t.quotes, quote.id)["state"] == "active"


def test_a_reopen_against_a_stale_version_is_refused(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)
    before = snapshot(engine)

    with pytest.raises(PreconditionFailed):
        closing.reopen_opportunity(
            uow,
            opportunity.id,
            status_reason=None,
            reason=None,
            actor=desk.actor,
            pre=Preconditions(expected_version=1),
        )

    assert changed_tables(before, snapshot(engine)) == []


# ---------------------------------------------------------------------------------------------- Idempotency-Key
def test_a_repeated_close_replays_the_stored_answer_and_writes_nothing(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    pre = _keyed(desk.actor, scope=f"/api/opportunities/{opportunity.id}/close", body=b'{"closed": 1}')
    desk.close(opportunity.id, Outcome.LOST, pre=pre)
    before = snapshot(engine)

    with pytest.raises(Replay) as replayed:
        desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert replayed.value.answer == StoredAnswer(200, b'{"closed": 1}')
    assert changed_tables(before, snapshot(engine)) == []
    assert count_rows(engine, t.opportunity_closes) == 1


def test_a_replay_wins_over_an_if_match_that_has_gone_stale(desk: Desk, engine: Engine) -> None:
    """Order of checks (§7): idempotent replay before 412 — the repeat of a successful close carries the old ETag."""
    opportunity = desk.opportunity()
    seen = desk.read(opportunity.id).version
    keyed = _keyed(desk.actor, scope="/close", body=b"first answer")
    pre = Preconditions(expected_version=seen, idempotency=keyed.idempotency, answer=keyed.answer)
    desk.close(opportunity.id, Outcome.WON, pre=pre)

    with pytest.raises(Replay) as replayed:
        desk.close(opportunity.id, Outcome.WON, pre=pre)

    assert replayed.value.answer.body == b"first answer"


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(desk: Desk, engine: Engine) -> None:
    first, second = desk.opportunity("First"), desk.opportunity("Second")
    desk.close(first.id, Outcome.LOST, pre=_keyed(desk.actor, scope="/close", fingerprint="lost"))
    before = snapshot(engine)

    with pytest.raises(IdempotencyKeyReused) as refused:
        desk.close(second.id, Outcome.WON, pre=_keyed(desk.actor, scope="/close", fingerprint="won"))

    assert refused.value.code == "idempotency_key_reused"
    assert changed_tables(before, snapshot(engine)) == []


def test_a_key_is_scoped_to_its_user_and_path(desk: Desk, engine: Engine) -> None:
    manager = desk.user("mia", "manager")
    first, second, third = (desk.opportunity(name) for name in ("First", "Second", "Third"))
    desk.close(first.id, Outcome.LOST, pre=_keyed(desk.actor, scope=f"/{first.id}/close"))

    desk.close(second.id, Outcome.LOST, pre=_keyed(desk.actor, scope=f"/{second.id}/close"))
    desk.close(third.id, Outcome.LOST, pre=_keyed(manager, scope=f"/{first.id}/close"), actor=manager)

    assert {row_of(engine, t.opportunities, o.id)["state"] for o in (first, second, third)} == {"lost"}
    assert count_rows(engine, t.idempotency_keys) == 3


def test_a_refused_request_is_not_stored_so_it_can_be_retried_with_its_key(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    pre = _keyed(desk.actor, scope="/close", body=b"closed")

    with pytest.raises(ActiveQuotesBlockClose):
        desk.close(opportunity.id, Outcome.LOST, pre=pre)
    assert count_rows(engine, t.idempotency_keys) == 0
    desk.close_quote(quote.id)
    desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "lost"
    assert count_rows(engine, t.idempotency_keys) == 1


def test_a_repeated_win_replays_and_does_not_start_a_second_contract(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    pre = _keyed(desk.actor, scope=f"/api/quotes/{quote.id}/win", body=b"won")
    desk.win(quote.id, close_opportunity=True, pre=pre)
    before = snapshot(engine)

    with pytest.raises(Replay) as replayed:
        desk.win(quote.id, close_opportunity=True, pre=pre)

    assert replayed.value.answer.body == b"won"
    assert changed_tables(before, snapshot(engine)) == []
    assert count_rows(engine, t.contracts) == 1


def test_a_repeated_bulk_close_replays_and_writes_nothing(desk: Desk, uow: SqlUnitOfWork, engine: Engine) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(3)]
    pre = _keyed(desk.actor, scope="/api/opportunities/bulk-close", body=b"3 closed")
    details = desk.details(Outcome.LOST, status_reason=OpportunityStatus.OUT_SOLD)
    first = closing.bulk_close(uow, ids, details, actor=desk.actor, pre=pre)
    desk.reopen(ids[0])
    before = snapshot(engine)

    with pytest.raises(Replay) as replayed:
        closing.bulk_close(uow, ids, details, actor=desk.actor, pre=pre)

    assert first.closed == 3
    assert replayed.value.answer.body == b"3 closed"
    assert changed_tables(before, snapshot(engine)) == []
    assert row_of(engine, t.opportunities, ids[0])["state"] == "open"


def _desk_at(desk: Desk, engine: Engine, at: datetime) -> Desk:
    """The same desk, acting on the same database at another moment."""
    return Desk(SqlUnitOfWork(engine, FixedClock(at, ZoneInfo("UTC"))), desk.actor)


def test_a_key_is_kept_for_24_hours(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    pre = _keyed(desk.actor, scope="/close", body=b"first")
    _desk_at(desk, engine, datetime.now(UTC) - timedelta(hours=23)).close(opportunity.id, Outcome.LOST, pre=pre)
    desk.reopen(opportunity.id)

    with pytest.raises(Replay):
        desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "open"


def test_a_key_older_than_24_hours_is_forgotten_and_the_request_runs_again(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    pre = _keyed(desk.actor, scope="/close", body=b"first")
    _desk_at(desk, engine, datetime.now(UTC) - timedelta(hours=25)).close(opportunity.id, Outcome.LOST, pre=pre)
    desk.reopen(opportunity.id)

    desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert row_of(engine, t.opportunities, opportunity.id)["state"] == "lost"
    assert count_rows(engine, t.idempotency_keys) == 1
    assert (
        count_rows(engine, t.idempotency_keys, t.idempotency_keys.c.created_at > datetime.now(UTC) - timedelta(hours=1))
        == 1
    )
