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

        def set_overdraft_limit() -> None:
            account = self.app._get_account(account_id)
            account.set_overdraft_limit(limit, reason)
            self.app.save(account)

        self.app.commands.retrying(set_overdraft_limit, account_id)

    def freeze(self, account_id: UUID, reason: str) -> None:
        """Let money into the account but none out, until it is unfrozen."""
        reason = clean_reason(reason)

        def freeze() -> None:
            account = self.app._get_account(account_id)
            account.freeze(reason)
            self.app.save(account)

        self.app.commands.retrying(freeze, account_id)

    def unfreeze(self, account_id: UUID, reason: str) -> None:
        """Let money out of a frozen account again."""
        reason = clean_reason(reason)

        def unfreeze() -> None:
            account = self.app._get_account(account_id)
            account.unfreeze(reason)
            self.app.save(account)

        self.app.commands.retrying(unfreeze, account_id)
