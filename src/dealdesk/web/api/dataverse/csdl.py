"""`$metadata`: the CSDL XML document (OData 4.0 CSDL, as "Web API service documents" describes Dataverse's,
learn.microsoft.com/power-apps/developer/data-platform/webapi/web-api-service-documents), generated from the
entity description, so it names exactly the sets, properties and actions dealdesk serves. Namespace
Microsoft.Dynamics.CRM and alias mscrm, as in Dataverse."""

from __future__ import annotations

from functools import cache
from typing import Final
from xml.sax.saxutils import quoteattr

from dealdesk.web.api.dataverse.entities import EDM_TYPES, ENTITIES, Entity, Kind

NAMESPACE: Final = "Microsoft.Dynamics.CRM"

_ACTIONS: Final = """
      <ComplexType Name="WhoAmIResponse">
        <Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false" />
        <Property Name="UserId" Type="Edm.Guid" Nullable="false" />
        <Property Name="OrganizationId" Type="Edm.Guid" Nullable="false" />
      </ComplexType>
      <ComplexType Name="ColumnSet">
        <Property Name="AllColumns" Type="Edm.Boolean" Nullable="false" />
        <Property Name="Columns" Type="Collection(Edm.String)" />
      </ComplexType>
      <ComplexType Name="msdyn_CloseQuoteAsWonResponse" />
      <ComplexType Name="msdyn_CloseQuoteAsLostResponse" />
      <Function Name="WhoAmI">
        <ReturnType Type="mscrm.WhoAmIResponse" Nullable="false" />
      </Function>
      <Action Name="WinOpportunity">
        <Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
      </Action>
      <Action Name="LoseOpportunity">
        <Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
      </Action>
      <Action Name="WinQuote">
        <Parameter Name="QuoteClose" Type="mscrm.quoteclose" Nullable="false" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
      </Action>
      <Action Name="CloseQuote">
        <Parameter Name="QuoteClose" Type="mscrm.quoteclose" Nullable="false" />
        <Parameter Name="Status" Type="Edm.Int32" Nullable="false" />
      </Action>
      <Action Name="ReviseQuote">
        <Parameter Name="QuoteId" Type="Edm.Guid" Nullable="false" />
        <Parameter Name="ColumnSet" Type="mscrm.ColumnSet" />
        <ReturnType Type="mscrm.quote" Nullable="false" />
      </Action>
      <Action Name="msdyn_CloseQuoteAsWon" IsBound="true">
        <Parameter Name="entity" Type="mscrm.quote" Nullable="false" />
        <ReturnType Type="mscrm.msdyn_CloseQuoteAsWonResponse" Nullable="false" />
      </Action>
      <Action Name="msdyn_CloseQuoteAsLost" IsBound="true">
        <Parameter Name="entity" Type="mscrm.quote" Nullable="false" />
        <ReturnType Type="mscrm.msdyn_CloseQuoteAsLostResponse" Nullable="false" />
      </Action>"""


def _entity_type(entity: Entity) -> str:
    lines = [f"      <EntityType Name={quoteattr(entity.logical_name)}>"]
    lines.append(f'        <Key><PropertyRef Name="{entity.primary_id}" /></Key>')
    for attribute in entity.attributes:
        nullable = "" if attribute.nullable else ' Nullable="false"'
        name, edm = quoteattr(attribute.property_name), EDM_TYPES[attribute.kind]
        lines.append(f'        <Property Name={name} Type="{edm}"{nullable} />')
    for attribute in entity.attributes:
        if attribute.kind is Kind.LOOKUP and attribute.targets[0] in {e.logical_name for e in ENTITIES}:
            name = attribute.name
            lines.append(
                f'        <NavigationProperty Name={quoteattr(name)} Type="mscrm.{attribute.targets[0]}">'
                f'<ReferentialConstraint Property="{attribute.property_name}" ReferencedProperty='
                f'"{_primary_id(attribute.targets[0])}" /></NavigationProperty>'
            )
    lines.append("      </EntityType>")
    return "\n".join(lines)


def _primary_id(logical_name: str) -> str:
    return next(e.primary_id for e in ENTITIES if e.logical_name == logical_name)


@cache
def document() -> str:
    types = "\n".join(_entity_type(entity) for entity in ENTITIES)
    sets = "\n".join(
        f'        <EntitySet Name="{entity.set_name}" EntityType="mscrm.{entity.logical_name}" />'
        for entity in ENTITIES
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="{NAMESPACE}" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">
{types}{_ACTIONS}
      <EntityContainer Name="System">
{sets}
        <FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI" />
        <ActionImport Name="WinOpportunity" Action="mscrm.WinOpportunity" />
        <ActionImport Name="LoseOpportunity" Action="mscrm.LoseOpportunity" />
        <ActionImport Name="WinQuote" Action="mscrm.WinQuote" />
        <ActionImport Name="CloseQuote" Action="mscrm.CloseQuote" />
        <ActionImport Name="ReviseQuote" Action="mscrm.ReviseQuote" />
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""
