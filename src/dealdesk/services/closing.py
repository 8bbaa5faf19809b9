"""Closing a deal: preview, close all quotes, close (won or lost), reopen, corrections, and bulk close."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.closing import CloseDetails, ClosePreview, CloseResult, OpportunityClose
from dealdesk.domain.errors import DomainError, NotFound, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import ClosedQuote, Quote, QuoteLoss
from dealdesk.domain.states import OpportunityStatus, QuoteStatus
from dealdesk.services import guards
from dealdesk.services.guards import NO_PRECONDITIONS, Preconditions
from dealdesk.services.opportunities import save
from dealdesk.services.ports import IdempotencyRequest, LockedForClose, Page, RunClaim, StoredAnswer, UnitOfWork
from dealdesk.services.references import check_close_references, check_quote_loss

BULK_BATCH = 500
"""Opportunities per transaction in a bulk close."""


def preview_close(uow: UnitOfWork, opportunity_id: UUID) -> ClosePreview:
    with uow.transaction(write=False):
        return uow.opportunities.get(opportunity_id).preview_close(today=uow.clock.today())


def close_all_quotes(
    uow: UnitOfWork,
    opportunity_id: UUID,
    *,
    reason: QuoteStatus,
    description: str | None,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
    loss: QuoteLoss | None = None,
) -> tuple[ClosedQuote, ...]:
    """Every active and draft quote of an open deal, closed with one reason (and `loss`: competitor and lost reason
    detail), atomically."""
    with uow.transaction():
        opportunity = uow.opportunities.lock(opportunity_id)
        actor.require_may_act_on(opportunity.owner_id)
        check_quote_loss(uow, loss)
        guards.check(uow, pre, current_version=opportunity.version)
        closed = opportunity.close_all_quotes(
            reason, description=description, today=uow.clock.today(), at=uow.clock.now(), loss=loss
        )
        save(uow, opportunity, actor)
        return closed


def close_opportunity(
    uow: UnitOfWork,
    opportunity_id: UUID,
    details: CloseDetails,
    *,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
) -> CloseResult:
    """Close as won or lost (SPEC §4). With `close_quotes`, the quotes and the deal close in one transaction."""
    with uow.transaction():
        locked = uow.opportunities.lock_for_close(opportunity_id, idempotency=pre.idempotency)
        opportunity = locked.opportunity
        result = _close_locked(uow, opportunity, details, actor=actor, pre=pre, policy=locked.policy, kept=locked)
        save(uow, opportunity, actor, answer=guards.answer_to_keep(uow, pre, result))
        return result


def _close_locked(
    uow: UnitOfWork,
    opportunity: Opportunity,
    details: CloseDetails,
    *,
    actor: Actor,
    pre: Preconditions,
    references_checked: bool = False,
    policy: ClosePolicy | None = None,
    kept: LockedForClose | None = None,
) -> CloseResult:
    """The close decided and made on the locked aggregate; the caller saves it. `policy` and `kept` (the answer
    under the Idempotency-Key) when they were read already."""
    actor.require_may_act_on(opportunity.owner_id)
    today = uow.clock.today()
    if policy is None:
        policy = uow.close_policy.get()  # in the close's transaction: a policy set meanwhile applies at once
    details = details.checked(today=today, policy=policy)
    if not references_checked:
        check_close_references(
            uow, outcome=details.outcome, close_reason_id=details.close_reason_id, competitor_id=details.competitor_id
        )
    guards.check(uow, pre, current_version=opportunity.version, kept=kept)
    result = opportunity.close(
        details,
        close_id=uuid4(),
        by=actor.id,
        today=today,
        at=uow.clock.now(),
        created_on=uow.clock.date_of(opportunity.created_at),
        policy=policy,
    )
    return result


def reopen_opportunity(
    uow: UnitOfWork,
    opportunity_id: UUID,
    *,
    status_reason: OpportunityStatus | None,
    reason: str | None,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
    revive_quote_id: UUID | None = None,
) -> Opportunity:
    """Back to open. With `revive_quote_id` (SPEC §11) a lost or canceled quote also starts a new draft revision,
    in the same transaction: `reopen_and_revive` answers both."""
    return reopen_and_revive(
        uow,
        opportunity_id,
        status_reason=status_reason,
        reason=reason,
        actor=actor,
        pre=pre,
        revive_quote_id=revive_quote_id,
    ).opportunity


@dataclass(frozen=True)
class Reopened:
    opportunity: Opportunity
    revived_quote: Quote | None


def reopen_and_revive(
    uow: UnitOfWork,
    opportunity_id: UUID,
    *,
    status_reason: OpportunityStatus | None,
    reason: str | None,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
    revive_quote_id: UUID | None = None,
) -> Reopened:
    with uow.transaction():
        lines_of = [revive_quote_id] if revive_quote_id is not None else None
        opportunity = uow.opportunities.lock(opportunity_id, lines_of=lines_of)
        actor.require_may_act_on(opportunity.owner_id)
        if revive_quote_id is not None:
            opportunity.revivable_quote(revive_quote_id)  # 422 before 412 (SPEC §7's order)
        guards.check(uow, pre, current_version=opportunity.version)
        revived = None
        if revive_quote_id is None:
            opportunity.reopen(status_reason=status_reason, reason=reason, by=actor.id, at=uow.clock.now())
        else:
            revived = opportunity.reopen_and_revive(
                revive_quote_id,
                new_quote_id=uuid4(),
                status_reason=status_reason,
                reason=reason,
                by=actor.id,
                at=uow.clock.now(),
            )
        save(uow, opportunity, actor)
        return Reopened(opportunity=opportunity, revived_quote=revived)


def list_closes(uow: UnitOfWork, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[OpportunityClose]:
    """Every close record of the deal, newest first, including those ended by a reopen."""
    with uow.transaction(write=False):
        if not uow.opportunities.exists(opportunity_id):
            raise NotFound("opportunity", opportunity_id)
        return uow.closes.list_for(opportunity_id, limit=limit, cursor=cursor)


def correct_close(
    uow: UnitOfWork, close_id: UUID, changes: dict[str, Any], *, actor: Actor, pre: Preconditions = NO_PRECONDITIONS
) -> OpportunityClose:
    """Managers may correct the standing record's description, competitor and reason detail (audited)."""
    with uow.transaction():
        record = uow.closes.get(close_id)
        opportunity = uow.opportunities.lock(record.opportunity_id)
        record = uow.closes.get(close_id)  # read again under the lock: a reopen may have just ended it
        actor.require_manager("correct close records")
        check_close_references(
            uow,
            outcome=record.outcome,
            close_reason_id=changes.get("close_reason_id"),
            competitor_id=changes.get("competitor_id"),
        )
        policy = uow.close_policy.get()
        guards.check(uow, pre, current_version=opportunity.version)
        change = record.correct(changes=changes, at=uow.clock.now(), policy=policy)
        uow.closes.save(record)
        uow.audit.record([change], by=actor.id, at=record.updated_at, opportunity_id=record.opportunity_id)
        return record


