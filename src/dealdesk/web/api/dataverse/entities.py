"""The one description of the entities dealdesk serves under /api/data/v9.2/: entity sets, attributes with their
types, option sets, keys and relationships. `$metadata` (csdl.py), `EntityDefinitions` (definitions.py), `$select`,
`$filter` and `$orderby` (query.py) and the records themselves (records.py) are all read from here, so they cannot
disagree.

Names, types and option values follow Microsoft's Web API entity reference pages: opportunity
(learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/opportunity), quote, opportunityclose,
quoteclose, account, competitor and transactioncurrency; the state and status numbers are SPEC §3's. Each attribute
names the `source` of its value in dealdesk's read model (db/record_reads.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid5

NAMESPACE: Final = UUID("8f1b0f3e-3c55-4d6c-9a53-6a1d2b7c9e40")
"""Metadata ids (MetadataId) are derived from names under this namespace: stable across servers and restarts."""


def metadata_id(*names: str) -> UUID:
    return uuid5(NAMESPACE, "/".join(names))


class Kind(StrEnum):
    """An attribute's type, as Dataverse's AttributeTypeName (Edm type in `$metadata`)."""

    UNIQUEIDENTIFIER = "Uniqueidentifier"
    STRING = "String"
    MEMO = "Memo"
    MONEY = "Money"
    DATETIME = "DateTime"
    DATEONLY = "DateOnly"
    INTEGER = "Integer"
    BIGINT = "BigInt"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"


EDM_TYPES: Final = {
    Kind.UNIQUEIDENTIFIER: "Edm.Guid",
    Kind.STRING: "Edm.String",
    Kind.MEMO: "Edm.String",
    Kind.MONEY: "Edm.Decimal",
    Kind.DATETIME: "Edm.DateTimeOffset",
    Kind.DATEONLY: "Edm.Date",
    Kind.INTEGER: "Edm.Int32",
    Kind.BIGINT: "Edm.Int64",
    Kind.STATE: "Edm.Int32",
    Kind.STATUS: "Edm.Int32",
    Kind.LOOKUP: "Edm.Guid",
}


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    stored: str
    """What dealdesk stores for it."""
    state: int | None = None
    """For a status reason: the state it belongs to."""


@dataclass(frozen=True)
class Attribute:
    name: str
    """Logical name; a lookup's value appears in records as `_<name>_value`."""
    kind: Kind
    source: str
    display: str
    options: tuple[Option, ...] = ()
    targets: tuple[str, ...] = ()
    """A lookup's target entities (logical names)."""
    max_length: int | None = None
    nullable: bool = True
    updatable: bool = False
    """May be set by `PATCH` on the entity set."""
    label: str | None = None
    """A lookup's: the source of the referenced record's name, its FormattedValue (db/record_reads.LABEL_SOURCES)."""

    @property
    def property_name(self) -> str:
        """The name in records, `$select` and `$filter`: lookups read as `_<name>_value` (Web API convention)."""
        return f"_{self.name}_value" if self.kind is Kind.LOOKUP else self.name

    def option(self, value: int) -> Option | None:
        return next((option for option in self.options if option.value == value), None)

    def option_stored(self, stored: str) -> Option | None:
        return next((option for option in self.options if option.stored == stored), None)


@dataclass(frozen=True)
class Relationship:
    """A one-to-many relationship, as RelationshipDefinitions describes it."""

    schema_name: str
    referenced_entity: str
    referencing_entity: str
    referencing_attribute: str
    referenced_navigation: str
    """The collection-valued navigation property on the referenced (one) side."""
    referencing_navigation: str
    """The single-valued navigation property on the referencing (many) side."""


@dataclass(frozen=True)
class Entity:
    logical_name: str
    set_name: str
    display: str
    primary_id: str
    primary_name: str
    record_kind: str
    """The read model's kind (services/record_queries.RecordKind), or "" when the set is not backed by a table."""
    attributes: tuple[Attribute, ...]
    is_activity: bool = False
    default_order: tuple[tuple[str, bool], ...] = ()
    updatable: bool = False
    keys: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    """Alternate keys (SchemaName, KeyAttributes): dealdesk defines none."""

    @property
    def metadata_id(self) -> UUID:
        return metadata_id(self.logical_name)

    @property
    def schema_name(self) -> str:
        return self.logical_name.capitalize() if not self.logical_name.startswith("dd_") else self.logical_name

    def attribute(self, property_name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.property_name == property_name), None)

    @property
    def property_names(self) -> tuple[str, ...]:
        return tuple(a.property_name for a in self.attributes)


def _state_options(*options: tuple[int, str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label, stored) for value, label, stored in options)


