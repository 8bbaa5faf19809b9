"""I5: a refused or failed request changes nothing, and every change is audited in its own transaction (SPEC §2, §6).

Each refusal below is checked against a snapshot of every row of every table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Connection, Engine, select

from dealdesk.db import hot_path, writes
from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.db.writes import Steps
from dealdesk.domain.errors import DomainError
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.services import closing, quotes, reads
from tests.integration.builders import Desk
from tests.integration.db_facts import changed_tables, snapshot


class AuditWriteFailed(Exception):
    """Stands for the database failing while the audit entries are written, after the change itself."""


def _fail_audit_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every save of a deal send its writes except the audit entries, then fail, on either path
    (db/writes.py, db/hot_path.py): the audit entries are the save's last step."""
    for module in (writes, hot_path):
        send = module.send

        def failing(conn: Connection, steps: Steps, send: Callable[[Connection, Steps], None] = send) -> None:
            send(conn, [[w for w in step if w.table is not t.audit_entries] for step in steps])
            if any(w.table is t.audit_entries for step in steps for w in step):
                raise AuditWriteFailed

        monkeypatch.setattr(module, "send", failing)


def _audit_at(engine: Engine, at: Any) -> set[tuple[str, UUID, str]]:
    a = t.audit_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(a.record_type, a.record_id, a.action).where(a.at == at))
        return {(row.record_type, row.record_id, row.action) for row in rows}


# ---------------------------------------------------------------------------------------------- refusals
Refusal = Callable[[Desk, dict[str, UUID]], object]

REFUSALS: dict[str, tuple[Refusal, str]] = {
    "close while a quote is active": (
        lambda d, ids: d.close(ids["opportunity"], Outcome.WON),
        "active_quotes_block_close",
    ),
    "close with quotes, dated tomorrow": (
        lambda d, ids: d.close(ids["opportunity"], Outcome.LOST, close_quotes=QuoteStatus.LOST, close_date=d.tomorrow),
        "validation_error",
    ),
    "close with quotes, unknown competitor": (
        lambda d, ids: d.close(ids["opportunity"], Outcome.WON, close_quotes=QuoteStatus.LOST, competitor_id=uuid4()),
        "validation_error",
    ),
    "close with quotes, retired close reason": (
        lambda d, ids: d.close(
            ids["opportunity"], Outcome.LOST, close_quotes=QuoteStatus.CANCELED, close_reason_id=ids["retired_reason"]
        ),
        "validation_error",
    ),
    "close with quotes, reason of the other outcome": (
        lambda d, ids: d.close(
            ids["opportunity"], Outcome.WON, close_quotes=QuoteStatus.CANCELED, close_reason_id=ids["lost_reason"]
        ),
        "validation_error",
    ),
    "win a draft": (lambda d, ids: d.win(ids["draft"], close_opportunity=True), "invalid_transition"),
    "win dated tomorrow": (
        lambda d, ids: d.win(ids["active"], close_opportunity=True, close_date=d.tomorrow),
        "validation_error",
    ),
    "win naming an unknown competitor": (
        lambda d, ids: d.win(ids["active"], close_opportunity=True, competitor_id=uuid4()),
        "validation_error",
    ),
    "reopen an open deal": (lambda d, ids: d.reopen(ids["opportunity"]), "invalid_transition"),
}


