"""How many open accounts one owner may hold, checked as an account opens.

Set validation the event-sourced way: the owner's list of accounts is an
event-sourced log with one entry per account ever opened. The command
counts the open ones, then writes the new entry at the version right after
the entries it counted. Two opens for the same owner at the same moment
both try to write that version; the store refuses one, and the command's
retry counts again, now seeing the other's account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.domain import OPEN, Account, AccountIndexed
from accounts.errors import TooManyAccountsError

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from eventsourcing.application import EventSourcedLog


class OpenAccountsLimit:
    """At most ``most`` open accounts per owner; 0 means no limit."""

    def __init__(self, most: int, get_account: Callable[[UUID], Account]) -> None:
        self.most = most
        self.get_account = get_account

    def next_entry_version(
        self, owner_index: EventSourcedLog[AccountIndexed]
    ) -> int | None:
        """The version the owner's next list entry must have (None: any).

        Raises TooManyAccountsError if the owner holds ``most`` open
        accounts already.
        """
        if not self.most:
            return None
        listed = [entry.account_id for entry in owner_index.get()]
        if self.count_open(listed) >= self.most:
            raise TooManyAccountsError(self.most)
        return len(listed) + 1

    def count_open(self, account_ids: list[UUID]) -> int:
        return sum(self.get_account(i).status == OPEN for i in account_ids)