def _status_options(*options: tuple[int, str, str, int]) -> tuple[Option, ...]:
    return tuple(Option(value, label, stored, state) for value, label, stored, state in options)


OPPORTUNITY_STATES: Final = _state_options((0, "Open", "open"), (1, "Won", "won"), (2, "Lost", "lost"))
OPPORTUNITY_STATUSES: Final = _status_options(
    (1, "In Progress", "in_progress", 0),
    (2, "On Hold", "on_hold", 0),
    (3, "Won", "won", 1),
    (4, "Canceled", "canceled", 2),
    (5, "Out-Sold", "out_sold", 2),
)
QUOTE_STATES: Final = _state_options(
    (0, "Draft", "draft"), (1, "Active", "active"), (2, "Won", "won"), (3, "Closed", "closed")
)
QUOTE_STATUSES: Final = _status_options(
    (1, "In Progress", "in_progress", 0),
    (3, "Open", "open", 1),
    (4, "Won", "won", 2),
    (5, "Lost", "lost", 3),
    (6, "Canceled", "canceled", 3),
    (7, "Revised", "revised", 3),
)
ACTIVITY_STATES: Final = _state_options((1, "Completed", "standing"), (2, "Canceled", "reopened"))
"""An opportunity close activity is completed when written and canceled when the opportunity is reopened."""
OPPORTUNITY_CLOSE_STATUSES: Final = _status_options((2, "Completed", "standing", 1), (3, "Canceled", "reopened", 2))
QUOTE_CLOSE_STATES: Final = _state_options((1, "Completed", "won"), (1, "Completed", "closed"))
QUOTE_CLOSE_STATUSES: Final = _status_options((2, "Completed", "won", 1), (2, "Completed", "closed", 1))


def _stamps() -> tuple[Attribute, ...]:
    return (
        Attribute("createdon", Kind.DATETIME, "created_at", "Created On", nullable=False),
        Attribute("modifiedon", Kind.DATETIME, "updated_at", "Modified On", nullable=False),
    )


def _owner() -> Attribute:
    return Attribute("ownerid", Kind.LOOKUP, "owner_id", "Owner", targets=("systemuser",), label="owner_name")


def _currency() -> Attribute:
    return Attribute("transactioncurrencyid", Kind.LOOKUP, "currency", "Currency", targets=("transactioncurrency",))


OPPORTUNITY: Final = Entity(
    logical_name="opportunity",
    set_name="opportunities",
    display="Opportunity",
    primary_id="opportunityid",
    primary_name="name",
    record_kind="opportunity",
    updatable=True,
    default_order=(("created_at", True),),
    attributes=(
        Attribute("opportunityid", Kind.UNIQUEIDENTIFIER, "id", "Opportunity", nullable=False),
        Attribute("name", Kind.STRING, "name", "Topic", max_length=300, nullable=False, updatable=True),
        Attribute("description", Kind.MEMO, "description", "Description", max_length=2000, updatable=True),
        Attribute("estimatedvalue", Kind.MONEY, "estimated_revenue", "Est. Revenue", nullable=False, updatable=True),
        Attribute("estimatedclosedate", Kind.DATEONLY, "estimated_close_date", "Est. Close Date", updatable=True),
        Attribute("actualvalue", Kind.MONEY, "actual_revenue", "Actual Revenue"),
        Attribute("actualclosedate", Kind.DATEONLY, "actual_close_date", "Actual Close Date"),
        Attribute("statecode", Kind.STATE, "state", "Status", OPPORTUNITY_STATES, nullable=False, updatable=True),
        Attribute(
            "statuscode",
            Kind.STATUS,
            "status_reason",
            "Status Reason",
            OPPORTUNITY_STATUSES,
            nullable=False,
            updatable=True,
        ),
        Attribute("parentaccountid", Kind.LOOKUP, "account_id", "Account", targets=("account",), label="account_name"),
        Attribute(
            "customerid", Kind.LOOKUP, "account_id", "Potential Customer", targets=("account",), label="account_name"
        ),
        _owner(),
        _currency(),
        *_stamps(),
        Attribute("versionnumber", Kind.BIGINT, "version", "Version Number", nullable=False),
    ),
)