# ---------------------------------------------------------------------------------------------- bulk close
@dataclass(frozen=True)
class BulkRow:
    """One opportunity's result in a bulk close; `error` is set when it was refused."""

    id: UUID
    ok: bool
    error: DomainError | None = None


@dataclass(frozen=True)
class BulkResult:
    results: tuple[BulkRow, ...]

    @property
    def closed(self) -> int:
        return sum(1 for row in self.results if row.ok)

    @property
    def failed(self) -> int:
        return len(self.results) - self.closed


def check_bulk_close(uow: UnitOfWork, ids: Sequence[UUID], details: CloseDetails, *, actor: Actor) -> CloseDetails:
    """Whole-request checks: who may, and input that is wrong for every row alike (422 before anything)."""
    actor.require_manager("bulk-close opportunities")
    if not 1 <= len(ids) <= 1000:
        raise ValidationFailed.field("ids", "must name 1 to 1000 opportunities")
    if len(set(ids)) != len(ids):
        raise ValidationFailed.field("ids", "must not contain duplicates")
    with uow.transaction(write=False):
        checked = details.checked(today=uow.clock.today())
        check_close_references(
            uow, outcome=checked.outcome, close_reason_id=checked.close_reason_id, competitor_id=checked.competitor_id
        )
    return checked


def bulk_close(
    uow: UnitOfWork,
    ids: Sequence[UUID],
    details: CloseDetails,
    *,
    actor: Actor,
    pre: Preconditions = NO_PRECONDITIONS,
    on_row: Callable[[BulkRow], None] | None = None,
    after_batch: Callable[[], None] | None = None,
) -> BulkResult:
    """Each opportunity closes or is refused on its own, and every one is reported, in the order given. A refusal
    is decided before anything of that opportunity is written, so a refused one is left untouched. Commits come in
    batches so that a large close stays fast; a crash loses whole batches, never half an opportunity. `on_row`
    hears each row as soon as its batch committed (first, those an interrupted earlier run of the same
    Idempotency-Key committed), and `after_batch` is called once the batch's rows are heard.

    Under an Idempotency-Key the bulk runs once (SPEC §7): it claims the key with a lease, and each batch records
    its rows' results in the transaction that closes them. A retry after a crash finds that progress, closes only
    the rest, and answers, and stores, the result of the whole bulk as if it had run once."""
    details = check_bulk_close(uow, ids, details, actor=actor)
    request = pre.idempotency
    if request is None:
        rows = _close_in_batches(uow, ids, details, actor=actor, on_row=on_row, after_batch=after_batch, run=None)
        return BulkResult(results=rows)
    claim = guards.claim_run(uow, request)
    with uow.idempotency_runs.kept_alive(request, claim):
        rows = _close_in_batches(
            uow, ids, details, actor=actor, on_row=on_row, after_batch=after_batch, run=(request, claim)
        )
        result = BulkResult(results=rows)
        with uow.transaction():
            uow.idempotency_runs.hold(request, claim)
            guards.remember(uow, pre, result)
            uow.idempotency_runs.finish(request, claim)
    return result


