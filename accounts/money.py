"""Money as the bank understands it: ``Decimal`` pounds and pence, never float.

Every amount that enters an event goes through ``to_amount`` first, so the
event store only ever holds values such as ``Decimal("1234.50")``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from accounts.errors import InvalidAmountError

CURRENCY = "GBP"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000.00")
MAX_OVERDRAFT_LIMIT = Decimal("10000.00")

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
MINUS = "\N{MINUS SIGN}"

# Plain ASCII digits with at most two decimal places: no signs, exponents,
# spaces, underscores or other scripts' digits, which Decimal() would accept.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,2})?")


def to_amount(value: Decimal | int | str) -> Decimal:
    """Return ``value`` as a money amount a command may move.

    Raises ``InvalidAmountError`` for floats, non-finite values, sub-penny
    precision and anything outside MIN_AMOUNT..MAX_AMOUNT.
    """
    return _within(_to_cents(value), MIN_AMOUNT, MAX_AMOUNT, "Amounts")


def to_overdraft_limit(value: Decimal | int | str) -> Decimal:
    """Return ``value`` as an overdraft limit (zero allowed)."""
    return _within(_to_cents(value), ZERO, MAX_OVERDRAFT_LIMIT, "Overdraft limits")


def _within(amount: Decimal, low: Decimal, high: Decimal, what: str) -> Decimal:
    """``amount``, if it lies between ``low`` and ``high``; else refused."""
    if not low <= amount <= high:
        msg = f"{what} must be between £{low} and £{high:,}."
        raise InvalidAmountError(msg)
    return amount


def _to_cents(value: Decimal | int | str) -> Decimal:
    """Parse ``value`` into a Decimal quantized to pence, refusing any loss."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        msg = f"Amounts must be Decimal, int or str, not {type(value).__name__}."
        raise InvalidAmountError(msg)
    if isinstance(value, str):
        text = value.strip()
        if not _PLAIN_AMOUNT.fullmatch(text):
            msg = "Enter an amount such as 25 or 25.50 (at most two decimal places)."
            raise InvalidAmountError(msg)
        value = Decimal(text)
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidOperation
        cents = amount.quantize(CENT)
    except InvalidOperation:
        msg = "Amounts must be finite numbers."
        raise InvalidAmountError(msg) from None
    if cents != amount:
        msg = "Amounts cannot have more than two decimal places."
        raise InvalidAmountError(msg)
    if cents.is_signed() and cents.is_zero():
        cents = ZERO  # -0.00 is stored as 0.00
    return cents


def format_money(
    amount: Decimal, currency: str = CURRENCY, *, signed: bool = False
) -> str:
    """``amount`` as people read it: £1,234.50, -£3.00 (or +£3.00 if signed)."""
    value = Decimal(amount).quantize(CENT)
    symbol = SYMBOLS.get(currency, f"{currency} ")
    sign = MINUS if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}{symbol}{abs(value):,}"
