"""The close policy (SPEC §11): what a manager requires of every opportunity close, whatever door it comes through.

One rule, checked where a close's input is checked, so the Close dialog, the API, bulk close, the CLI, the import
and Dataverse's actions refuse the same close with the same field named. It governs opportunity closes (a win that
also closes the deal included), not quote closes; a correction of a close record may not clear a value it requires.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.states import OpportunityStatus, Outcome

CLOSE_POLICY_ID = UUID("00000000-0000-4000-8000-00000000c105")
"""The one close policy's id, under which its changes are audited (`GET /api/audit?record=…`)."""

REQUIRED = "is required by the close policy"


@dataclass(frozen=True)
class ClosePolicy:
    """Which close details are required. Everything is optional by default."""

    require_close_reason_won: bool = False
    require_close_reason_lost: bool = False
    require_competitor_when_out_sold: bool = False
    require_description_when_lost: bool = False

    def requires_close_reason(self, outcome: Outcome) -> bool:
        return self.require_close_reason_won if outcome is Outcome.WON else self.require_close_reason_lost

    def required_fields(self, outcome: Outcome, status_reason: OpportunityStatus | None) -> tuple[str, ...]:
        """The fields a close with this outcome and status reason must carry, in the order a form shows them."""
        fields: list[str] = []
        if self.requires_close_reason(outcome):
            fields.append("close_reason_id")
        if self.require_competitor_when_out_sold and status_reason is OpportunityStatus.OUT_SOLD:
            fields.append("competitor_id")
        if self.require_description_when_lost and outcome is Outcome.LOST:
            fields.append("description")
        return tuple(fields)

    def missing(
        self,
        *,
        outcome: Outcome,
        status_reason: OpportunityStatus | None,
        close_reason_id: UUID | None,
        competitor_id: UUID | None,
        description: str | None,
        only: Collection[str] | None = None,
    ) -> list[FieldError]:
        """Each required field the close leaves empty (a blank description is empty), limited to `only` if given."""
        given: dict[str, Any] = {
            "close_reason_id": close_reason_id,
            "competitor_id": competitor_id,
            "description": description.strip() if description else None,
        }
        return [
            FieldError(name, _message(name, outcome))
            for name in self.required_fields(outcome, status_reason)
            if not given[name] and (only is None or name in only)
        ]

    def check(
        self,
        *,
        outcome: Outcome,
        status_reason: OpportunityStatus | None,
        close_reason_id: UUID | None,
        competitor_id: UUID | None,
        description: str | None,
    ) -> None:
        """Refuse a close that leaves out what the policy requires, naming every such field."""
        errors = self.missing(
            outcome=outcome,
            status_reason=status_reason,
            close_reason_id=close_reason_id,
            competitor_id=competitor_id,
            description=description,
        )
        if errors:
            raise ValidationFailed(errors)

    def as_dict(self) -> dict[str, Any]:
        """The policy as the API shows it and the audit records it."""
        return {
            "require_close_reason": {"won": self.require_close_reason_won, "lost": self.require_close_reason_lost},
            "require_competitor_when_out_sold": self.require_competitor_when_out_sold,
            "require_description_when_lost": self.require_description_when_lost,
        }


NO_POLICY = ClosePolicy()
"""Nothing required: the default, and what a close checked outside a policy's reach uses."""


def _message(name: str, outcome: Outcome) -> str:
    if name == "close_reason_id":
        return f"{REQUIRED} for a {outcome.value} close: choose a close reason"
    if name == "competitor_id":
        return f"{REQUIRED} when the opportunity was out-sold: name the competitor"
    return f"{REQUIRED} for a lost close: say what happened"
