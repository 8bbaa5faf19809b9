"""Properties of the money, quantity and date parsers and of the exact JSON body reader (SPEC §2): any amount with at
most 2 decimals within range comes back exactly, whether sent as a string or as a JSON number; anything written with
an exponent, NaN, infinity, a third decimal or out of range is refused — always as a validation error, never as
another exception (which the API would turn into a 500)."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.values import MAX_MONEY, check_money, check_quantity, parse_decimal_text, parse_iso_date
from dealdesk.web.json_body import ExponentNumber, loads
from dealdesk.web.schemas import DateIn, MoneyIn, QuantityIn, SignedMoneyIn

PARSERS = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
"""Bounded and derandomised: CI sees the same examples every run."""

MONEY_IN: TypeAdapter[Decimal] = TypeAdapter(MoneyIn)
SIGNED_MONEY_IN: TypeAdapter[Decimal] = TypeAdapter(SignedMoneyIn)
QUANTITY_IN: TypeAdapter[Decimal] = TypeAdapter(QuantityIn)
DATE_IN: TypeAdapter[date] = TypeAdapter(DateIn)

amounts = st.decimals(min_value=0, max_value=MAX_MONEY, places=2, allow_nan=False, allow_infinity=False)
signed_amounts = st.decimals(min_value=-MAX_MONEY, max_value=MAX_MONEY, places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=Decimal("0.01"), max_value=MAX_MONEY, places=2, allow_nan=False)
json_whole_numbers = st.from_regex(r"0|[1-9][0-9]{0,11}", fullmatch=True)
"""Digits before the point as JSON allows them: no leading zeros."""


def money_texts(value: Decimal) -> list[str]:
    """Ways a client may write the same amount: 1250.00, 1250.0 and 1250 where exact."""
    texts = [f"{value:.2f}"]
    if value == value.quantize(Decimal("0.1")):
        texts.append(f"{value:.1f}")
    if value == value.to_integral_value():
        texts.append(f"{value:.0f}")
    return texts


def from_json_number(text: str) -> Any:
    """What the API's body reader makes of `text` written as a bare JSON number."""
    return loads(f'{{"amount": {text}}}'.encode())["amount"]


def refused_by_adapter(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return True
    return False


# ---------------------------------------------------------------------------------------------- money accepted
@PARSERS
@given(amounts)
def test_any_amount_with_at_most_two_decimals_in_range_round_trips_exactly(value: Decimal) -> None:
    for text in money_texts(value):
        parsed = check_money(parse_decimal_text(text, field="amount"), field="amount")
        assert parsed == value and f"{parsed:.2f}" == f"{value:.2f}"
        assert MONEY_IN.validate_python(text) == value
        assert f"{MONEY_IN.validate_python(from_json_number(text)):.2f}" == f"{value:.2f}"


@PARSERS
@given(signed_amounts)
def test_a_discount_line_price_may_be_negative_and_round_trips_exactly(value: Decimal) -> None:
    text = f"{value:.2f}"
    assert SIGNED_MONEY_IN.validate_python(text) == value
    assert SIGNED_MONEY_IN.validate_python(from_json_number(text)) == value
    assert check_money(value, field="unit_price", allow_negative=True) == value


@PARSERS
@given(quantities)
def test_any_positive_quantity_with_at_most_two_decimals_is_kept_exactly(value: Decimal) -> None:
    assert check_quantity(value, field="quantity") == value
    assert QUANTITY_IN.validate_python(f"{value:.2f}") == value
    assert QUANTITY_IN.validate_python(from_json_number(f"{value:.2f}")) == value


# ---------------------------------------------------------------------------------------------- money refused
@PARSERS
@given(json_whole_numbers, st.text(alphabet="0123456789", min_size=3, max_size=8))
def test_an_amount_written_with_three_or_more_decimals_is_refused(whole: str, fraction: str) -> None:
    text = f"{whole}.{fraction}"
    with pytest.raises(ValidationFailed):
        check_money(parse_decimal_text(text, field="amount"), field="amount")
    with pytest.raises(ValidationFailed):
        check_quantity(parse_decimal_text(text, field="quantity"), field="quantity")
    for adapter in (MONEY_IN, SIGNED_MONEY_IN, QUANTITY_IN):
        assert refused_by_adapter(adapter, text)
        assert refused_by_adapter(adapter, from_json_number(text))


@PARSERS
@given(
    st.from_regex(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["e", "E"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=400),
)
def test_an_amount_written_with_an_exponent_is_refused(mantissa: str, e: str, sign: str, exponent: int) -> None:
    text = f"{mantissa}{e}{sign}{exponent}"
    with pytest.raises(ValidationFailed):
        parse_decimal_text(text, field="amount")
    number = from_json_number(text)
    assert isinstance(number, ExponentNumber) and number.text == text
    for adapter in (MONEY_IN, SIGNED_MONEY_IN, QUANTITY_IN):
        assert refused_by_adapter(adapter, text)
        assert refused_by_adapter(adapter, number)


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "-NaN", "Infinity", "-Infinity", "inf", "-inf", "Inf"])
def test_nan_and_infinity_are_refused_as_text_as_json_and_as_decimals(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_decimal_text(text, field="amount")
    for adapter in (MONEY_IN, SIGNED_MONEY_IN, QUANTITY_IN):
        assert refused_by_adapter(adapter, text)
    with pytest.raises(ValidationFailed):
        check_money(Decimal(text), field="amount", allow_negative=True)
    with pytest.raises(ValidationFailed):
        check_quantity(Decimal(text), field="quantity")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_the_json_reader_refuses_nan_and_infinity_as_malformed_json(constant: str) -> None:
    with pytest.raises(ValueError):
        loads(f'{{"amount": {constant}}}'.encode())


@PARSERS
@given(st.decimals(min_value=MAX_MONEY + Decimal("0.01"), max_value=Decimal("1e30"), places=2, allow_nan=False))
def test_an_amount_above_999_999_999_999_99_is_refused_either_sign(value: Decimal) -> None:
    text = f"{value:.2f}"
    assert refused_by_adapter(MONEY_IN, text)
    assert refused_by_adapter(MONEY_IN, from_json_number(text))
    assert refused_by_adapter(SIGNED_MONEY_IN, f"-{text}")
    assert refused_by_adapter(QUANTITY_IN, text)


@PARSERS
@given(st.decimals(max_value=Decimal("-0.01"), min_value=-MAX_MONEY, places=2, allow_nan=False))
def test_a_negative_amount_is_refused_where_no_discount_is_allowed(value: Decimal) -> None:
    text = f"{value:.2f}"
    assert refused_by_adapter(MONEY_IN, text)
    assert refused_by_adapter(MONEY_IN, from_json_number(text))
    assert refused_by_adapter(QUANTITY_IN, text)
    with pytest.raises(ValidationFailed):
        check_money(value, field="amount")


@pytest.mark.parametrize("value", [0, "0", "0.00", 0.0, "-0.00"])
def test_a_quantity_of_zero_is_refused(value: Any) -> None:
    assert refused_by_adapter(QUANTITY_IN, from_json_number(str(value)) if not isinstance(value, str) else value)


@pytest.mark.parametrize("value", [True, False, None, [], {}, "", " ", "1,250.00", "$12", "12.", ".5", "+12", "0x10"])
def test_money_that_is_not_a_plain_decimal_is_refused(value: Any) -> None:
    assert refused_by_adapter(MONEY_IN, value)


@PARSERS
@given(st.text(max_size=30))
def test_any_text_is_either_a_plain_decimal_or_a_validation_error(text: str) -> None:
    try:
        value = parse_decimal_text(text, field="amount")
    except ValidationFailed:
        return
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text), text
    assert value.is_finite() and value == Decimal(text)


