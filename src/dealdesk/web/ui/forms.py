"""Reading form text into domain values. Every field is read before anything is refused, so the form can show
all its problems at once; the rules themselves stay in the domain, this only parses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from babel import Locale
from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

from dealdesk.domain.errors import FieldError, PreconditionFailed, ValidationFailed
from dealdesk.domain.values import parse_decimal_text, parse_iso_date

E = TypeVar("E", bound=StrEnum)


class FieldReader:
    def __init__(self, locale: Locale | str = "en") -> None:
        self.errors: list[FieldError] = []
        self.locale = Locale.parse(locale)

    def _fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def decimal(self, field: str, text: str, *, required: bool = False) -> Decimal | None:
        """A decimal as the UI's language writes it: ASCII digits, digit groups only where the locale puts them
        ("1,250.00" in English and in zh-Hant-HK), and the locale's decimal mark. "1,50" or "1,2,3.4,5" is refused,
        never guessed at; the rest (at most 2 decimals, sign) is the domain's rule."""
        typed = text.strip()
        if not typed:
            if required:
                self._fail(field, "is required")
            return None
        group, mark = get_group_symbol(self.locale), get_decimal_symbol(self.locale)
        shape = f"-?[0-9][0-9{re.escape(group)}]*({re.escape(mark)}[0-9]+)?"
        try:
            if not re.fullmatch(shape, typed):
                raise NumberFormatError(typed)
            parse_decimal(typed, locale=self.locale, strict=True)  # digit groups where the locale puts them
        except NumberFormatError:
            self._fail(field, f"must be a number written as 1{group}250{mark}00")
            return None
        try:
            return parse_decimal_text(typed.replace(group, "").replace(mark, "."), field=field)
        except ValidationFailed as exc:
            self.errors.extend(exc.errors)
            return None

    def day(self, field: str, text: str, *, required: bool = False) -> date | None:
        if not text.strip():
            if required:
                self._fail(field, "is required")
            return None
        try:
            return parse_iso_date(text.strip(), field=field)
        except ValidationFailed as exc:
            self.errors.extend(exc.errors)
            return None

    def reference(self, field: str, text: str, *, required: bool = False) -> UUID | None:
        """The id a select sends; empty means none chosen."""
        if not text.strip():
            if required:
                self._fail(field, "is required")
            return None
        try:
            return UUID(text.strip())
        except ValueError:
            self._fail(field, "is not a known choice")
            return None

    def choice(self, field: str, text: str, kind: type[E], *, required: bool = False) -> E | None:
        if not text.strip():
            if required:
                self._fail(field, "is required")
            return None
        try:
            return kind(text.strip())
        except ValueError:
            self._fail(field, "is not a known choice")
            return None

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


UNREADABLE_VERSION = -1
"""Stands for a version no page could have shown ("²", 5,000 digits): it matches no record, so the change is refused
at its precondition, after the checks that come first (404, 403, other fields' 422), and `versions_read` names it."""
MAX_VERSION_DIGITS = 18


def _readable(text: str) -> bool:
    plain = text.strip()
    return not plain or (plain.isascii() and plain.isdigit() and len(plain) <= MAX_VERSION_DIGITS)


def version_shown(text: str) -> int | None:
    """The version the page showed, sent back as the precondition of a change; a missing one checks nothing."""
    if not _readable(text):
        return UNREADABLE_VERSION
    plain = text.strip()
    return int(plain) if plain else None


@contextmanager
def versions_read(*texts: str) -> Iterator[None]:
    """Around a change guarded by `version_shown(text)`: its refusal for a version no page showed is an input fault
    (422 naming `version`), not a record changed meanwhile (412). Everything checked before it stays first."""
    try:
        yield
    except PreconditionFailed as error:
        if all(_readable(text) for text in texts):
            raise
        raise ValidationFailed.field("version", "is not a version this page showed") from error


def optional_text(text: str) -> str | None:
    """Blank text areas mean 'none'."""
    return text if text.strip() else None
