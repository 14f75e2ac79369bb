"""Whose an account is, and in which currency: facts that never change, read once.

Beside the application (``Accounts`` keeps one as ``accounts.identities``).
A money form's view checks that the account is the customer's, then the
command loads the account to move the money: two reads of one account in one
request. But an account's owner and currency are set when it is opened and
never change, and no account is ever removed, so once read they hold for
good in every process, however many others write. The view's check reads
them here, and costs no read after the first; the command still loads the
account, and its guards decide everything that can change (closed, frozen,
enough money).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID


class Opened(Protocol):
    """What an account read has: ``AccountSummary`` does."""

    @property
    def id(self) -> UUID: ...
    @property
    def owner(self) -> str: ...
    @property
    def currency(self) -> str: ...


@dataclass(frozen=True)
class AccountIdentity:
    """What never changes about an account once it is opened."""

    id: UUID
    owner: str
    currency: str


class AccountIdentities:
    """The identities of the accounts this process has read, the most recent kept."""

    def __init__(self, read: Callable[[UUID], Opened], most: int) -> None:
        self._read = read
        self._most = most
        self._known: OrderedDict[UUID, AccountIdentity] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, account_id: UUID) -> AccountIdentity:
        """The account's identity; AccountNotFoundError if there is no such account."""
        with self._lock:
            known = self._known.get(account_id)
            if known is not None:
                self._known.move_to_end(account_id)
                return known
        account = self._read(account_id)  # outside the lock: it reads the database
        identity = AccountIdentity(account.id, account.owner, account.currency)
        with self._lock:
            self._known[account_id] = identity
            while len(self._known) > self._most:
                self._known.popitem(last=False)
        return identity
