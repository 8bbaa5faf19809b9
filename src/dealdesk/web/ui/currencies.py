"""The currency picker's choices: the ISO 4217 codes some territory uses as legal tender today (no historical codes,
no X-codes), named in the visitor's language. The domain still decides what it accepts."""

from __future__ import annotations

from datetime import date
from functools import cache

from babel import Locale
from babel.core import get_global
from babel.numbers import get_territory_currencies, list_currencies

COMMON = ("USD", "HKD", "EUR", "GBP", "CNY", "JPY", "SGD")
"""Offered first, the rest follow in code order."""


@cache
def current_codes(on: date) -> frozenset[str]:
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, on, tender=True))
    return frozenset(codes & list_currencies())


def currency_choices(locale: Locale, on: date, *, keep: str | None = None) -> list[tuple[str, str]]:
    """(code, "USD · US Dollar") pairs; `keep` stays listed so a record's own code is always shown."""
    codes = set(current_codes(on)) | ({keep} if keep else set())
    ordered = [c for c in COMMON if c in codes] + sorted(codes - set(COMMON))
    return [(code, f"{code} · {locale.currencies.get(code, code)}") for code in ordered]
