"""Reading form text into domain values. Every field is read before anything is refused, so the form can show
all its problems at once; the rules themselves stay in the domain, this only parses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from dealdesk.domain.errors import FieldError, ValidationFailed
from dealdesk.domain.values import parse_decimal_text, parse_iso_date

E = TypeVar("E", bound=StrEnum)


class FieldReader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def _fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def decimal(self, field: str, text: str, *, required: bool = False) -> Decimal | None:
        """A decimal as typed: digit group commas and spaces are allowed, the rest is the domain's syntax."""
        plain = text.replace(",", "").replace(" ", "").strip()
        if not plain:
            if required:
                self._fail(field, "is required")
            return None
        try:
            return parse_decimal_text(plain, field=field)
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


def version_shown(text: str) -> int | None:
    """The version the page showed, sent back as the precondition of a change; a missing one checks nothing."""
    return int(text) if text.strip().isdigit() else None


def optional_text(text: str) -> str | None:
    """Blank text areas mean 'none'."""
    return text if text.strip() else None
