"""Every way the bank can refuse a command.

All share ``BankError``, so callers can catch "the bank said no" in one
place. Each message is written for the person who made the request.
"""

from __future__ import annotations

from uuid import UUID


class BankError(Exception):
    """Base class: a command was refused and nothing was recorded."""


class InvalidAmountError(BankError):
    """Raised when an amount is not a valid sum of money for the command."""


class InvalidAccountNameError(BankError):
    """Raised when an account's name or owner is empty, unreadable or too long."""


class InvalidDescriptionError(BankError):
    """Raised when a deposit's description is unreadable or too long."""


class InvalidAccountNumberError(BankError):
    """Not an account number: the wrong length, or a digit mistyped."""


class AccountNotFoundError(BankError):
    """Raised when no account has the given id."""

    def __init__(self, account_id: UUID | str, message: str = "") -> None:
        super().__init__(message or f"There is no account {account_id}.")
        self.account_id = account_id


class VersionNotFoundError(BankError):
    """Raised when asking for a version of an account that it never had."""

    def __init__(
        self, account_id: UUID, version: int, latest: int | None = None
    ) -> None:
        reach = f"; its latest is version {latest}" if latest else ""
        super().__init__(f"Account {account_id} has no version {version}{reach}.")
        self.account_id = account_id
        self.version = version


class AccountClosedError(BankError):
    """Raised when a command is sent to an account that has been closed."""

    def __init__(self, account_id: UUID) -> None:
        super().__init__(f"Account {account_id} is closed.")
        self.account_id = account_id


class InsufficientFundsError(BankError):
    """Raised when a debit would take a balance below its overdraft limit."""

    def __init__(self, account_id: UUID) -> None:
        super().__init__("Not enough money in this account.")
        self.account_id = account_id


class BalanceNotZeroError(BankError):
    """Raised when closing an account whose balance is not exactly zero."""

    def __init__(self, account_id: UUID) -> None:
        super().__init__("Only an account with a zero balance can be closed.")
        self.account_id = account_id


class OverdraftLimitError(BankError):
    """Raised when a new overdraft limit is below what the account owes."""


class AccountFrozenError(BankError):
    """Raised when money would leave a frozen account, or it would be closed."""

    def __init__(self, account_id: UUID, what: str = "no money can leave it") -> None:
        super().__init__(f"This account is frozen: {what} until the bank unfreezes it.")
        self.account_id = account_id


class FreezeStateError(BankError):
    """Raised when freezing a frozen account or unfreezing one that is not."""


class ReversalError(BankError):
    """Raised when a transaction cannot be reversed, or not now, or not by you."""


class SameStaffApprovalError(ReversalError):
    """Raised when a reversal's requester tries to approve it too."""

    def __init__(self) -> None:
        super().__init__(
            "You asked for this reversal: another member of staff must approve it."
        )


class ReversalNotFoundError(ReversalError):
    """Raised when no reversal has the given id."""

    def __init__(self, reversal_id: UUID) -> None:
        super().__init__(f"There is no reversal {reversal_id}.")
        self.reversal_id = reversal_id


class TransactionNotFoundError(ReversalError):
    """Raised when an account has no movement with the given transaction id."""

    def __init__(self, transaction_id: UUID) -> None:
        super().__init__(f"This account has no transaction {transaction_id}.")
        self.transaction_id = transaction_id


class InvalidReasonError(BankError):
    """Raised when a staff operation's reason is missing, unreadable or too long."""


class TooManyAccountsError(BankError):
    """Raised when an owner already holds as many open accounts as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} open accounts, the most one customer may "
            "hold. Close one before opening another."
        )
        self.limit = limit


class SameAccountTransferError(BankError):
    """Raised when a transfer names the same account on both sides."""

    def __init__(self) -> None:
        super().__init__("Choose a different account to transfer to.")


class CurrencyMismatchError(BankError):
    """Raised when a transfer joins accounts held in different currencies."""


class IdempotencyKeyReusedError(BankError):
    """Raised when an idempotency key comes back with a different command."""

    def __init__(self) -> None:
        super().__init__(
            "This form was already used for a different request; "
            "reload the page and try again."
        )


class ConflictError(BankError):
    """Raised when concurrent commands kept colliding after every retry."""

    def __init__(self) -> None:
        super().__init__("The account was busy with another request. Please try again.")
