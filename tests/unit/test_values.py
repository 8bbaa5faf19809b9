"""Value rules (SPEC §2): money, quantities, dates, texts and currencies, as every way data comes in checks them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.values import (
    check_currency,
    check_description,
    check_money,
    check_not_in_future,
    check_quantity,
    check_storable,
    check_text,
    parse_decimal_text,
    parse_iso_date,
    round_cents,
)


def _refusal(error: ValidationFailed) -> tuple[str, list[str]]:
    return error.code, [e.field for e in error.errors]


# ---------------------------------------- rounding
@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-even would give 0.02
        ("2.675", "2.68"),
        ("0.0049", "0.00"),
        ("1.2345", "1.23"),
        ("10", "10.00"),
        ("-0.005", "-0.01"),  # halves round away from zero
    ],
)
def test_amounts_round_half_up_to_cents(value: str, rounded: str) -> None:
    assert str(round_cents(Decimal(value))) == rounded


# ---------------------------------------- decimal text
@pytest.mark.parametrize(("text", "value"), [("1250.00", "1250.00"), ("0", "0"), ("-5.5", "-5.5"), ("12", "12")])
def test_a_plain_decimal_literal_is_read_exactly(text: str, value: str) -> None:
    parsed = parse_decimal_text(text, field="unit_price")

    assert parsed == Decimal(value)
    assert str(parsed) == value


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E+3",
        "1.5e-2",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        " 1",
        "1 ",
        "1,000.00",
        "+1",
        ".5",
        "5.",
        "0x10",
        "1_000",
        "1.2.3",
        "abc",
    ],
)
def test_anything_but_a_plain_decimal_literal_is_a_validation_error(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_decimal_text(text, field="unit_price")

    assert _refusal(refused.value) == ("validation_error", ["unit_price"])
    assert refused.value.extensions()["errors"][0]["field"] == "unit_price"


def test_a_parsed_amount_with_three_decimals_is_refused_by_the_money_check() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_money(parse_decimal_text("1.234", field="amount"), field="amount")

    assert _refusal(refused.value) == ("validation_error", ["amount"])


# ---------------------------------------- money
@pytest.mark.parametrize(
    ("value", "checked"),
    [("0", "0.00"), ("0.00", "0.00"), ("5", "5.00"), ("1250.5", "1250.50"), ("999999999999.99", "999999999999.99")],
)
def test_money_within_the_rules_comes_back_with_two_decimals(value: str, checked: str) -> None:
    assert str(check_money(Decimal(value), field="estimated_revenue")) == checked


@pytest.mark.parametrize(
    "value", ["0.001", "1.005", "1.000", "1000000000000.00", "999999999999.991", "-0.01", "-1", "NaN", "Infinity"]
)
def test_money_outside_the_rules_is_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_money(Decimal(value), field="estimated_revenue")

    assert _refusal(refused.value) == ("validation_error", ["estimated_revenue"])


@pytest.mark.parametrize("value", ["-0.01", "-150.00", "-999999999999.99"])
def test_negative_money_is_accepted_only_where_allowed(value: str) -> None:
    assert check_money(Decimal(value), field="unit_price", allow_negative=True) == Decimal(value)
    with pytest.raises(ValidationFailed):
        check_money(Decimal(value), field="unit_price")


def test_allowed_negative_money_still_has_a_size_limit() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_money(Decimal("-1000000000000.00"), field="unit_price", allow_negative=True)

    assert _refusal(refused.value) == ("validation_error", ["unit_price"])


def test_negative_zero_money_is_written_as_zero() -> None:
    """Money is never negative on output: "-0.00" must not appear."""
    assert f"{check_money(Decimal('-0.00'), field='actual_revenue'):.2f}" == "0.00"


# ---------------------------------------- quantities
@pytest.mark.parametrize(("value", "checked"), [("1", "1.00"), ("0.01", "0.01"), ("2.5", "2.50")])
def test_a_positive_quantity_with_at_most_two_decimals_is_accepted(value: str, checked: str) -> None:
    assert str(check_quantity(Decimal(value), field="quantity")) == checked


@pytest.mark.parametrize("value", ["0", "0.00", "-1", "0.001", "1.125", "NaN", "Infinity", "1000000000000"])
def test_any_other_quantity_is_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_quantity(Decimal(value), field="lines[2].quantity")

    assert _refusal(refused.value) == ("validation_error", ["lines[2].quantity"])


# ---------------------------------------- dates
@pytest.mark.parametrize(("text", "value"), [("2024-02-29", date(2024, 2, 29)), ("1999-12-31", date(1999, 12, 31))])
def test_an_iso_date_is_read(text: str, value: date) -> None:
    assert parse_iso_date(text, field="close_date") == value


@pytest.mark.parametrize(
    "text",
    ["2023-02-29", "2024-13-01", "2024-2-3", "20240203", "2024-02-03T00:00", "2024/02/03", "03-02-2024", "", "today"],
)
def test_anything_but_a_real_iso_date_is_a_validation_error(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_iso_date(text, field="close_date")

    assert _refusal(refused.value) == ("validation_error", ["close_date"])


def test_a_close_date_may_be_today_but_not_tomorrow() -> None:
    today = date(2024, 6, 14)

    assert check_not_in_future(today, today=today) == today
    with pytest.raises(ValidationFailed) as refused:
        check_not_in_future(date(2024, 6, 15), today=today)
    assert _refusal(refused.value) == ("validation_error", ["close_date"])


# ---------------------------------------- texts
def test_a_name_is_trimmed() -> None:
    assert check_text("  Acme  ", field="name", max_length=160) == "Acme"


@pytest.mark.parametrize("value", ["", "   ", "x" * 161])
def test_a_blank_or_too_long_name_is_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_text(value, field="name", max_length=160)

    assert _refusal(refused.value) == ("validation_error", ["name"])


@pytest.mark.parametrize("value", ["nul\x00inside", "lone \ud800 surrogate"])
def test_text_that_no_database_can_store_is_a_validation_error(value: str) -> None:
    checks: tuple[Callable[[], object], ...] = (
        lambda: check_storable(value, field="name"),
        lambda: check_text(value, field="name", max_length=160),
        lambda: check_description(value, field="name"),
    )
    for check in checks:
        with pytest.raises(ValidationFailed) as refused:
            check()
        assert _refusal(refused.value) == ("validation_error", ["name"])


def test_ordinary_unicode_text_is_storable() -> None:
    assert check_storable("機會: Überblick ✓", field="name") == "機會: Überblick ✓"


def test_a_name_of_exactly_the_maximum_length_is_accepted() -> None:
    assert check_text("x" * 160, field="name", max_length=160) == "x" * 160


@pytest.mark.parametrize(("value", "checked"), [(None, None), ("", None), ("   ", None), ("x" * 2000, "x" * 2000)])
def test_a_description_is_optional_text_of_at_most_2000_characters(value: str | None, checked: str | None) -> None:
    assert check_description(value) == checked


def test_a_description_over_2000_characters_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_description("x" * 2001, field="reason")

    assert _refusal(refused.value) == ("validation_error", ["reason"])


# ---------------------------------------- currencies
@pytest.mark.parametrize("value", ["USD", "EUR", "HKD"])
def test_a_three_letter_code_is_a_currency(value: str) -> None:
    assert check_currency(value) == value


@pytest.mark.parametrize("value", ["usd", "US", "USDX", "", "U5D", " USD"])
def test_anything_else_is_not_a_currency(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_currency(value)

    assert _refusal(refused.value) == ("validation_error", ["currency"])


def test_a_validation_error_lists_each_field_and_message() -> None:
    error = ValidationFailed.field("close_date", "must not be in the future")

    assert error.extensions() == {"errors": [{"field": "close_date", "message": "must not be in the future"}]}
    assert error.detail == "close_date: must not be in the future"
