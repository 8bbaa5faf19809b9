"""Query options of a collection read — `$select`, `$filter`, `$orderby`, `$top`, `$count`, `$skiptoken` and the
`Prefer` header — resolved against the entity description into a services.record_queries.RecordQuery.

Follows "Query data using the Web API" and its pages "Select columns", "Filter rows", "Order rows" and "Page results"
(learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview): `Prefer: odata.maxpagesize=n` sets
the page size (default and maximum 5,000), `@odata.nextLink` carries an opaque `$skiptoken`, `$top` limits the whole
result (no next page then), `$count=true` adds `@odata.count`. An option dealdesk does not support (`$expand`,
`$apply`, `$skip`, `$search`, `fetchXml`, …) is a 400, never silently ignored (SPEC §10)."""

from __future__ import annotations

import base64
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from uuid import UUID

from dealdesk.services.record_queries import (
    AllOf,
    AnyOf,
    Compare,
    Comparison,
    Condition,
    Matches,
    NoneOf,
    OneOf,
    RecordQuery,
    SortKey,
)
from dealdesk.web.api.dataverse import odata_filter as f
from dealdesk.web.api.dataverse.currencies import code_of
from dealdesk.web.api.dataverse.entities import EDM_TYPES, Attribute, Entity, Kind
from dealdesk.web.api.dataverse.envelope import DataverseFault

MAX_PAGE: Final = 5000
FORMATTED_VALUE: Final = "OData.Community.Display.V1.FormattedValue"
COLLECTION_OPTIONS: Final = frozenset({"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken"})
ENTITY_OPTIONS: Final = frozenset({"$select"})


def unsupported(message: str) -> DataverseFault:
    return DataverseFault(400, "unsupported_query", message)


def check_options(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed:
            if name.startswith("$") or name in ("fetchXml", "savedQuery", "userQuery"):
                raise unsupported(f"The query parameter '{name}' is not supported by dealdesk on this resource.")
            raise unsupported(f"The query parameter '{name}' is not supported.")


# ---------------------------------------------------------------------------------------------- Prefer
@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None
    annotations: str | None = None
    """The odata.include-annotations pattern asked for, when it includes FormattedValue."""
    return_representation: bool = False
    continue_on_error: bool = False

    def applied(self) -> str | None:
        """The Preference-Applied header (RFC 7240) for what this answer honoured."""
        parts = []
        if self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        if self.annotations is not None:
            parts.append(f'odata.include-annotations="{self.annotations}"')
        return ",".join(parts) or None


def preferences(header: str | None) -> Preferences:
    """`Prefer: odata.maxpagesize=10, odata.include-annotations="*"` (comma-separated, RFC 7240)."""
    values: dict[str, Any] = {}
    for item in _split_preferences(header or ""):
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "odata.maxpagesize":
            if not value.isdigit() or not int(value) > 0:
                raise DataverseFault(
                    400, "validation_error", f"Invalid Prefer header value 'odata.maxpagesize={value}'."
                )
            values["max_page_size"] = min(int(value), MAX_PAGE)
        elif name == "odata.include-annotations" and _wants_formatted(value):
            values["annotations"] = value
        elif name == "return" and value == "representation":
            values["return_representation"] = True
        elif name == "odata.continue-on-error":
            values["continue_on_error"] = True
    return Preferences(**values)


def _split_preferences(header: str) -> list[str]:
    """Commas separate preferences, except inside a quoted value."""
    items, current, quoted = [], "", False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item for item in items if item.strip()]


def _wants_formatted(pattern: str) -> bool:
    return any(
        part.strip() in ("*", FORMATTED_VALUE, "OData.Community.Display.V1.*", "OData.Community.*")
        for part in pattern.split(",")
    )


# ---------------------------------------------------------------------------------------------- $select
def selected(entity: Entity, select: str | None) -> tuple[Attribute, ...]:
    if select is None:
        return entity.attributes
    chosen: list[Attribute] = []
    for name in (part.strip() for part in select.split(",")):
        attribute = entity.attribute(name)
        if attribute is None:
            raise DataverseFault(
                400,
                "validation_error",
                f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
            )
        if attribute not in chosen:
            chosen.append(attribute)
    return tuple(chosen)


