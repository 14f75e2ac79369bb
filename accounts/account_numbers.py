"""Account numbers people can type: eight digits, the last a check digit.

An account's id is a UUID, which nobody reads out over the phone. Each
account also gets a short number when it is opened: seven random digits
(the first never 0, so it always has eight) and a Luhn check digit, as
card numbers have. The check digit catches every mistyped single digit
and almost every swap of two neighbours before anything is looked up.

Pure functions only: which number is free is decided by the event store
(``AccountNumber`` in ``accounts/domain.py``), not here.
"""

from __future__ import annotations

import re
import secrets

from accounts.errors import InvalidAccountNumberError

DIGITS = 8
_TYPED = re.compile(r"[0-9][0-9 ]*[0-9]")


def check_digit(body: str) -> str:
    """The Luhn check digit for ``body``, a string of digits."""
    total = 0
    # From the right, every other digit is doubled, starting with the last
    # digit of the body (the check digit will sit to its right).
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def new_account_number() -> str:
    """A random, well-formed number (free or not: the store decides)."""
    body = str(secrets.randbelow(9 * 10 ** (DIGITS - 2)) + 10 ** (DIGITS - 2))
    return body + check_digit(body)


def is_well_formed(number: str) -> bool:
    """Eight digits whose last is the check digit of the seven before it."""
    return (
        len(number) == DIGITS
        and number.isascii()
        and number.isdigit()
        and number[-1] == check_digit(number[:-1])
    )


def looks_like_account_number(text: str) -> bool:
    """Whether ``text`` is meant as a number (digits, maybe spaced), right or wrong."""
    return bool(_TYPED.fullmatch(text.strip())) and text.isascii()


def parse_account_number(text: str) -> str:
    """The number typed as ``text`` (spaces allowed), or InvalidAccountNumberError."""
    number = text.strip().replace(" ", "")
    if len(number) != DIGITS or not (number.isascii() and number.isdigit()):
        msg = "An account number has 8 digits, like 1234 5678."
        raise InvalidAccountNumberError(msg)
    if not is_well_formed(number):
        msg = (
            f"{grouped(number)} is not a valid account number: please check the digits."
        )
        raise InvalidAccountNumberError(msg)
    return number


def number_search(search: str) -> str:
    """The digits of ``search`` as part of a number, spaces dropped.

    Text that is not digits gives a string no number contains, so a search
    for a name never matches a number.
    """
    digits = search.replace(" ", "")
    return digits if digits.isascii() and digits.isdigit() else "-"


def grouped(number: str) -> str:
    """``12345678`` -> ``1234 5678``, as it is shown and read out."""
    return f"{number[:4]} {number[4:]}" if len(number) == DIGITS else number
