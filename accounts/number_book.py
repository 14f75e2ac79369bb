"""Where account numbers come from, and which account a number names.

Beside the application (``Accounts`` uses it): numbers are drawn at random
and reserved by saving an ``AccountNumber`` with the account it numbers
(``accounts/domain.py`` says why that keeps them unique). Looking a number
up is reading that aggregate back by the id derived from the number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError

from accounts.account_numbers import grouped, new_account_number, parse_account_number
from accounts.domain import AccountNumber
from accounts.errors import AccountNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from eventsourcing.application import Repository

    from accounts.domain import Account


class NumberBook:
    """Draws new account numbers and finds the account a number belongs to."""

    def __init__(
        self,
        repository: Repository[UUID],
        draw: Callable[[], str] = new_account_number,
    ) -> None:
        self.repository = repository
        self.draw = draw  # tests give a fixed sequence, to make numbers collide

    def reservation(self, account: Account) -> AccountNumber:
        """The record that ``account`` holds its number, to save with it."""
        return AccountNumber(number=account.number, account_id=account.id)

    def account_id_of(self, typed: str) -> UUID:
        """The id of the account numbered ``typed`` (spaces allowed).

        InvalidAccountNumberError for a malformed number, before any read;
        AccountNotFoundError when no account has it.
        """
        number = parse_account_number(typed)
        try:
            reserved: Any = self.repository.get(AccountNumber.create_id(number))
        except AggregateNotFoundError:
            msg = f"No account has the number {grouped(number)}."
            raise AccountNotFoundError(number, msg) from None
        if not isinstance(reserved, AccountNumber):
            raise AccountNotFoundError(number)
        return reserved.account_id
