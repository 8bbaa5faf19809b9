"""The `transactioncurrencies` entity set: one record per current ISO 4217 currency, each with an id derived from
its code (SPEC §10), so `_transactioncurrencyid_value` on an opportunity or quote names the deal's currency and a
client can read its code, name and symbol (Web API reference: transactioncurrency EntityType). The list is Unicode
CLDR's (through Babel): the tender currencies in use in some territory today."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

from babel.core import get_global
from babel.numbers import get_currency_name, get_currency_symbol, get_territory_currencies

from dealdesk.web.api.dataverse.entities import currency_id


@cache
def current_codes() -> tuple[str, ...]:
    territories = get_global("territory_currencies").keys()
    codes = {code for territory in territories for code in get_territory_currencies(territory, date.today())}
    return tuple(sorted(code for code in codes if len(code) == 3 and code.isalpha() and code.isupper()))


@cache
def _ids() -> dict[UUID, str]:
    return {currency_id(code): code for code in current_codes()}


def code_of(currency: UUID) -> str | None:
    return _ids().get(currency)


def currency_record(code: str) -> dict[str, Any]:
    """A currency as the read model's sources (see entities.TRANSACTION_CURRENCY)."""
    return {
        "id": currency_id(code),
        "code": code,
        "name": get_currency_name(code, locale="en"),
        "symbol": get_currency_symbol(code, locale="en"),
    }


def all_records() -> list[dict[str, Any]]:
    return [currency_record(code) for code in current_codes()]
