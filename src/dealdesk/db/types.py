"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric, Table
from sqlalchemy.types import TypeDecorator, TypeEngine

_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


class FixedPoint2(TypeDecorator[Decimal]):
    """Two-decimal fixed point (money, quantities): NUMERIC(14,2) on PostgreSQL, whole hundredths on SQLite.

    SQLite has no decimal storage; NUMERIC there would silently become a binary float, so we store exact
    integers instead and sums stay exact."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        precision = getattr(self.impl, "precision", None) or 14  # wider for sums (db/close_summaries.py)
        return dialect.type_descriptor(Numeric(precision, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return int((value * _HUNDRED).to_integral_value())
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _HUNDRED).quantize(_CENT)
        return Decimal(value).quantize(_CENT)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps go in and come out as aware UTC datetimes on both engines."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def driver_values(dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Rows that all name the same columns, each value made ready for the driver by its column's type, as an INSERT
    through SQLAlchemy would make it: for statements sent on the driver itself (COPY, SQLite's executemany)."""
    if not rows:
        return
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in rows[0]]
    for row in rows:
        yield tuple(
            value if process is None else process(value)
            for value, process in zip(row.values(), processors, strict=True)
        )
