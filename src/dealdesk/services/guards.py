"""Preconditions a client may attach to a change: If-Match and Idempotency-Key (SPEC §7).

They are checked inside the change's own transaction, after the row lock, so a replay or a version check
cannot race the change it guards. Order: idempotent replay first, then the version check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from dealdesk.domain.errors import IdempotencyKeyReused, PreconditionFailed
from dealdesk.services.ports import (
    IdempotencyRequest,
    KeptAnswer,
    LockedForClose,
    RunClaim,
    StoredAnswer,
    UnitOfWork,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Preconditions:
    expected_version: int | None = None
    """From If-Match: the version of the resource in the path the client last saw."""
    idempotency: IdempotencyRequest | None = None
    answer: Callable[[object], StoredAnswer] | None = None
    """Renders a successful result as the answer to store under the idempotency key."""


NO_PRECONDITIONS = Preconditions()


class Replay(Exception):
    """The same request was already answered: its stored answer is the answer, and nothing is written."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replayed idempotent request")
        self.answer = answer


def check(uow: UnitOfWork, pre: Preconditions, *, current_version: int, kept: LockedForClose | None = None) -> None:
    """Replay (or refuse) a repeated Idempotency-Key, then compare If-Match. `kept`: the answer under the key was
    read already, with the deal."""
    if pre.idempotency is not None:
        found = kept.kept if kept is not None else uow.idempotency.find(pre.idempotency)
        _replay_if_answered(found, pre.idempotency)
    if pre.expected_version is not None and pre.expected_version != current_version:
        raise PreconditionFailed("The record changed since you last read it (If-Match does not match its ETag)")


def _replay_if_answered(found: tuple[str, StoredAnswer] | None, request: IdempotencyRequest) -> None:
    if found is not None:
        fingerprint, answer = found
        if fingerprint != request.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body")
        raise Replay(answer)


def claim_run(uow: UnitOfWork, request: IdempotencyRequest) -> RunClaim:
    """For a change that spans several transactions (a bulk close): claim its key, in a transaction of its own,
    for this one run, or take over a run whose server died. A repeat of a finished run replays its answer; one of a
    run still under way is IdempotencyKeyInProgress. The stored answer is looked for after the claim: a run that
    finishes meanwhile stores its answer and gives up its claim in one transaction, so one of the two is seen."""
    with uow.transaction():
        claim = uow.idempotency_runs.claim(request)
        _replay_if_answered(uow.idempotency.find(request), request)
        return claim


def remember(uow: UnitOfWork, pre: Preconditions, result: R) -> R:
    """Store the answer in the same transaction as the change, so a crash loses both or neither."""
    kept = answer_to_keep(uow, pre, result)
    if kept is not None:
        uow.idempotency.remember(kept.request, kept.answer, at=kept.at)
    return result


def answer_to_keep(uow: UnitOfWork, pre: Preconditions, result: object) -> KeptAnswer | None:
    """The answer to store with the change, for a save to write with it (the close's one round trip)."""
    if pre.idempotency is None or pre.answer is None:
        return None
    return KeptAnswer(pre.idempotency, pre.answer(result), at=uow.clock.now())
