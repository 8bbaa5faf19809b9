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
from dealdesk.web.api.dataverse.entities import RELATIONSHIPS, Attribute, Entity, Kind, currency_id
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
            if attribute.kind is Kind.LOOKUP:
                record[f"{attribute.property_name}@{NAVIGATION}"] = navigation_of(entity, attribute)
        if attribute.kind is Kind.LOOKUP and value is not None:
            record[f"{attribute.property_name}@{LOOKUP_NAME}"] = attribute.targets[0]
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


NAVIGATION: Final = "Microsoft.Dynamics.CRM.associatednavigationproperty"
LOOKUP_NAME: Final = "Microsoft.Dynamics.CRM.lookuplogicalname"


def navigation_of(entity: Entity, attribute: Attribute) -> str:
    """The single-valued navigation property behind a lookup: the relationship's, else the lookup's own name."""
    return next(
        (
            relationship.referencing_navigation
            for relationship in RELATIONSHIPS
            if relationship.referencing_entity == entity.logical_name
            and relationship.referencing_attribute == attribute.name
        ),
        attribute.name,
    )


def _formatted(attribute: Attribute, value: Any, row: Mapping[str, Any]) -> str | None:
    """Labels as Dataverse formats them for an English (United States) user.

    A lookup's label is the name of the record it refers to, with the annotations "Select columns using OData"
    (learn.microsoft.com/power-apps/developer/data-platform/webapi/query/select-columns, sections "Formatted values"
    and "Lookup property data") shows for `Prefer: odata.include-annotations="*"`: `_x_value@OData.Community.
    Display.V1.FormattedValue` (the name), `…@Microsoft.Dynamics.CRM.associatednavigationproperty` and
    `…@Microsoft.Dynamics.CRM.lookuplogicalname`. The name comes from the page's own statement (db/record_reads.py
    LABEL_SOURCES, joined), never a query per row."""
    if attribute.kind is Kind.LOOKUP and attribute.label is not None:
        name = row.get(attribute.label)
        return None if name is None else str(name)
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