QUOTE: Final = Entity(
    logical_name="quote",
    set_name="quotes",
    display="Quote",
    primary_id="quoteid",
    primary_name="name",
    record_kind="quote",
    default_order=(("created_at", True),),
    attributes=(
        Attribute("quoteid", Kind.UNIQUEIDENTIFIER, "id", "Quote", nullable=False),
        Attribute("name", Kind.STRING, "name", "Name", max_length=300, nullable=False),
        Attribute("quotenumber", Kind.STRING, "number", "Quote ID", max_length=20, nullable=False),
        Attribute("revisionnumber", Kind.INTEGER, "revision", "Revision ID", nullable=False),
        Attribute("statecode", Kind.STATE, "state", "Status", QUOTE_STATES, nullable=False),
        Attribute("statuscode", Kind.STATUS, "status_reason", "Status Reason", QUOTE_STATUSES, nullable=False),
        Attribute("totalamount", Kind.MONEY, "total_amount", "Total Amount", nullable=False),
        Attribute("effectiveto", Kind.DATEONLY, "valid_until", "Effective To"),
        Attribute("closedon", Kind.DATEONLY, "closed_on", "Closed On"),
        Attribute(
            "opportunityid",
            Kind.LOOKUP,
            "opportunity_id",
            "Opportunity",
            targets=("opportunity",),
            label="opportunity_name",
        ),
        _currency(),
        *_stamps(),
        Attribute("versionnumber", Kind.BIGINT, "version", "Version Number", nullable=False),
    ),
)

OPPORTUNITY_CLOSE: Final = Entity(
    logical_name="opportunityclose",
    set_name="opportunitycloses",
    display="Opportunity Close",
    primary_id="activityid",
    primary_name="subject",
    record_kind="opportunityclose",
    is_activity=True,
    default_order=(("closed_at", True),),
    attributes=(
        Attribute("activityid", Kind.UNIQUEIDENTIFIER, "id", "Opportunity Close", nullable=False),
        Attribute("subject", Kind.STRING, "subject", "Subject", max_length=200),
        Attribute(
            "opportunityid",
            Kind.LOOKUP,
            "opportunity_id",
            "Opportunity",
            targets=("opportunity",),
            label="opportunity_name",
        ),
        Attribute("actualend", Kind.DATEONLY, "close_date", "Actual End"),
        Attribute("actualrevenue", Kind.MONEY, "actual_revenue", "Actual Revenue"),
        Attribute(
            "competitorid", Kind.LOOKUP, "competitor_id", "Competitor", targets=("competitor",), label="competitor_name"
        ),
        Attribute(
            "dd_closereasonid",
            Kind.LOOKUP,
            "close_reason_id",
            "Close Reason Detail",
            targets=("dd_closereason",),
            label="close_reason_name",
        ),
        Attribute("description", Kind.MEMO, "description", "Description", max_length=2000),
        Attribute("statecode", Kind.STATE, "standing", "Activity Status", ACTIVITY_STATES, nullable=False),
        Attribute("statuscode", Kind.STATUS, "standing", "Status Reason", OPPORTUNITY_CLOSE_STATUSES, nullable=False),
        _owner(),
        _currency(),
        Attribute("createdon", Kind.DATETIME, "closed_at", "Created On", nullable=False),
    ),
)

QUOTE_CLOSE: Final = Entity(
    logical_name="quoteclose",
    set_name="quotecloses",
    display="Quote Close",
    primary_id="activityid",
    primary_name="subject",
    record_kind="quoteclose",
    is_activity=True,
    default_order=(("updated_at", True),),
    attributes=(
        Attribute("activityid", Kind.UNIQUEIDENTIFIER, "id", "Quote Close", nullable=False),
        Attribute("quoteid", Kind.LOOKUP, "id", "Quote", targets=("quote",), label="quote_name"),
        Attribute("actualend", Kind.DATEONLY, "closed_on", "Actual End"),
        Attribute("description", Kind.MEMO, "close_description", "Description", max_length=2000),
        # Dataverse's quoteclose has no competitor or reason detail: dealdesk's own, read-only (SPEC §11).
        Attribute("dd_competitorid", Kind.LOOKUP, "competitor_id", "Lost To Competitor", targets=("competitor",)),
        Attribute(
            "dd_closereasonid", Kind.LOOKUP, "close_reason_id", "Close Reason Detail", targets=("dd_closereason",)
        ),
        Attribute("statecode", Kind.STATE, "state", "Activity Status", QUOTE_CLOSE_STATES, nullable=False),
        Attribute("statuscode", Kind.STATUS, "state", "Status Reason", QUOTE_CLOSE_STATUSES, nullable=False),
        _currency(),
        Attribute("modifiedon", Kind.DATETIME, "updated_at", "Modified On", nullable=False),
    ),
)

ACCOUNT: Final = Entity(
    logical_name="account",
    set_name="accounts",
    display="Account",
    primary_id="accountid",
    primary_name="name",
    record_kind="account",
    default_order=(("name", False),),
    attributes=(
        Attribute("accountid", Kind.UNIQUEIDENTIFIER, "id", "Account", nullable=False),
        Attribute("name", Kind.STRING, "name", "Account Name", max_length=160, nullable=False),
        *_stamps(),
    ),
)

