"""Records as the Web API writes them ("Retrieve a table row", "Query data": JSON with `@odata.context`,
`@odata.etag`, lookups as `_<name>_value`, money and numbers as JSON numbers, option sets as their numbers), and the
links in them: absolute from DEALDESK_PUBLIC_URL when it is set, else relative to this server — never built from
the request's Host header (SPEC §10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from babel.numbers import format_currency, format_decimal

from dealdesk.web.api.dataverse.currencies import currency_record
from dealdesk.web.api.dataverse.entities import Attribute, Entity, Kind, currency_id
from dealdesk.web.api.dataverse.query import FORMATTED_VALUE

SERVICE_PATH: Final = "/api/data/v9.2"


@dataclass(frozen=True)
class Links:
    public_url: str | None

    @property
    def root(self) -> str:
        """The service root: `https://deals.example.com/api/data/v9.2` or, with no public URL, `/api/data/v9.2`."""
        return f"{self.public_url or ''}{SERVICE_PATH}"

    def context(self, fragment: str) -> str:
        return f"{self.root}/$metadata#{fragment}"

    def entity(self, entity: Entity, record_id: Any) -> str:
        return f"{self.root}/{entity.set_name}({record_id})"

    def next_page(self, entity: Entity, params: Mapping[str, str], token: str) -> str:
        kept = {name: value for name, value in params.items() if name != "$skiptoken"}
        return f"{self.root}/{entity.set_name}?{urlencode({**kept, '$skiptoken': token}, safe='$,()')}"


def etag(row: Mapping[str, Any]) -> str | None:
    version = row.get("version")
    return None if version is None else f'W/"{version}"'


def render(
    entity: Entity, row: Mapping[str, Any], columns: tuple[Attribute, ...], *, formatted: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    tag = etag(row)
    if tag is not None:
        record["@odata.etag"] = tag
    for attribute in columns:
        value = row.get(attribute.source)
        record[attribute.property_name] = _value(attribute, value)
        if formatted and value is not None:
            label = _formatted(attribute, value, row)
            if label is not None:
                record[f"{attribute.property_name}@{FORMATTED_VALUE}"] = label
        if attribute.kind is Kind.LOOKUP and value is not None:
            record[f"{attribute.property_name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = attribute.targets[0]
    key = entity.attributes[0]
    record.setdefault(key.property_name, _value(key, row.get(key.source)))  # Dataverse always answers with the key
    return record


def _value(attribute: Attribute, value: Any) -> Any:
    if value is None:
        return None
    if attribute.options:
        option = attribute.option_stored(str(value))
        return None if option is None else option.value
    if attribute.property_name == "_transactioncurrencyid_value":
        return str(currency_id(str(value)))
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | str | bool):
        return value
    return str(value)


def _formatted(attribute: Attribute, value: Any, row: Mapping[str, Any]) -> str | None:
    """Labels as Dataverse formats them for an English (United States) user."""
    if attribute.options:
        option = attribute.option_stored(str(value))
        return None if option is None else option.label
    if attribute.property_name == "_transactioncurrencyid_value":
        return str(currency_record(str(value))["name"])
    if attribute.kind is Kind.MONEY and isinstance(value, Decimal):
        return str(format_currency(value, str(row.get("currency") or "USD"), locale="en_US"))
    if attribute.kind in (Kind.INTEGER, Kind.BIGINT) and isinstance(value, int):
        return str(format_decimal(value, locale="en_US"))
    if isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year} {value:%I:%M %p}".replace(" 0", " ", 1)
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    return None
