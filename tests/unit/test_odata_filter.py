"""The `$filter` grammar (web/api/dataverse/odata_filter.py): precedence, literals, and refusals, with no database."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealdesk.web.api.dataverse.odata_filter import (
    And,
    Call,
    Comparison,
    FilterError,
    Literal,
    Not,
    Or,
    Property,
    parse,
)


def _eq(name: str, value: object, edm: str) -> Comparison:
    return Comparison("eq", Property(name), Literal(value, edm))  # type: ignore[arg-type]


def test_and_binds_tighter_than_or_and_parentheses_override_it() -> None:
    assert parse("a eq 1 or b eq 2 and c eq 3") == Or(
        _eq("a", 1, "Edm.Int32"), And(_eq("b", 2, "Edm.Int32"), _eq("c", 3, "Edm.Int32"))
    )
    assert parse("(a eq 1 or b eq 2) and not c eq 3") == And(
        Or(_eq("a", 1, "Edm.Int32"), _eq("b", 2, "Edm.Int32")), Not(_eq("c", 3, "Edm.Int32"))
    )


def test_literals_of_every_supported_type() -> None:
    guid = "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"
    assert parse(f"x eq {guid}") == _eq("x", UUID(guid), "Edm.Guid")
    assert parse("x eq 'O''Brien'") == _eq("x", "O'Brien", "Edm.String")
    assert parse("x eq 12.50") == _eq("x", Decimal("12.50"), "Edm.Decimal")
    assert parse("x eq -3") == _eq("x", -3, "Edm.Int32")
    assert parse("x eq 2026-03-01") == _eq("x", date(2026, 3, 1), "Edm.Date")
    assert parse("x eq 2026-03-01T09:30:00Z") == _eq("x", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "Edm.DateTimeOffset")
    assert parse("x eq null") == _eq("x", None, "null")
    assert parse("x ne true") == Comparison("ne", Property("x"), Literal(True, "Edm.Boolean"))


def test_a_literal_on_the_left_is_turned_around() -> None:
    assert parse("5 lt x") == Comparison("gt", Property("x"), Literal(5, "Edm.Int32"))


def test_text_functions() -> None:
    assert parse("contains(name,'lab') and startswith(name, 'A')") == And(
        Call("contains", Property("name"), "lab"), Call("startswith", Property("name"), "A")
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name",
        "name eq",
        "name eq 'x' and",
        "name eq 'x')",
        "(name eq 'x'",
        "name eq 'x",
        "name eq other",
        "1 eq 2",
        "name has 'x'",
        "tolower(name) eq 'x'",
        "any(name)",
        "contains(name, 5)",
        "name eq 'x' name eq 'y'",
        "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a'])",
        "name eq 2026-02-30",
        "x eq 1e5",
        "name eq 'x' # comment",
        "(" * 50 + "a eq 1" + ")" * 50,
        "not " * 50 + "a eq 1",
        "a eq 1 and " * 2000 + "a eq 1",
    ],
)
def test_what_the_grammar_does_not_know_is_a_filter_error(text: str) -> None:
    with pytest.raises(FilterError):
        parse(text)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_a_filter_error_never_another_exception(text: str) -> None:
    with contextlib.suppress(FilterError):
        parse(text)