# ---------------------------------------------------------------------------------------------- $filter
def condition(entity: Entity, text: str) -> Condition:
    try:
        node = f.parse(text)
    except f.FilterError as error:
        raise unsupported(str(error)) from error
    return _resolve(entity, node)


def _attribute(entity: Entity, prop: f.Property) -> Attribute:
    attribute = entity.attribute(prop.name)
    if attribute is None:
        raise DataverseFault(
            400,
            "validation_error",
            f"Could not find a property named '{prop.name}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
        )
    return attribute


def _resolve(entity: Entity, node: f.Node) -> Condition:
    match node:
        case f.And(left, right):
            return AllOf((_resolve(entity, left), _resolve(entity, right)))
        case f.Or(left, right):
            return AnyOf((_resolve(entity, left), _resolve(entity, right)))
        case f.Not(operand):
            return NoneOf(_resolve(entity, operand))
        case f.Call(function, prop, text):
            attribute = _attribute(entity, prop)
            if attribute.kind not in (Kind.STRING, Kind.MEMO):
                raise unsupported(f"The function '{function}' applies to text columns; '{prop.name}' is not text.")
            return Matches(attribute.source, function, text)  # type: ignore[arg-type]
        case f.Comparison(op, prop, literal):
            return _comparison(entity, _attribute(entity, prop), op, literal)
    raise unsupported("This $filter expression is not supported.")  # pragma: no cover - the parser makes no other


_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_OPERATOR_NAMES: Final = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


def _comparison(entity: Entity, attribute: Attribute, op: str, literal: f.Literal) -> Condition:
    comparison: Comparison = op  # type: ignore[assignment]
    if literal.value is None:
        if op not in ("eq", "ne"):
            raise unsupported(f"'{attribute.property_name} {op} null' is not a valid comparison.")
        return Compare(attribute.source, comparison, None)
    if attribute.options:
        if not isinstance(literal.value, int) or isinstance(literal.value, bool):
            raise _incompatible(attribute, literal, op)
        test = _OPERATORS[op]
        return OneOf(
            attribute.source,
            tuple(dict.fromkeys(o.stored for o in attribute.options if test(o.value, literal.value))),
        )
    value = typed_value(attribute, literal)
    if attribute.property_name == "_transactioncurrencyid_value":
        if op not in ("eq", "ne"):
            raise unsupported("A currency can only be compared with eq or ne.")
        code = code_of(value)
        if code is None:
            return Compare(attribute.source, comparison, "") if op == "ne" else OneOf(attribute.source, ())
        return Compare(attribute.source, comparison, code)
    return Compare(attribute.source, comparison, value)


def _incompatible(attribute: Attribute, literal: f.Literal, op: str) -> DataverseFault:
    return DataverseFault(
        400,
        "validation_error",
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{EDM_TYPES[attribute.kind]}' and '{literal.edm}' for operator kind '{_OPERATOR_NAMES[op]}'.",
    )


def typed_value(attribute: Attribute, literal: f.Literal) -> Any:
    """The literal as the attribute's Python value, or a 400 when the types do not fit."""
    value, kind = literal.value, attribute.kind
    if kind in (Kind.UNIQUEIDENTIFIER, Kind.LOOKUP) and isinstance(value, UUID):
        return value
    if kind in (Kind.STRING, Kind.MEMO) and isinstance(value, str):
        return value
    if kind is Kind.MONEY and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    if kind in (Kind.INTEGER, Kind.BIGINT) and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is Kind.DATEONLY and isinstance(value, date) and not isinstance(value, datetime):
        return value
    if kind is Kind.DATETIME and isinstance(value, datetime):
        return value
    if kind is Kind.DATETIME and isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise _incompatible(attribute, literal, "eq")


# ---------------------------------------------------------------------------------------------- $orderby
def ordering(entity: Entity, orderby: str | None) -> tuple[SortKey, ...]:
    if orderby is None:
        return tuple(SortKey(source, descending) for source, descending in entity.default_order)
    keys: list[SortKey] = []
    for part in orderby.split(","):
        words = part.split()
        if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise unsupported(f"'{part.strip()}' is not a valid $orderby item: use '<property> [asc|desc]'.")
        attribute = entity.attribute(words[0])
        if attribute is None:
            raise DataverseFault(
                400,
                "validation_error",
                f"Could not find a property named '{words[0]}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
            )
        keys.append(SortKey(attribute.source, len(words) == 2 and words[1] == "desc"))
    return tuple(keys)


