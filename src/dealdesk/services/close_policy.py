"""Reading and setting the close policy (SPEC §11). Enforcing it is the close's own input rule (CloseDetails)."""

from __future__ import annotations

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import CLOSE_POLICY_ID, ClosePolicy
from dealdesk.domain.records import Change
from dealdesk.services.ports import UnitOfWork


def get_close_policy(uow: UnitOfWork) -> ClosePolicy:
    """Anyone signed in may read it: the Close dialog marks the fields it requires."""
    with uow.transaction(write=False):
        return uow.close_policy.get()


def set_close_policy(uow: UnitOfWork, policy: ClosePolicy, *, actor: Actor) -> ClosePolicy:
    """Managers and admins set every field at once; the change is audited with the policy before and after."""
    actor.require_manager("set the close policy")
    with uow.transaction():
        before = uow.close_policy.get()
        if before == policy:
            return policy
        at = uow.clock.now()
        uow.close_policy.save(policy, at=at)
        uow.audit.record(
            [Change("close_policy", CLOSE_POLICY_ID, "edit", before.as_dict(), policy.as_dict())], by=actor.id, at=at
        )
        return policy
