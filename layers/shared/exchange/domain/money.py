"""Money at the edge and inside: integer cents inside, decimal strings with two decimals outside."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CENTS_PER_UNIT = 100
MAX_PRICE_CENTS = 10**12  # one billion per share is beyond any listed stock
MAX_AMOUNT_CENTS = 10**15 - 1  # 9999999999999.99: the largest amount a client may send
# A client's money string: a plain positive decimal with at most two decimals ("101.25", also "101.5"
# and "101", as the contract lets "more decimals than the tick allows" be the only decimal 422): no sign,
# exponent, spaces or leading zero, at most 13 digits before the point (MAX_AMOUNT_CENTS). The OpenAPI
# document serves it; answers always carry exactly two decimals.
MONEY_STRING_PATTERN = r"^(?:[1-9][0-9]{0,12}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"
_MONEY_STRING = re.compile(MONEY_STRING_PATTERN)


class MoneyFormatError(ValueError):
    """A value that is not a valid amount of money for the purpose."""


def to_cents(
    value: object, *, tick_cents: int = 1, allow_zero: bool = False, exact_string: bool = False
) -> int:
    """Parse a decimal (string or JSON number) into integer cents.

    Refuses more than two decimals, non-multiples of the tick, non-finite values, exponents that
    hide precision, surrounding spaces, and (unless ``allow_zero``) zero or negative amounts. With
    ``exact_string`` (a client's request), a string must match ``MONEY_STRING_PATTERN`` ("101.25",
    "101.5", "101"; not "1e2", "+1.00", "01.00"); configuration values go through the same checks
    but for the pattern.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise MoneyFormatError("must be a decimal number or string")
    if isinstance(value, str):
        if exact_string and not _MONEY_STRING.fullmatch(value):
            raise MoneyFormatError(
                'must be a positive decimal string with at most two decimals, such as "101.25" '
                "(or a JSON number)"
            )
        if value != value.strip():
            raise MoneyFormatError("must not have spaces around it")
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyFormatError("must be a decimal number") from exc
    if not amount.is_finite():
        raise MoneyFormatError("must be a finite number")
    if amount.adjusted() > 15:  # beyond any amount we hold; also keeps the arithmetic from overflowing
        raise MoneyFormatError("is too large")
    cents = amount * CENTS_PER_UNIT
    if cents != cents.to_integral_value():
        raise MoneyFormatError("has more than two decimals (amounts are whole cents: the smallest is 0.01)")
    result = int(cents)
    if result < 0 or (result == 0 and not allow_zero):
        raise MoneyFormatError("must be positive")
    if result > MAX_AMOUNT_CENTS:
        raise MoneyFormatError("is too large (at most 9999999999999.99)")
    if result % tick_cents:
        raise MoneyFormatError("must be a multiple of the tick size")
    return result


def format_cents(cents: int) -> str:
    """Integer cents -> "1234.50" (exactly two decimals)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{whole}.{frac:02d}"


def format_optional(cents: int | None) -> str | None:
    return None if cents is None else format_cents(cents)


def div_round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half up (away from zero for halves), exact for any ints."""
    if denominator <= 0:
        raise ZeroDivisionError("denominator must be positive")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def collar_bound(reference_cents: int, tick_cents: int, *, buy: bool) -> int:
    """A market order's price bound: reference x 1.05 rounded down to the tick for a buy,
    reference x 0.95 rounded up to the tick for a sell (integer arithmetic, exact)."""
    if buy:
        raw_num = reference_cents * 105  # /100
        ticks = raw_num // (100 * tick_cents)
        return max(ticks * tick_cents, tick_cents)
    raw_num = reference_cents * 95
    ticks = -((-raw_num) // (100 * tick_cents))
    return max(ticks * tick_cents, tick_cents)


def change_percent(last_cents: int, reference_cents: int) -> str:
    """(last - reference) / reference x 100, two decimals, half up."""
    hundredths = div_round_half_up((last_cents - reference_cents) * 10_000, reference_cents)
    return format_cents(hundredths)
