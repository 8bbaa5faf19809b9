"""Refusals in the visitor's language. The domain explains itself in English; the UI translates by the error's
`code`, the facts it carries (blocking quotes) and the field a validation error names — never by its text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dealdesk.domain.errors import ActiveQuotesBlockClose, DomainError, ValidationFailed
from dealdesk.web.i18n import Language
from dealdesk.web.problems import STATUS_OF_CODE

_LINE_FIELD = re.compile(r"^lines\[\d+\]\.(description|quantity|unit_price|amount)$")


def refusal(lang: Language, error: DomainError) -> str:
    """One sentence saying why the request was refused and, where it helps, what to do instead."""
    if isinstance(error, ActiveQuotesBlockClose):
        quotes = ", ".join(f"{q.number}/{q.revision}" if q.revision else q.number for q in error.blocking_quotes)
        return lang.gettext("Active quotes block the close: %(quotes)s. Close them first.") % {"quotes": quotes}
    return refusal_for_code(lang, error.code)


def refusal_for_code(lang: Language, code: str) -> str:
    """The sentence for a refusal known only by its stable code."""
    messages = {
        "validation_error": lang.gettext("Some details need attention: see the marked fields."),
        "not_found": lang.gettext("This record does not exist (any more)."),
        "duplicate": lang.gettext("A record with this name already exists."),
        "invalid_transition": lang.gettext("That is not possible in the record's current state."),
        "opportunity_not_open": lang.gettext("The opportunity is not open: reopen it first."),
        "won_quote_requires_won_close": lang.gettext(
            "This opportunity has a won quote, so it can only be closed as won."
        ),
        "won_quote_exists": lang.gettext("This opportunity already has a won quote."),
        "quote_has_no_lines": lang.gettext("The quote has no lines: add at least one before activating it."),
        "quote_total_negative": lang.gettext("The quote's total is negative: it must be 0 or more to activate."),
        "quote_expired": lang.gettext(
            "The quote has expired: move its valid-until date first. To win it anyway, confirm that it is expired."
        ),
        "precondition_failed": lang.gettext(
            "Someone changed this opportunity or its quotes while you were looking. Check the current details "
            "and confirm again."
        ),
        "forbidden": lang.gettext("You are not allowed to do this."),
        "unauthenticated": lang.gettext("Please sign in again."),
        "rate_limited": lang.gettext("Too many requests: wait a moment and try again."),
        "payload_too_large": lang.gettext("That is too much data for one request."),
        "idempotency_key_reused": lang.gettext("This request was already sent with different details."),
        "changed_while_importing": lang.gettext(
            "Records changed in dealdesk while the file was being imported, so nothing was imported. Import the "
            "file again."
        ),
    }
    return messages.get(code, lang.gettext("The request was refused."))


def field_message(lang: Language, field: str) -> str:
    """What a valid value of this field looks like: shown next to the field whatever rule it broke."""
    line_part = _LINE_FIELD.match(field)
    if line_part is not None:
        field = f"line_{line_part.group(1)}"
    messages = {
        "name": lang.gettext("Enter a name of at most 300 characters."),
        "account_id": lang.gettext("Choose an account."),
        "currency": lang.gettext(
            "Use a three-letter currency code such as USD; it cannot change once there are quotes."
        ),
        "estimated_revenue": lang.gettext("Enter an amount of 0 or more with at most 2 decimals."),
        "actual_revenue": lang.gettext("Enter an amount of 0 or more with at most 2 decimals."),
        "estimated_close_date": lang.gettext("Enter a date."),
        "valid_until": lang.gettext("Enter a date."),
        "close_date": lang.gettext("Enter today's date or an earlier one."),
        "status_reason": lang.gettext("Choose a status reason that fits the outcome."),
        "close_reason_id": lang.gettext("Choose an active reason detail of this outcome."),
        "competitor_id": lang.gettext("Choose a competitor from the list."),
        "description": lang.gettext("Use at most 2,000 characters."),
        "reason": lang.gettext("Use at most 2,000 characters."),
        "close_quotes": lang.gettext("Choose lost or canceled."),
        "lines": lang.gettext("A quote has at most 500 lines, and its total must stay within range."),
        "line_description": lang.gettext("Describe the line in at most 500 characters."),
        "line_quantity": lang.gettext("Enter a quantity above 0 with at most 2 decimals."),
        "line_unit_price": lang.gettext("Enter a price with at most 2 decimals (negative for a discount)."),
        "line_amount": lang.gettext("This line's amount is too large."),
        "ids": lang.gettext("Select between 1 and 1,000 opportunities."),
        "current_password": lang.gettext("This is not your current password."),
        "new_password": lang.gettext("Use at least 12 characters."),
        "repeat_password": lang.gettext("Type the same new password twice."),
        "outcome": lang.gettext("Choose won or lost."),
        "owner_id": lang.gettext("Choose an owner from the list."),
        "revive_quote_id": lang.gettext("Choose a lost or canceled quote of this opportunity."),
    }
    return messages.get(field, lang.gettext("Check this value."))


_POLICY_FIELDS = frozenset({"close_reason_id", "competitor_id", "description"})


def _policy_message(lang: Language, field: str) -> str:
    if field == "close_reason_id":
        return lang.gettext("Choose a reason detail: the close policy requires one.")
    if field == "competitor_id":
        return lang.gettext("Choose the competitor: the close policy requires it when out-sold.")
    return lang.gettext("Describe what happened: the close policy requires it.")


_NAME_LIMITS = {"name": 300}
_MONEY = frozenset({"estimated_revenue", "actual_revenue"})
_DECIMALS = re.compile(r"\.\d{3,}$")


def value_message(lang: Language, field: str, value: str) -> str | None:
    """What is wrong with the value the person typed, when the value itself shows it: blank where something is
    needed, too long, too many decimals, too large. None when the field's general message says it best."""
    text = value.strip()
    if not text and field in _POLICY_FIELDS:  # optional otherwise: blank fails only where the close policy requires it
        return _policy_message(lang, field)
    if field in ("name", "reason") and not text:
        return lang.gettext("Enter a name.") if field == "name" else lang.gettext("Say why it is reopened.")
    if field in _NAME_LIMITS and len(text) > _NAME_LIMITS[field]:
        return lang.gettext("Use at most %(count)s characters.") % {"count": _NAME_LIMITS[field]}
    if field in _MONEY:
        plain = text.replace(",", "").replace(" ", "")
        if not plain:
            return lang.gettext("Enter an amount.")
        if _DECIMALS.search(plain):
            return lang.gettext("Use at most 2 decimals.")
        whole = plain.lstrip("+-").split(".")[0]
        if whole.isdigit() and len(whole.lstrip("0")) > 12:
            return lang.gettext("Enter at most 999,999,999,999.99.")
        if plain.startswith("-"):
            return lang.gettext("Enter 0 or more.")
    return None


