"""Metadata the clients read on connect, generated from the entity description (entities.py): `EntityDefinitions`
with `$select`/`$filter`, one definition by `(LogicalName='…')` or by MetadataId, its `/Attributes` (also cast to
`Microsoft.Dynamics.CRM.PicklistAttributeMetadata` with `$expand=OptionSet`), `/Keys`,
`/OneToManyRelationships` and `/ManyToOneRelationships`.

Shapes follow "Query table definitions using the Web API" and "Web API metadata types" (learn.microsoft.com/
power-apps/developer/data-platform/webapi/query-metadata-web-api; …/reference/entitymetadata,
attributemetadata, picklistattributemetadata, onetomanyrelationshipmetadata, entitykeymetadata). These are small
fixed lists, so their `$filter` is evaluated in memory with the same parser as the entity sets'."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from dealdesk.web.api.dataverse import odata_filter as f
from dealdesk.web.api.dataverse.entities import BY_NAME, ENTITIES, RELATIONSHIPS, Attribute, Entity, Kind, metadata_id
from dealdesk.web.api.dataverse.envelope import DataverseFault
from dealdesk.web.api.dataverse.query import unsupported

_KEY: Final = re.compile(r"^(?:LogicalName='(?P<name>[a-z_]+)'|(?P<id>[0-9A-Fa-f-]{36}))$")

_METADATA_TYPES: Final = {
    Kind.UNIQUEIDENTIFIER: "UniqueIdentifierAttributeMetadata",
    Kind.STRING: "StringAttributeMetadata",
    Kind.MEMO: "MemoAttributeMetadata",
    Kind.MONEY: "MoneyAttributeMetadata",
    Kind.DATETIME: "DateTimeAttributeMetadata",
    Kind.DATEONLY: "DateTimeAttributeMetadata",
    Kind.INTEGER: "IntegerAttributeMetadata",
    Kind.BIGINT: "BigIntAttributeMetadata",
    Kind.STATE: "StateAttributeMetadata",
    Kind.STATUS: "StatusAttributeMetadata",
    Kind.LOOKUP: "LookupAttributeMetadata",
}
OPTION_SET_CASTS: Final = frozenset(
    {"PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata", "EnumAttributeMetadata"}
)
"""Casts that answer attributes with option sets. dealdesk's only option sets are the state and status reason,
so the picklist cast answers those too: that is what lets a client turn the label "Won" into 3 (a deliberate
difference from Dataverse, whose picklist cast lists Picklist attributes only)."""


def label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": True, "MetadataId": str(metadata_id("label", text))}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def entity_definition(entity: Entity) -> dict[str, Any]:
    return {
        "MetadataId": str(entity.metadata_id),
        "LogicalName": entity.logical_name,
        "SchemaName": entity.schema_name,
        "EntitySetName": entity.set_name,
        "LogicalCollectionName": entity.set_name,
        "CollectionSchemaName": entity.set_name.capitalize(),
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "PrimaryImageAttribute": None,
        "DisplayName": label(entity.display),
        "DisplayCollectionName": label(entity.display + "s"),
        "IsActivity": entity.is_activity,
        "IsCustomEntity": entity.logical_name.startswith("dd_"),
        "OwnershipType": "UserOwned" if entity.logical_name in ("opportunity", "quote") else "OrganizationOwned",
        "IsValidForAdvancedFind": True,
        "HasActivities": entity.logical_name == "opportunity",
    }


def attribute_definition(entity: Entity, attribute: Attribute, *, with_options: bool) -> dict[str, Any]:
    kind = _METADATA_TYPES[attribute.kind]
    definition: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}",
        "MetadataId": str(metadata_id(entity.logical_name, attribute.name)),
        "LogicalName": attribute.name,
        "SchemaName": attribute.name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attribute.kind.value if attribute.kind is not Kind.DATEONLY else "DateTime",
        "AttributeTypeName": {
            "Value": f"{attribute.kind.value if attribute.kind is not Kind.DATEONLY else 'DateTime'}Type"
        },
        "DisplayName": label(attribute.display),
        "IsPrimaryId": attribute.name == entity.primary_id,
        "IsPrimaryName": attribute.name == entity.primary_name,
        "IsValidForRead": True,
        "IsValidForCreate": False,
        "IsValidForUpdate": attribute.updatable,
        "IsCustomAttribute": attribute.name.startswith("dd_"),
        "RequiredLevel": {"Value": "None" if attribute.nullable else "SystemRequired"},
    }
    if attribute.max_length is not None:
        definition["MaxLength"] = attribute.max_length
    if attribute.targets:
        definition["Targets"] = list(attribute.targets)
    if attribute.kind is Kind.DATEONLY:
        definition["Format"] = "DateOnly"
        definition["DateTimeBehavior"] = {"Value": "DateOnly"}
    if attribute.kind is Kind.MONEY:
        definition["Precision"] = 2
    if attribute.options and with_options:
        options = []
        for value in dict.fromkeys(o.value for o in attribute.options):
            option = attribute.option(value)
            assert option is not None
            entry: dict[str, Any] = {"Value": option.value, "Label": label(option.label)}
            if attribute.kind is Kind.STATUS:
                entry["State"] = option.state
            options.append(entry)
        definition["OptionSet"] = {
            "MetadataId": str(metadata_id(entity.logical_name, attribute.name, "options")),
            "Name": f"{entity.logical_name}_{attribute.name}",
            "OptionSetType": attribute.kind.value,
            "Options": options,
        }
    return definition


def relationship_definition(index: int) -> dict[str, Any]:
    relationship = RELATIONSHIPS[index]
    referenced = BY_NAME[relationship.referenced_entity]
    return {
        "MetadataId": str(metadata_id("relationship", relationship.schema_name)),
        "SchemaName": relationship.schema_name,
        "RelationshipType": "OneToManyRelationship",
        "ReferencedEntity": relationship.referenced_entity,
        "ReferencedAttribute": referenced.primary_id,
        "ReferencingEntity": relationship.referencing_entity,
        "ReferencingAttribute": relationship.referencing_attribute,
        "ReferencedEntityNavigationPropertyName": relationship.referenced_navigation,
        "ReferencingEntityNavigationPropertyName": relationship.referencing_navigation,
        "IsCustomRelationship": relationship.schema_name.startswith("dd_"),
    }


# ---------------------------------------------------------------------------------------------- answering
def answer(root: str, segments: list[str], params: Mapping[str, str]) -> dict[str, Any]:
    """`segments` start after `EntityDefinitions`: [] for the set, [key], [key, "Attributes", …], …"""
    for name in params:
        if name not in ("$select", "$filter", "$expand"):
            raise unsupported(f"The query parameter '{name}' is not supported on table definitions.")
    context = f"{root}/$metadata#EntityDefinitions"
    if not segments:
        rows = [entity_definition(entity) for entity in ENTITIES]
        return {"@odata.context": context, "value": _shaped(_filtered(rows, params), params)}
    entity = _entity(segments[0])
    rest = segments[1:]
    if not rest:
        definition = entity_definition(entity)
        if "Attributes" in params.get("$expand", ""):
            definition["Attributes"] = [attribute_definition(entity, a, with_options=True) for a in entity.attributes]
        return {"@odata.context": f"{context}/$entity", **_shaped([definition], params)[0]}
    part, *tail = rest
    if part == "Attributes":
        return _attributes(context, entity, tail, params)
    if part == "Keys" and not tail:
        return {"@odata.context": f"{context}({entity.metadata_id})/Keys", "value": []}
    if part in ("OneToManyRelationships", "ManyToOneRelationships") and not tail:
        side = "referenced_entity" if part == "OneToManyRelationships" else "referencing_entity"
        rows = [
            relationship_definition(index)
            for index, relationship in enumerate(RELATIONSHIPS)
            if getattr(relationship, side) == entity.logical_name
        ]
        return {
            "@odata.context": f"{context}({entity.metadata_id})/{part}",
            "value": _shaped(_filtered(rows, params), params),
        }
    raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{part}'.")


def _entity(key: str) -> Entity:
    match = _KEY.match(key)
    if match is None:
        raise DataverseFault(400, "validation_error", f"'{key}' is not a valid key for EntityDefinitions.")
    for entity in ENTITIES:
        if entity.logical_name == match.group("name") or str(entity.metadata_id) == (match.group("id") or "").lower():
            return entity
    raise DataverseFault(
        404, "not_found", f"Could not find an entity with key {key}: dealdesk serves no table of that name."
    )


def _attributes(context: str, entity: Entity, tail: list[str], params: Mapping[str, str]) -> dict[str, Any]:
    attributes = list(entity.attributes)
    with_options = "OptionSet" in params.get("$expand", "") or "$select" not in params
    if tail and tail[0].startswith("Microsoft.Dynamics.CRM."):
        cast = tail[0].removeprefix("Microsoft.Dynamics.CRM.")
        if cast not in set(_METADATA_TYPES.values()) | OPTION_SET_CASTS:
            raise DataverseFault(404, "resource_not_found", f"Resource not found for the segment '{tail[0]}'.")
        if cast in OPTION_SET_CASTS:
            attributes = [a for a in attributes if a.options]
        else:
            attributes = [a for a in attributes if _METADATA_TYPES[a.kind] == cast]
        tail = tail[1:]
    if tail:
        match = _KEY.match(tail[0])
        found = [
            a
            for a in attributes
            if match is not None
            and (a.name == match.group("name") or str(metadata_id(entity.logical_name, a.name)) == match.group("id"))
        ]
        if not found:
            raise DataverseFault(404, "not_found", f"Could not find attribute {tail[0]} on {entity.logical_name}.")
        definition = attribute_definition(entity, found[0], with_options=True)
        return {
            "@odata.context": f"{context}({entity.metadata_id})/Attributes/$entity",
            **_shaped([definition], params)[0],
        }
    rows = [attribute_definition(entity, a, with_options=with_options) for a in attributes]
    return {
        "@odata.context": f"{context}({entity.metadata_id})/Attributes",
        "value": _shaped(_filtered(rows, params), params),
    }


def _shaped(rows: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """`$select` keeps the named properties (MetadataId and @odata.type always, as Dataverse does); an expanded
    OptionSet stays."""
    select = params.get("$select")
    if select is None:
        return rows
    names = {part.strip() for part in select.split(",") if part.strip()}
    keep = names | {"MetadataId", "@odata.type"}
    if "OptionSet" in params.get("$expand", ""):
        keep.add("OptionSet")
    return [{name: value for name, value in row.items() if name in keep} for row in rows]


def _filtered(rows: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    text = params.get("$filter")
    if text is None:
        return rows
    try:
        node = f.parse(text)
    except f.FilterError as error:
        raise unsupported(str(error)) from error
    return [row for row in rows if _holds(node, row)]


_TESTS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _holds(node: f.Node, row: Mapping[str, Any]) -> bool:
    match node:
        case f.And(left, right):
            return _holds(left, row) and _holds(right, row)
        case f.Or(left, right):
            return _holds(left, row) or _holds(right, row)
        case f.Not(operand):
            return not _holds(operand, row)
        case f.Call(function, prop, text):
            found = str(row.get(prop.name) or "")
            return bool(
                {"contains": text in found, "startswith": found.startswith(text)}.get(function, found.endswith(text))
            )
        case f.Comparison(op, prop, literal):
            value = row.get(prop.name)
            if isinstance(value, dict) and "Value" in value:  # e.g. AttributeTypeName/Value read as its value
                value = value["Value"]
            target = str(literal.value) if isinstance(value, str) and literal.value is not None else literal.value
            if value is None or target is None:
                return (value is None and target is None) == (op == "eq")
            try:
                return bool(_TESTS[op](value, target))
            except TypeError:
                return False
    return False