COMPETITOR: Final = Entity(
    logical_name="competitor",
    set_name="competitors",
    display="Competitor",
    primary_id="competitorid",
    primary_name="name",
    record_kind="competitor",
    default_order=(("name", False),),
    attributes=(
        Attribute("competitorid", Kind.UNIQUEIDENTIFIER, "id", "Competitor", nullable=False),
        Attribute("name", Kind.STRING, "name", "Name", max_length=160, nullable=False),
        *_stamps(),
    ),
)

CLOSE_REASON: Final = Entity(
    logical_name="dd_closereason",
    set_name="dd_closereasons",
    display="Close Reason Detail",
    primary_id="dd_closereasonid",
    primary_name="dd_name",
    record_kind="closereason",
    default_order=(("name", False),),
    attributes=(
        Attribute("dd_closereasonid", Kind.UNIQUEIDENTIFIER, "id", "Close Reason Detail", nullable=False),
        Attribute("dd_name", Kind.STRING, "name", "Name", max_length=160, nullable=False),
        Attribute("dd_outcome", Kind.STRING, "outcome", "Outcome (won or lost)", max_length=8, nullable=False),
        *_stamps(),
    ),
)
"""dealdesk's own catalogue of reason detail under a status reason (SPEC §2), with the `dd_` prefix Dataverse
gives a publisher's own tables."""

TRANSACTION_CURRENCY: Final = Entity(
    logical_name="transactioncurrency",
    set_name="transactioncurrencies",
    display="Currency",
    primary_id="transactioncurrencyid",
    primary_name="currencyname",
    record_kind="",
    attributes=(
        Attribute("transactioncurrencyid", Kind.UNIQUEIDENTIFIER, "id", "Currency", nullable=False),
        Attribute("isocurrencycode", Kind.STRING, "code", "Currency Code", max_length=5, nullable=False),
        Attribute("currencyname", Kind.STRING, "name", "Currency Name", max_length=100, nullable=False),
        Attribute("currencysymbol", Kind.STRING, "symbol", "Currency Symbol", max_length=10, nullable=False),
    ),
)

ENTITIES: Final = (
    OPPORTUNITY,
    QUOTE,
    OPPORTUNITY_CLOSE,
    QUOTE_CLOSE,
    ACCOUNT,
    COMPETITOR,
    CLOSE_REASON,
    TRANSACTION_CURRENCY,
)
BY_SET: Final = {entity.set_name: entity for entity in ENTITIES}
BY_NAME: Final = {entity.logical_name: entity for entity in ENTITIES}

RELATIONSHIPS: Final = (
    Relationship(
        "opportunity_customer_accounts",
        "account",
        "opportunity",
        "customerid",
        "opportunity_customer_accounts",
        "customerid_account",
    ),
    Relationship(
        "opportunity_parent_account",
        "account",
        "opportunity",
        "parentaccountid",
        "opportunity_parent_account",
        "parentaccountid",
    ),
    Relationship("opportunity_quotes", "opportunity", "quote", "opportunityid", "opportunity_quotes", "opportunityid"),
    Relationship(
        "opportunity_OpportunityClose",
        "opportunity",
        "opportunityclose",
        "opportunityid",
        "Opportunity_OpportunityClose",
        "opportunityid",
    ),
    Relationship(
        "competitor_opportunity_activities",
        "competitor",
        "opportunityclose",
        "competitorid",
        "competitor_opportunity_activities",
        "competitorid",
    ),
    Relationship(
        "dd_closereason_opportunityclose",
        "dd_closereason",
        "opportunityclose",
        "dd_closereasonid",
        "dd_closereason_opportunityclose",
        "dd_closereasonid",
    ),
    Relationship("Quote_QuoteClose", "quote", "quoteclose", "quoteid", "Quote_QuoteClose", "quoteid"),
    Relationship(
        "transactioncurrency_opportunity",
        "transactioncurrency",
        "opportunity",
        "transactioncurrencyid",
        "transactioncurrency_opportunity",
        "transactioncurrencyid",
    ),
    Relationship(
        "transactioncurrency_quote",
        "transactioncurrency",
        "quote",
        "transactioncurrencyid",
        "transactioncurrency_quote",
        "transactioncurrencyid",
    ),
)
"""The relationship names are Dataverse's own (Web API entity reference, "One-to-Many/Many-to-One Relationships")."""


def currency_id(code: str) -> UUID:
    """The stable id of a currency's transactioncurrency record (SPEC §10): derived from its ISO code."""
    return metadata_id("transactioncurrency", code)