@pytest.mark.parametrize(
    "text", ["\u0661\u0662\u0663", "\u0661\u0662.\u0664\u0665", "\uff11\uff12.\uff15", "12.\u0665", "\u06f1\u06f2"]
)
def test_digits_of_other_scripts_are_not_money(text: str) -> None:
    """The OpenAPI pattern says [0-9]: an amount in Arabic-Indic or full-width digits is refused, not guessed at."""
    with pytest.raises(ValidationFailed):
        parse_decimal_text(text, field="amount")
    assert refused_by_adapter(MONEY_IN, text)


@PARSERS
@given(st.one_of(st.text(max_size=30), st.integers(), st.decimals(allow_nan=True), st.booleans(), st.none()))
def test_any_value_is_either_money_or_a_validation_error(value: Any) -> None:
    """Never another exception: pydantic reports a ValidationError, which the API answers as 422."""
    try:
        money = MONEY_IN.validate_python(value)
    except ValidationError:
        return
    assert money.is_finite() and Decimal(0) <= money <= MAX_MONEY and money == money.quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------- dates
@PARSERS
@given(st.dates(min_value=date(1900, 1, 1)))
def test_any_calendar_date_from_1900_round_trips_as_yyyy_mm_dd(day: date) -> None:
    assert parse_iso_date(day.isoformat(), field="close_date") == day
    assert DATE_IN.validate_python(day.isoformat()) == day


@PARSERS
@given(st.text(max_size=25))
def test_any_text_is_either_a_yyyy_mm_dd_date_or_a_validation_error(text: str) -> None:
    try:
        day = parse_iso_date(text, field="close_date")
    except ValidationFailed:
        return
    assert day.isoformat() == text
    assert day >= date(1900, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-1-01",
        "20240101",
        "2024-01-01T00:00:00",
        " 2024-01-01",
    ],
)
def test_a_date_that_is_not_a_real_yyyy_mm_dd_date_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_iso_date(text, field="close_date")
    assert refused_by_adapter(DATE_IN, text)


# ---------------------------------------------------------------------------------------------- the JSON reader
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
json_documents = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


@PARSERS
@given(json_documents)
def test_the_json_reader_reads_any_document_without_fractions_as_the_standard_reader_does(document: Any) -> None:
    assert loads(json.dumps(document).encode()) == document


@PARSERS
@given(st.from_regex(r"-?(0|[1-9][0-9]{0,20})\.[0-9]{1,20}", fullmatch=True))
def test_the_json_reader_keeps_a_fraction_as_the_exact_decimal_it_was_written_as(text: str) -> None:
    number = from_json_number(text)
    assert isinstance(number, Decimal)
    assert number.as_tuple() == Decimal(text).as_tuple()


@PARSERS
@given(st.binary(max_size=64))
def test_the_json_reader_refuses_any_unreadable_body_with_a_value_error(body: bytes) -> None:
    with contextlib.suppress(ValueError):
        loads(body)