@pytest.mark.parametrize(("attempt", "code"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_close_or_win_leaves_every_row_unchanged(
    desk: Desk, engine: Engine, attempt: Refusal, code: str
) -> None:
    opportunity = desk.opportunity()
    ids = {
        "opportunity": opportunity.id,
        "active": desk.active(opportunity.id, name="Active").id,
        "draft": desk.draft(opportunity.id, name="Draft").id,
        "retired_reason": desk.close_reason(Outcome.LOST, "Retired", active=False).id,
        "lost_reason": desk.close_reason(Outcome.LOST, "Price").id,
    }
    desk.competitor()
    before = snapshot(engine)

    with pytest.raises(DomainError) as refused:
        attempt(desk, ids)

    assert refused.value.code == code
    assert changed_tables(before, snapshot(engine)) == []


def test_a_refused_lost_close_with_quotes_on_a_deal_with_a_won_quote_leaves_its_drafts_open(
    desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    won = desk.active(opportunity.id)
    desk.win(won.id)
    desk.draft(opportunity.id)
    before = snapshot(engine)

    with pytest.raises(DomainError) as refused:
        desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.LOST)

    assert refused.value.code == "won_quote_requires_won_close"
    assert changed_tables(before, snapshot(engine)) == []


# ---------------------------------------------------------------------------------------------- failures mid-write
def test_a_close_with_quotes_that_fails_while_auditing_writes_nothing(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunity = desk.opportunity()
    desk.active(opportunity.id)
    desk.draft(opportunity.id)
    before = snapshot(engine)
    _fail_audit_writes(monkeypatch)

    with pytest.raises(AuditWriteFailed):
        desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.CANCELED)

    assert changed_tables(before, snapshot(engine)) == []


def test_a_win_that_fails_while_auditing_writes_no_quote_contract_or_close(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunity = desk.opportunity()
    chosen = desk.active(opportunity.id)
    desk.active(opportunity.id)
    before = snapshot(engine)
    _fail_audit_writes(monkeypatch)

    with pytest.raises(AuditWriteFailed):
        desk.win(chosen.id, close_opportunity=True)

    assert changed_tables(before, snapshot(engine)) == []


def test_a_reopen_that_fails_while_auditing_keeps_the_deal_closed(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunity = desk.opportunity()
    desk.close(opportunity.id, Outcome.LOST)
    before = snapshot(engine)
    _fail_audit_writes(monkeypatch)

    with pytest.raises(AuditWriteFailed):
        desk.reopen(opportunity.id)

    assert changed_tables(before, snapshot(engine)) == []


def test_a_bulk_close_that_fails_mid_batch_loses_the_whole_batch_never_half_an_opportunity(
    desk: Desk, uow: SqlUnitOfWork, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [desk.opportunity(f"Deal {n}").id for n in range(3)]
    before = snapshot(engine)
    _fail_audit_writes(monkeypatch)

    with pytest.raises(AuditWriteFailed):
        closing.bulk_close(uow, ids, desk.details(Outcome.LOST), actor=desk.actor)

    assert changed_tables(before, snapshot(engine)) == []


# ---------------------------------------------------------------------------------------------- audit entries
def test_a_close_with_quotes_audits_the_deal_its_close_record_and_each_quote_at_one_instant(
    desk: Desk, engine: Engine
) -> None:
    opportunity = desk.opportunity()
    active = desk.active(opportunity.id)
    draft = desk.draft(opportunity.id)

    result = desk.close(opportunity.id, Outcome.LOST, close_quotes=QuoteStatus.LOST)

    assert _audit_at(engine, result.opportunity.updated_at) == {
        ("quote", active.id, "close"),
        ("quote", draft.id, "close"),
        ("opportunity", opportunity.id, "close"),
        ("opportunity_close", result.close.id, "create"),
    }


def test_a_win_that_closes_the_deal_audits_every_record_it_touches(desk: Desk, engine: Engine) -> None:
    opportunity = desk.opportunity()
    chosen = desk.active(opportunity.id)
    sibling = desk.draft(opportunity.id)

    result = desk.win(chosen.id, close_opportunity=True)

    assert result.close is not None
    assert _audit_at(engine, result.opportunity.updated_at) == {
        ("quote", chosen.id, "win"),
        ("quote", sibling.id, "close"),
        ("contract", result.contract.id, "create"),
        ("opportunity", opportunity.id, "win_quote"),
        ("opportunity", opportunity.id, "close"),
        ("opportunity_close", result.close.id, "create"),
    }


def test_a_reopen_audits_the_deal_and_its_ended_close_record(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    record = desk.close(opportunity.id, Outcome.LOST).close

    desk.reopen(opportunity.id, status_reason=OpportunityStatus.ON_HOLD, reason="Budget back")

    deal = reads.audit_for(uow, opportunity.id, limit=10, cursor=None).items
    assert [e.action for e in deal] == ["reopen", "close", "create"]
    assert deal[0].before == {
        "state": "lost",
        "status_reason": "canceled",
        "actual_revenue": "0.00",
        "actual_close_date": desk.today.isoformat(),
    }
    assert deal[0].after is not None and deal[0].after["status_reason"] == "on_hold"
    assert [e.action for e in reads.audit_for(uow, record.id, limit=10, cursor=None).items] == ["reopen", "create"]
    assert all(e.user_id == desk.actor.id for e in deal)


def test_every_quote_action_leaves_its_own_audit_entry_newest_first(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    quote = desk.draft(opportunity.id)
    quotes.edit_quote(uow, quote.id, quotes.QuoteChanges(name="Renamed"), actor=desk.actor)
    desk.activate(quote.id)
    revision = quotes.revise_quote(uow, quote.id, actor=desk.actor)
    copy = quotes.copy_quote(uow, revision.id, actor=desk.actor)
    quotes.delete_quote(uow, copy.id, actor=desk.actor)

    history = [e.action for e in reads.audit_for(uow, quote.id, limit=10, cursor=None).items]

    assert history == ["revise", "activate", "edit", "create"]
    assert [e.action for e in reads.audit_for(uow, revision.id, limit=10, cursor=None).items] == ["create"]
    assert [e.action for e in reads.audit_for(uow, copy.id, limit=10, cursor=None).items] == ["delete", "create"]


def test_the_audit_list_pages_newest_first(desk: Desk, uow: SqlUnitOfWork) -> None:
    opportunity = desk.opportunity()
    for n in range(4):
        closing.close_opportunity(uow, opportunity.id, desk.details(Outcome.LOST), actor=desk.actor)
        closing.reopen_opportunity(uow, opportunity.id, status_reason=None, reason=f"Round {n}", actor=desk.actor)

    actions: list[str] = []
    cursor = None
    while True:
        page = reads.audit_for(uow, opportunity.id, limit=3, cursor=cursor)
        actions.extend(e.action for e in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert actions == ["reopen", "close"] * 4 + ["create"]
