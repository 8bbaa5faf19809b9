"""Filtered, sorted, paged reads of one kind of record, for the Dataverse-compatible collections (SPEC §10).

A query names the read model's own columns ("sources"), never a protocol's names: the Dataverse adapter resolves
its attribute names and literals to sources and stored values, and the database adapter turns the conditions into
SQL, so every page is cut by the database (keyset paging after the last row of the previous page) and no table is
read into Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Comparison = Literal["eq", "ne", "gt", "ge", "lt", "le"]
TextMatch = Literal["contains", "startswith", "endswith"]
RecordKind = Literal["opportunity", "quote", "opportunityclose", "quoteclose", "account", "competitor", "closereason"]


@dataclass(frozen=True)
class Compare:
    """`source op value`; `eq None` is IS NULL and `ne None` IS NOT NULL."""

    source: str
    op: Comparison
    value: Any


@dataclass(frozen=True)
class OneOf:
    """The source holds one of these values (an empty tuple matches nothing)."""

    source: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Matches:
    """Text search, case-insensitive as in Dataverse."""

    source: str
    how: TextMatch
    text: str


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class NoneOf:
    """Not the part (`not (…)`)."""

    part: Condition


Condition = Compare | OneOf | Matches | AllOf | AnyOf | NoneOf


@dataclass(frozen=True)
class SortKey:
    source: str
    descending: bool = False


@dataclass(frozen=True)
class RecordQuery:
    kind: RecordKind
    where: Condition | None
    order: tuple[SortKey, ...]
    """Without the id: the id is always the last key, so the order is total and keyset paging is exact."""
    limit: int
    after: tuple[Any, ...] | None = None
    """The previous page's last row: its values of `order`, then its id."""
    count: bool = False
    labels: bool = False
    """Also read the names of the records the row refers to (its LABEL_SOURCES), joined in the same query."""


@dataclass(frozen=True)
class RecordPage:
    rows: Sequence[Mapping[str, Any]]
    """Each row keyed by source, with `id`."""
    more: bool
    total: int | None = None


class RecordQueries(Protocol):
    def query(self, query: RecordQuery) -> RecordPage: ...

    def one(self, kind: RecordKind, record_id: Any, *, labels: bool = False) -> Mapping[str, Any] | None: ...


class _RecordsUnitOfWork(Protocol):
    @property
    def records(self) -> RecordQueries: ...

    def transaction(self, *, write: bool = True) -> Any: ...


def query_records(uow: _RecordsUnitOfWork, query: RecordQuery) -> RecordPage:
    with uow.transaction(write=False):
        return uow.records.query(query)


def read_record(
    uow: _RecordsUnitOfWork, kind: RecordKind, record_id: Any, *, labels: bool = False
) -> Mapping[str, Any] | None:
    with uow.transaction(write=False):
        return uow.records.one(kind, record_id, labels=labels)
