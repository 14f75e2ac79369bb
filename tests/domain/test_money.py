"""Amounts: exact pence, within limits, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.errors import InvalidAmountError
from accounts.money import to_amount, to_overdraft_limit


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("25", Decimal("25.00")),
        ("25.5", Decimal("25.50")),
        (" 0.01 ", Decimal("0.01")),
        ("1000000.00", Decimal("1000000.00")),
        (Decimal("7.10"), Decimal("7.10")),
        (Decimal("1E+3"), Decimal("1000.00")),
        (42, Decimal("42.00")),
    ],
)
def test_valid_amounts_are_quantized_to_pence(given, expected):
    amount = to_amount(given)
    assert amount == expected
    assert str(amount) == str(expected)  # "1000.00", never "1E+3"


@pytest.mark.parametrize(
    "given",
    [
        "",
        "abc",
        "NaN",
        "sNaN",
        "Infinity",
        "-5",
        "+5",
        "1e3",
        "10.005",
        "0.00",
        "0",
        "1000000.01",
        "1_000",
        "\uff11\uff12",  # full-width digits, which Decimal() would accept
        "5,00",
        "x" * 10_000,
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("0.001"),
        Decimal("-1"),
        Decimal("1E+400"),
        2.5,
        True,
        None,
    ],
)
def test_invalid_amounts_are_refused_with_a_message(given):
    with pytest.raises(InvalidAmountError) as refused:
        to_amount(given)
    assert str(refused.value)


def test_overdraft_limit_may_be_zero_but_not_negative():
    assert to_overdraft_limit("0") == Decimal("0.00")
    with pytest.raises(InvalidAmountError):
        to_overdraft_limit(Decimal("-0.01"))


def test_negative_zero_is_stored_as_zero():
    assert str(to_overdraft_limit(Decimal("-0"))) == "0.00"
