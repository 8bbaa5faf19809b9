"""If-Match and Idempotency-Key (SPEC §7), checked inside the change's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused, PreconditionFailed
from dealdesk.domain.opportunity_changes import OpportunityChanges
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome
from dealdesk.services import closing, opportunities, quotes
from dealdesk.services.guards import Preconditions, Replay
from dealdesk.services.ports import IdempotencyRequest, StoredAnswer
from tests.integration.builders import Desk
from tests.use_cases.support import UnitOfWorkFactory, desk_at, seen


def _keyed(actor: Actor, *, scope: str, fingerprint: str = "body-1", body: bytes = b"") -> Preconditions:
    return Preconditions(
        idempotency=IdempotencyRequest(user_id=actor.id, scope=scope, key="key-1", fingerprint=fingerprint),
        answer=lambda _result: StoredAnswer(200, body),
    )


def test_a_change_confirmed_against_a_stale_version_is_refused_and_changes_nothing(desk: Desk) -> None:
    opportunity = desk.opportunity()
    stale = desk.read(opportunity.id).version
    opportunities.edit_opportunity(desk.uow, opportunity.id, OpportunityChanges(name="Renamed"), actor=desk.actor)
    before = seen(desk, opportunity.id)

    with pytest.raises(PreconditionFailed):
        desk.close(opportunity.id, Outcome.LOST, pre=Preconditions(expected_version=stale))

    assert seen(desk, opportunity.id) == before
    desk.close(opportunity.id, Outcome.LOST, pre=Preconditions(expected_version=stale + 1))


def test_quote_changes_are_checked_against_the_quote_version(desk: Desk) -> None:
    opportunity = desk.opportunity()
    draft = desk.draft(opportunity.id)

    with pytest.raises(PreconditionFailed):
        quotes.activate_quote(desk.uow, draft.id, actor=desk.actor, pre=Preconditions(expected_version=2))
    quotes.activate_quote(desk.uow, draft.id, actor=desk.actor, pre=Preconditions(expected_version=1))


def test_a_repeated_close_replays_the_stored_answer_and_changes_nothing(desk: Desk) -> None:
    opportunity = desk.opportunity()
    pre = _keyed(desk.actor, scope="/close", body=b'{"closed": 1}')
    desk.close(opportunity.id, Outcome.LOST, pre=pre)
    desk.reopen(opportunity.id)
    before = seen(desk, opportunity.id)

    with pytest.raises(Replay) as replayed:
        desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert replayed.value.answer == StoredAnswer(200, b'{"closed": 1}')
    assert seen(desk, opportunity.id) == before


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(desk: Desk) -> None:
    first, second = desk.opportunity("First"), desk.opportunity("Second")
    desk.close(first.id, Outcome.LOST, pre=_keyed(desk.actor, scope="/close", fingerprint="lost"))
    before = seen(desk, second.id)

    with pytest.raises(IdempotencyKeyReused):
        desk.close(second.id, Outcome.WON, pre=_keyed(desk.actor, scope="/close", fingerprint="won"))

    assert seen(desk, second.id) == before


def test_a_refused_request_stores_no_answer_so_it_can_be_retried_with_its_key(desk: Desk) -> None:
    opportunity = desk.opportunity()
    quote = desk.active(opportunity.id)
    pre = _keyed(desk.actor, scope="/close")

    with pytest.raises(Exception, match="active"):
        desk.close(opportunity.id, Outcome.LOST, pre=pre)
    desk.close_quote(quote.id)
    desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert desk.read(opportunity.id).state is OpportunityState.LOST


@pytest.mark.parametrize(("hours_ago", "replayed"), [(23, True), (25, False)])
def test_a_key_is_kept_for_24_hours_and_then_forgotten(
    desk: Desk, make_uow: UnitOfWorkFactory, hours_ago: int, replayed: bool
) -> None:
    opportunity = desk.opportunity()
    pre = _keyed(desk.actor, scope="/close", body=b"first")
    desk_at(desk, make_uow, datetime.now(UTC) - timedelta(hours=hours_ago)).close(opportunity.id, Outcome.LOST, pre=pre)
    desk.reopen(opportunity.id)

    if replayed:
        with pytest.raises(Replay):
            desk.close(opportunity.id, Outcome.LOST, pre=pre)
    else:
        desk.close(opportunity.id, Outcome.LOST, pre=pre)

    assert desk.read(opportunity.id).state is (OpportunityState.OPEN if replayed else OpportunityState.LOST)


def test_a_repeated_bulk_close_replays_its_answer_and_changes_nothing(desk: Desk) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(3)]
    pre = _keyed(desk.actor, scope="/bulk-close", body=b"3 closed")
    details = desk.details(Outcome.LOST, status_reason=OpportunityStatus.OUT_SOLD)
    first = closing.bulk_close(desk.uow, ids, details, actor=desk.actor, pre=pre)
    desk.reopen(ids[0])
    before = [seen(desk, i) for i in ids]

    with pytest.raises(Replay) as replayed:
        closing.bulk_close(desk.uow, ids, details, actor=desk.actor, pre=pre)

    assert (first.closed, replayed.value.answer.body) == (3, b"3 closed")
    assert [seen(desk, i) for i in ids] == before


def test_a_bulk_close_under_a_key_another_run_holds_is_told_to_come_back_later(
    desk: Desk, make_uow: UnitOfWorkFactory
) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(2)]
    pre = _keyed(desk.actor, scope="/bulk-close")
    assert pre.idempotency is not None
    other_run = make_uow(desk.uow.clock)
    with other_run.transaction():
        other_run.idempotency_runs.claim(pre.idempotency)

    with pytest.raises(IdempotencyKeyInProgress):
        closing.bulk_close(desk.uow, ids, desk.details(Outcome.LOST), actor=desk.actor, pre=pre)

    assert {desk.read(i).state for i in ids} == {OpportunityState.OPEN}


def test_a_bulk_close_resumes_after_a_run_whose_lease_lapsed_closing_only_the_rest(
    desk: Desk, make_uow: UnitOfWorkFactory
) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(3)]
    pre = _keyed(desk.actor, scope="/bulk-close", body=b"all closed")
    assert pre.idempotency is not None
    details = desk.details(Outcome.LOST)
    long_ago = desk_at(desk, make_uow, datetime.now(UTC) - timedelta(minutes=5))
    with long_ago.uow.transaction():  # a run that closed the first deal, recorded it, and died
        claim = long_ago.uow.idempotency_runs.claim(pre.idempotency)
    long_ago.close(ids[0], Outcome.LOST)
    with long_ago.uow.transaction():
        long_ago.uow.idempotency_runs.record_progress(pre.idempotency, claim, f'[["{ids[0]}", true]]'.encode())
    desk.reopen(ids[0])  # had the retry closed it again, it would be lost now

    result = closing.bulk_close(desk.uow, ids, details, actor=desk.actor, pre=pre)

    assert [row.ok for row in result.results] == [True, True, True]
    assert [desk.read(i).state for i in ids] == [OpportunityState.OPEN, OpportunityState.LOST, OpportunityState.LOST]
    with pytest.raises(Replay):
        closing.bulk_close(desk.uow, ids, details, actor=desk.actor, pre=pre)