def field_errors(lang: Language, error: ValidationFailed, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field name (as the domain names it) to the message shown next to that field: what is wrong with the value
    typed where that shows, else what a valid value looks like."""
    shown = values or {}
    return {
        e.field: (value_message(lang, e.field, shown[e.field]) if e.field in shown else None)
        or field_message(lang, e.field)
        for e in error.errors
    }


def row_refusal(lang: Language, error: DomainError, values: Mapping[str, str] | None = None) -> str:
    """Why one row of a bulk close was refused, where no field is there to mark: an input fault (the close policy's
    required fields among them) says what each field needs; any other refusal is its sentence."""
    if isinstance(error, ValidationFailed):
        return " ".join(field_errors(lang, error, values).values())
    return refusal(lang, error)


@dataclass(frozen=True)
class FormProblem:
    """What a form shows when its change was refused: a sentence on top, and messages next to fields."""

    alert: str
    errors: dict[str, str]
    status: int


def form_problem(lang: Language, error: DomainError, values: Mapping[str, str] | None = None) -> FormProblem:
    """`values`: the form's fields as typed, so a message can say what is wrong with them."""
    errors = field_errors(lang, error, values) if isinstance(error, ValidationFailed) else {}
    return FormProblem(alert=refusal(lang, error), errors=errors, status=STATUS_OF_CODE.get(error.code, 409))