LeasedRun = tuple[IdempotencyRequest, RunClaim]
"""A bulk close under an Idempotency-Key: its request and the claim this run holds on the key."""


def _close_in_batches(
    uow: UnitOfWork,
    ids: Sequence[UUID],
    details: CloseDetails,
    *,
    actor: Actor,
    on_row: Callable[[BulkRow], None] | None,
    after_batch: Callable[[], None] | None,
    run: LeasedRun | None,
) -> tuple[BulkRow, ...]:
    by_id = _progress_rows(run[1].progress) if run is not None else {}
    if on_row is not None and by_id:
        for opportunity_id in ids:
            if opportunity_id in by_id:
                on_row(by_id[opportunity_id])
        if after_batch is not None:
            after_batch()
    for batch in _batches([i for i in ids if i not in by_id], BULK_BATCH):
        with uow.transaction():
            if run is not None:
                uow.idempotency_runs.hold(*run)
            batch_rows = _close_batch(uow, batch, details, actor=actor)
            by_id.update(batch_rows)
            if run is not None:
                uow.idempotency_runs.record_progress(*run, _progress_bytes(by_id))
        if on_row is not None:
            for opportunity_id in batch:
                on_row(batch_rows[opportunity_id])
        if after_batch is not None:
            after_batch()
    return tuple(by_id[i] for i in ids)


class RecordedRefusal(DomainError):
    """An opportunity's refusal as an earlier, interrupted run of the same bulk close recorded it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code  # type: ignore[misc]  # the recorded refusal's own code, whatever its class was


def bulk_answer(result: object) -> StoredAnswer:
    """A bulk close's result as the answer to store under its Idempotency-Key, for `replayed_rows` to read back
    (the command line's; the API stores its JSON body)."""
    assert isinstance(result, BulkResult)  # a Preconditions.answer is handed any use case's result
    return StoredAnswer(status_code=200, body=_progress_bytes({row.id: row for row in result.results}))


def replayed_rows(answer: StoredAnswer) -> tuple[BulkRow, ...]:
    """Every row of a finished bulk close whose answer `bulk_answer` stored, in the order given."""
    return tuple(_progress_rows(answer.body).values())


def _progress_bytes(rows: dict[UUID, BulkRow]) -> bytes:
    return json.dumps(
        [[str(row.id), row.ok, *((row.error.code, row.error.detail) if row.error else ())] for row in rows.values()]
    ).encode()


def _progress_rows(progress: bytes | None) -> dict[UUID, BulkRow]:
    rows: dict[UUID, BulkRow] = {}
    for raw_id, ok, *refusal in json.loads(progress) if progress else []:
        opportunity_id = UUID(raw_id)
        rows[opportunity_id] = BulkRow(opportunity_id, ok=ok, error=RecordedRefusal(*refusal) if refusal else None)
    return rows


def _batches(ids: Sequence[UUID], size: int) -> Iterator[Sequence[UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _close_batch(uow: UnitOfWork, batch: Sequence[UUID], details: CloseDetails, *, actor: Actor) -> dict[UUID, BulkRow]:
    """One batch, inside the caller's transaction."""
    rows: dict[UUID, BulkRow] = {}
    ids = sorted(batch)
    locked = uow.opportunities.lock_many(ids)
    # The referenced reason and competitor are the same for every deal: checked once, under the batch's locks
    # (if they fail, each deal checks again, to be refused exactly as a single close would be).
    try:
        check_close_references(
            uow,
            outcome=details.outcome,
            close_reason_id=details.close_reason_id,
            competitor_id=details.competitor_id,
        )
        references_checked = True
    except ValidationFailed:
        references_checked = False
    policy = uow.close_policy.get()  # once per batch, in the batch's transaction
    closed = []
    for opportunity_id in ids:
        try:
            opportunity = locked.get(opportunity_id)
            if opportunity is None:
                raise NotFound("opportunity", opportunity_id)
            _close_locked(
                uow,
                opportunity,
                details,
                actor=actor,
                pre=NO_PRECONDITIONS,
                references_checked=references_checked,
                policy=policy,
            )
            closed.append(opportunity)
            rows[opportunity_id] = BulkRow(opportunity_id, ok=True)
        except DomainError as error:
            rows[opportunity_id] = BulkRow(opportunity_id, ok=False, error=error)
    uow.opportunities.save_many(closed, by=actor.id)
    return rows
