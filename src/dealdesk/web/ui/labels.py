"""What people read instead of the contract's codes: state and reason names, audit actions and fields."""

from __future__ import annotations

from enum import StrEnum

from dealdesk.domain.states import ContractState, OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus
from dealdesk.web.i18n import Language


def _opportunity_states(lang: Language) -> dict[StrEnum, str]:
    return {
        OpportunityState.OPEN: lang.pgettext("opportunity state", "Open"),
        OpportunityState.WON: lang.pgettext("opportunity state", "Won"),
        OpportunityState.LOST: lang.pgettext("opportunity state", "Lost"),
    }


def _opportunity_statuses(lang: Language) -> dict[StrEnum, str]:
    return {
        OpportunityStatus.IN_PROGRESS: lang.pgettext("opportunity status", "In progress"),
        OpportunityStatus.ON_HOLD: lang.pgettext("opportunity status", "On hold"),
        OpportunityStatus.WON: lang.pgettext("opportunity status", "Won"),
        OpportunityStatus.CANCELED: lang.pgettext("opportunity status", "Canceled"),
        OpportunityStatus.OUT_SOLD: lang.pgettext("opportunity status", "Out-sold"),
    }


def _quote_states(lang: Language) -> dict[StrEnum, str]:
    return {
        QuoteState.DRAFT: lang.pgettext("quote state", "Draft"),
        QuoteState.ACTIVE: lang.pgettext("quote state", "Active"),
        QuoteState.WON: lang.pgettext("quote state", "Won"),
        QuoteState.CLOSED: lang.pgettext("quote state", "Closed"),
    }


def _quote_statuses(lang: Language) -> dict[StrEnum, str]:
    return {
        QuoteStatus.IN_PROGRESS: lang.pgettext("quote status", "In progress"),
        QuoteStatus.OPEN: lang.pgettext("quote status", "Open"),
        QuoteStatus.WON: lang.pgettext("quote status", "Won"),
        QuoteStatus.LOST: lang.pgettext("quote status", "Lost"),
        QuoteStatus.CANCELED: lang.pgettext("quote status", "Canceled"),
        QuoteStatus.REVISED: lang.pgettext("quote status", "Revised"),
    }


def _outcomes(lang: Language) -> dict[StrEnum, str]:
    return {
        Outcome.WON: lang.pgettext("outcome", "Won"),
        Outcome.LOST: lang.pgettext("outcome", "Lost"),
    }


def _contract_states(lang: Language) -> dict[StrEnum, str]:
    return {ContractState.DRAFT: lang.pgettext("contract state", "Draft")}


_TABLES = {
    ContractState: _contract_states,
    OpportunityState: _opportunity_states,
    OpportunityStatus: _opportunity_statuses,
    QuoteState: _quote_states,
    QuoteStatus: _quote_statuses,
    Outcome: _outcomes,
}
"""By enum class first: members of different enums with the same value compare equal as strings."""


def label(lang: Language, value: StrEnum) -> str:
    return _TABLES[type(value)](lang)[value]


def audit_action(lang: Language, action: str, record_type: str = "opportunity") -> str:
    """What an audit entry says happened; quotes, close records and contracts say which record it was."""
    if record_type == "quote":
        quote_actions = {
            "create": lang.pgettext("audit action", "Quote created"),
            "edit": lang.pgettext("audit action", "Quote edited"),
            "activate": lang.pgettext("audit action", "Quote activated"),
            "close": lang.pgettext("audit action", "Quote closed"),
            "revise": lang.pgettext("audit action", "Quote revised"),
            "revive": lang.pgettext("audit action", "Quote revived in a new revision"),
            "win": lang.pgettext("audit action", "Quote won"),
            "delete": lang.pgettext("audit action", "Draft quote deleted"),
        }
        return quote_actions.get(action, lang.pgettext("audit action", "Quote changed"))
    if record_type == "opportunity_close":
        close_actions = {
            "create": lang.pgettext("audit action", "Close record written"),
            "reopen": lang.pgettext("audit action", "Close record ended by a reopen"),
            "correct": lang.pgettext("audit action", "Close record corrected"),
        }
        return close_actions.get(action, lang.pgettext("audit action", "Changed"))
    if record_type == "contract":
        return lang.pgettext("audit action", "Project contract created")
    names = {
        "create": lang.pgettext("audit action", "Created"),
        "edit": lang.pgettext("audit action", "Edited"),
        "close": lang.pgettext("audit action", "Closed"),
        "reopen": lang.pgettext("audit action", "Reopened"),
        "win_quote": lang.pgettext("audit action", "Quote won"),
        "correct": lang.pgettext("audit action", "Close record corrected"),
    }
    return names.get(action, lang.pgettext("audit action", "Changed"))


def field_name(lang: Language, field: str) -> str:
    """Names of the opportunity's fields as the audit panel and messages show them."""
    names = {
        "name": lang.gettext("Name"),
        "account_id": lang.gettext("Account"),
        "currency": lang.gettext("Currency"),
        "estimated_revenue": lang.gettext("Estimated revenue"),
        "estimated_close_date": lang.gettext("Estimated close date"),
        "description": lang.gettext("Description"),
        "owner_id": lang.gettext("Owner"),
        "state": lang.gettext("State"),
        "status_reason": lang.gettext("Status reason"),
        "actual_revenue": lang.gettext("Actual revenue"),
        "actual_close_date": lang.gettext("Actual close date"),
        "won_quote_id": lang.gettext("Won quote"),
        "contract_id": lang.gettext("Project contract"),
        "reason": lang.gettext("Reason"),
        "competitor_id": lang.gettext("Competitor"),
        "close_reason_id": lang.gettext("Reason detail"),
        "superseded_by_quote_id": lang.gettext("Superseded by"),
    }
    return names.get(field, lang.gettext("Other detail"))