# ---------------------------------------------------------------------------------------------- paging
def skiptoken(values: tuple[Any, ...]) -> str:
    """The opaque token of a page's last row: its sort values and id, typed so they read back exactly."""
    encoded = [_encode(value) for value in values]
    return base64.urlsafe_b64encode(json.dumps(encoded, separators=(",", ":")).encode()).decode().rstrip("=")


def after(token: str, length: int) -> tuple[Any, ...]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(raw, list) or len(raw) != length:
            raise ValueError("wrong length")
        return tuple(_decode(item) for item in raw)
    except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
        raise DataverseFault(400, "validation_error", "The $skiptoken is not one this server gave out.") from exc


def _encode(value: Any) -> list[Any]:
    if value is None:
        return ["n", None]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, UUID):
        return ["u", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["D", value.isoformat()]
    return ["s", str(value)]


def _decode(item: Any) -> Any:
    tag, value = item
    readers: dict[str, Callable[[Any], Any]] = {
        "n": lambda _: None,
        "b": bool,
        "i": int,
        "d": Decimal,
        "u": UUID,
        "t": lambda text: datetime.fromisoformat(text).astimezone(UTC),
        "D": date.fromisoformat,
        "s": str,
    }
    if tag == "i" and (not isinstance(value, int) or not -(2**63) <= value < 2**63):
        raise ValueError("integer out of range")
    if tag == "d" and not Decimal(value).is_finite():
        raise ValueError("not a finite number")
    return readers[tag](value)


@dataclass(frozen=True)
class CollectionRequest:
    query: RecordQuery
    columns: tuple[Attribute, ...]
    select: str | None
    page_size: int
    top: int | None


def collection_request(entity: Entity, params: Mapping[str, str], prefer: Preferences) -> CollectionRequest:
    check_options(params, COLLECTION_OPTIONS)
    columns = selected(entity, params.get("$select"))
    where = condition(entity, params["$filter"]) if "$filter" in params else None
    order = ordering(entity, params.get("$orderby"))
    top = None
    if "$top" in params:
        text = params["$top"]
        if not text.isdigit() or int(text) > 2**31:
            raise DataverseFault(400, "validation_error", f"Invalid value '{text}' for $top query option.")
        top = int(text)
    count = params.get("$count", "false")
    if count not in ("true", "false"):
        raise DataverseFault(400, "validation_error", f"Invalid value '{count}' for $count query option.")
    page_size = min(prefer.max_page_size or MAX_PAGE, MAX_PAGE)
    if top is not None:
        page_size = min(page_size, top) if prefer.max_page_size is None else min(top, MAX_PAGE)
    last = after(params["$skiptoken"], len(order) + 1) if "$skiptoken" in params else None
    if last is not None and top is not None:
        raise unsupported("$skiptoken cannot be combined with $top.")
    query = RecordQuery(
        kind=entity.record_kind,  # type: ignore[arg-type]
        where=where,
        order=order,
        limit=page_size,
        after=last,
        count=count == "true",
    )
    return CollectionRequest(query=query, columns=columns, select=params.get("$select"), page_size=page_size, top=top)


# ---------------------------------------------------------------------------------------------- in memory
def matches_in_memory(entity: Entity, node: Condition, row: Mapping[str, Any]) -> bool:
    """The same conditions over a record held in memory (metadata and currencies: small fixed lists, no table)."""
    match node:
        case AllOf(parts):
            return all(matches_in_memory(entity, part, row) for part in parts)
        case AnyOf(parts):
            return any(matches_in_memory(entity, part, row) for part in parts)
        case NoneOf(part):
            return not matches_in_memory(entity, part, row)
        case OneOf(source, values):
            return row.get(source) in values
        case Matches(source, how, text):
            value = str(row.get(source) or "").lower()
            return {"contains": text.lower() in value, "startswith": value.startswith(text.lower())}.get(
                how, value.endswith(text.lower())
            )
        case Compare(source, op, value):
            current = row.get(source)
            if value is None or current is None:
                return (current is None) == (value is None) if op == "eq" else (current is None) != (value is None)
            if isinstance(current, str) and isinstance(value, str):
                current, value = current.lower(), value.lower()
            return bool(_OPERATORS[op](current, value))
    return False  # pragma: no cover
