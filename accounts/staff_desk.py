"""What staff do to an account: set its overdraft limit, freeze and unfreeze it.

Beside the application (``Accounts`` builds one as ``accounts.staff``).
Each operation reads as every command does: load the account, call one
method, save, retried when another process saved the account first. Each
takes a reason, recorded in its event: in event sourcing a correction is a
new event, never a change to an old one, and the reason is what makes the
timeline explain itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from accounts.domain import clean_reason
from accounts.money import to_overdraft_limit

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal
    from uuid import UUID

    from accounts.commands import CommandRunner
    from accounts.domain import Account


class AccountsApplication(Protocol):
    """What the desk needs of ``Accounts``: its commands, loading and saving."""

    commands: CommandRunner

    def _get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or AccountNotFoundError."""

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Record the aggregates' new events in one transaction."""


class StaffDesk:
    """Staff operations on accounts, each with its reason."""

    def __init__(self, app: AccountsApplication) -> None:
        self.app = app

    def set_overdraft_limit(
        self, account_id: UUID, limit: Decimal | int | str, reason: str
    ) -> None:
        """Let the account's balance go down to minus ``limit``."""
        limit, reason = to_overdraft_limit(limit), clean_reason(reason)
        self._change(
            account_id, lambda account: account.set_overdraft_limit(limit, reason)
        )

    def freeze(self, account_id: UUID, reason: str) -> None:
        """Let money into the account but none out, until it is unfrozen."""
        reason = clean_reason(reason)
        self._change(account_id, lambda account: account.freeze(reason))

    def unfreeze(self, account_id: UUID, reason: str) -> None:
        """Let money out of a frozen account again."""
        reason = clean_reason(reason)
        self._change(account_id, lambda account: account.unfreeze(reason))

    def _change(self, account_id: UUID, call: Callable[[Account], None]) -> None:
        """Load the account, call one of its methods, save: retried on conflict."""

        def change() -> None:
            account = self.app._get_account(account_id)
            call(account)
            self.app.save(account)

        self.app.commands.retrying(change, account_id)
