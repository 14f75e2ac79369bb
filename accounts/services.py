"""How the accounts' views reach the running bank, without building it.

The apps do not build the bank: the project does, from Django's settings
(``esbank_site/bank.py``), and ``settings.ESBANK_BANK`` names the function
that returns it, as ``ROOT_URLCONF`` names the project's URLs. So imports
point one way: the project imports the apps, never the reverse, and a test
can hand the views any bank it likes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.errors import AccountNotFoundError

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.application import Accounts
    from accounts.projections import AccountsListView


class RunningBank(Protocol):
    """What the accounts' pages need of the running bank."""

    @property
    def accounts(self) -> Accounts: ...

    def accounts_list(self) -> AccountsListView: ...


def running_bank() -> RunningBank:
    """The bank this process runs, as ``settings.ESBANK_BANK`` returns it."""
    return cast("RunningBank", import_string(settings.ESBANK_BANK)())


def accounts() -> Accounts:
    """The Accounts application: every command, and every read of one account."""
    return running_bank().accounts


def accounts_list() -> AccountsListView:
    """The accounts list read model: pages of many accounts at once."""
    return running_bank().accounts_list()


def accounts_lag(position: int) -> int:
    """How many Accounts events a read model at ``position`` has yet to see."""
    head = accounts().recorder.max_notification_id() or 0
    return max(0, head - position)


# An account's number never changes once it has one (Account.assign_number
# refuses a second), so a number read is kept for the life of the process:
# lists of events and transactions name many accounts on every refresh.
_NUMBERS_KEPT = 20_000
_numbers: dict[UUID, str] = {}


def account_number(account_id: UUID) -> str:
    """The account's number ("" if it has none yet, or there is no such account)."""
    number = _numbers.get(account_id)
    if number is None:
        try:
            number = accounts().get_account(account_id).number
        except AccountNotFoundError:
            return ""
        if number:
            if len(_numbers) >= _NUMBERS_KEPT:
                _numbers.clear()
            _numbers[account_id] = number
    return number
