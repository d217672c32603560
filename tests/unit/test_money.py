"""Money at the edge: decimal strings <-> integer cents, rounding, the collar."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.money import (
    MoneyFormatError,
    change_percent,
    collar_bound,
    div_round_half_up,
    format_cents,
    to_cents,
)

cents = st.integers(min_value=1, max_value=10**14)


@given(cents)
def test_format_and_parse_round_trip(c: int) -> None:
    text = format_cents(c)
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2
    assert to_cents(text) == c
    assert to_cents(Decimal(text)) == c


@pytest.mark.parametrize(
    "value", ["1.001", "0", "-1.00", "abc", "NaN", "Infinity", "1e999999999", "", True, None, [], "1" * 400]
)
def test_bad_amounts_are_refused(value: object) -> None:
    with pytest.raises(MoneyFormatError):
        to_cents(value)


def test_tick_and_number_forms() -> None:
    assert to_cents("101.25") == 10_125 and to_cents(101.25) == 10_125 and to_cents(3) == 300
    assert to_cents("12.35", tick_cents=5) == 1_235
    with pytest.raises(MoneyFormatError):
        to_cents("12.34", tick_cents=5)
    assert to_cents("0", allow_zero=True) == 0


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**9))
def test_div_round_half_up_matches_decimal(n: int, d: int) -> None:
    expected = int((Decimal(abs(n)) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert div_round_half_up(n, d) == (expected if n >= 0 else -expected)


@given(st.integers(1, 10**9), st.sampled_from([1, 5, 10, 25, 100]))
def test_collar_is_five_percent_rounded_inwards_to_the_tick(reference: int, tick: int) -> None:
    buy, sell = collar_bound(reference, tick, buy=True), collar_bound(reference, tick, buy=False)
    assert buy % tick == 0 and sell % tick == 0
    exact_buy, exact_sell = Decimal(reference) * Decimal("1.05"), Decimal(reference) * Decimal("0.95")
    expected_buy = int((exact_buy / tick).to_integral_value(rounding=ROUND_FLOOR)) * tick
    expected_sell = int((exact_sell / tick).to_integral_value(rounding=ROUND_CEILING)) * tick
    assert buy == max(expected_buy, tick) and sell == max(expected_sell, tick)


def test_change_percent() -> None:
    assert change_percent(10_150, 10_000) == "1.50"
    assert change_percent(9_900, 10_000) == "-1.00"
    assert change_percent(10_001, 30_000) == "-66.66"  # -66.663.. -> -66.66


@pytest.mark.parametrize(
    "value",
    [
        " 1.00 ",
        "1.00 ",
        "\t1.00",
        "1.000",
        "01.00",
        "0.00",
        "0.0",
        "0",
        "+1.00",
        "-1.00",
        "1e2",
        "1_000.00",
        "1.",
        ".5",
    ],
)
def test_a_clients_money_string_is_the_contracts_form_exactly(value: str) -> None:
    with pytest.raises(MoneyFormatError):
        to_cents(value, exact_string=True)


def test_exact_strings_and_numbers_still_parse() -> None:
    assert to_cents("101.25", exact_string=True) == 10_125
    assert to_cents("0.01", exact_string=True) == 1
    assert to_cents("101.5", exact_string=True) == 10_150 and to_cents("101", exact_string=True) == 10_100
    assert to_cents("0.5", exact_string=True) == 50
    assert to_cents("9999999999999.99", exact_string=True) == 10**15 - 1
    assert to_cents(101.25, exact_string=True) == 10_125 and to_cents(3, exact_string=True) == 300


def test_spaces_are_refused_and_the_decimal_message_names_no_tick() -> None:
    with pytest.raises(MoneyFormatError):
        to_cents(" 1.00 ")
    with pytest.raises(MoneyFormatError, match="more than two decimals") as info:
        to_cents("0.001")
    assert "tick" not in str(info.value)
    with pytest.raises(MoneyFormatError):
        to_cents(10**13)  # 10000000000000.00: one cent over the largest amount
