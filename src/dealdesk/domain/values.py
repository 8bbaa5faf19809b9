"""Value rules shared by every way data comes in (API, CLI, import): money, quantities and text."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from dealdesk.domain.currencies import CURRENT_ISO_4217
from dealdesk.domain.errors import ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_MONEY = Decimal("999999999999.99")
MAX_NAME = 160
MAX_TITLE = 300
MAX_SUBJECT = 200
MAX_DESCRIPTION = 2000
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 31)


def round_cents(value: Decimal) -> Decimal:
    """Money is kept in cents; halves round away from zero, as invoices do. Minus zero is plain zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + ZERO


def parse_decimal_text(text: str, *, field: str) -> Decimal:
    """A plain decimal literal: digits, an optional point and fraction. No exponent, NaN or infinity."""
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise ValidationFailed.field(field, "must be a plain decimal number such as 1250.00 (no exponent)")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid literals
        raise ValidationFailed.field(field, "is not a number") from exc


def check_money(value: Decimal, *, field: str, allow_negative: bool = False) -> Decimal:
    """At most 2 decimals, at most 999,999,999,999.99 in size, negative only where allowed."""
    if not value.is_finite():
        raise ValidationFailed.field(field, "must be a finite amount")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed.field(field, "must have at most 2 decimals")
    if value < 0 and not allow_negative:
        raise ValidationFailed.field(field, "must not be negative")
    if abs(value) > MAX_MONEY:
        raise ValidationFailed.field(field, "must be at most 999999999999.99")
    return round_cents(value)


def check_quantity(value: Decimal, *, field: str) -> Decimal:
    """Quantities are positive with at most 2 decimals."""
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed.field(field, "must have at most 2 decimals")
    if value <= 0:
        raise ValidationFailed.field(field, "must be greater than 0")
    if value > MAX_MONEY:
        raise ValidationFailed.field(field, "is too large")
    return round_cents(value)


def parse_iso_date(text: str, *, field: str) -> date:
    """Dates are YYYY-MM-DD, nothing else, from 1900-01-01 to 9999-12-31."""
    if not _ISO_DATE.fullmatch(text):
        raise ValidationFailed.field(field, "must be a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed.field(field, "is not a real calendar date") from exc
    return check_date_range(day, field=field)


def check_date_range(value: date, *, field: str) -> date:
    """No business date lies before 1900-01-01 (a year 0001 is a typing slip, and reports would count days from it)."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationFailed.field(field, "must be between 1900-01-01 and 9999-12-31")
    return value


def check_storable(value: str, *, field: str) -> str:
    """Text must survive any database: no NUL characters and no unpaired surrogates (not UTF-8)."""
    if "\x00" in value:
        raise ValidationFailed.field(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed.field(field, "must be valid Unicode text") from exc
    return value


def check_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Names are trimmed and must not be blank; every text has a maximum length."""
    trimmed = check_storable(value, field=field).strip()
    if required and not trimmed:
        raise ValidationFailed.field(field, "must not be blank")
    if len(trimmed) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    return trimmed


def check_description(value: str | None, *, field: str = "description") -> str | None:
    """Descriptions are optional free text of at most 2000 characters; blank means none."""
    if value is None:
        return None
    check_storable(value, field=field)
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed.field(field, f"must be at most {MAX_DESCRIPTION} characters")
    return value if value.strip() else None


def check_currency(value: str, *, field: str = "currency") -> str:
    """A current ISO 4217 code (list one): withdrawn codes and X-codes such as XXX or XAU are not money to price in."""
    if value not in CURRENT_ISO_4217:
        raise ValidationFailed.field(field, "must be a current ISO 4217 currency code such as USD")
    return value


def check_not_in_future(value: date, *, today: date, field: str = "close_date") -> date:
    """Closes happen today or earlier, judged in the business time zone."""
    if value > today:
        raise ValidationFailed.field(field, f"must not be in the future (today is {today.isoformat()})")
    return value
