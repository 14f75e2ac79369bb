"""The bank-wide ledger and the transaction log's entries.

The ledger is one aggregate whose id is derived from its name, so every
process finds the same ledger without a lookup.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event
from eventsourcing.persistence import Transcoding

from accounts.domain import BANK_NAMESPACE
from accounts.money import ZERO

TRANSACTION_LOG_ID = uuid5(BANK_NAMESPACE, "transaction-log")


class Ledger(Aggregate):
    """Money held by the bank as a whole, and how many transactions moved it."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(BANK_NAMESPACE, "ledger")

    @event("Started")
    def __init__(self) -> None:
        self.balance = ZERO
        self.total_deposits = ZERO
        self.total_withdrawals = ZERO
        self.transaction_count = 0

    @event("DepositRecorded")
    def record_deposit(self, amount: Decimal, transaction_id: UUID) -> None:
        """Money came into the bank."""
        self.balance += amount
        self.total_deposits += amount
        self.transaction_count += 1

    @event("WithdrawalRecorded")
    def record_withdrawal(self, amount: Decimal, transaction_id: UUID) -> None:
        """Money left the bank."""
        self.balance -= amount
        self.total_withdrawals += amount
        self.transaction_count += 1

    @event("TransferRecorded")
    def record_transfer(self, amount: Decimal, transaction_id: UUID) -> None:
        """Money moved between two accounts: a transaction, but no change."""
        self.transaction_count += 1


class TransactionKind(Enum):
    """What kind of movement a transaction log entry records."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"


class TransactionKindAsName(Transcoding):
    """Stores a ``TransactionKind`` as its value, e.g. ``"deposit"``.

    The library's JSON transcoder knows UUIDs, Decimals and datetimes; any
    other type in an event needs a transcoding registered on the
    application (see ``TransactionLogProcess.register_transcodings``).
    """

    type = TransactionKind
    name = "transaction_kind"

    def encode(self, obj: TransactionKind) -> str:
        return obj.value

    def decode(self, data: str) -> TransactionKind:
        return TransactionKind(data)


class TransactionLogged(DomainEvent):
    """One movement of money, as the bank-wide transaction log lists it."""

    transaction_id: UUID
    kind: TransactionKind
    account_id: UUID
    counterparty_id: UUID | None
    amount: Decimal
    occurred_at: datetime
    position: int  # the Accounts notification it was made from

    @property
    def number(self) -> int:
        """Its place in the log: 1 for the first transaction."""
        return self.originator_version

    @property
    def is_transfer(self) -> bool:
        """Whether money moved between two accounts, not in or out of the bank."""
        return self.kind is TransactionKind.TRANSFER

    @property
    def signed_amount(self) -> Decimal:
        """How the entry changed the bank's balance: withdrawals negative."""
        if self.kind is TransactionKind.WITHDRAWAL:
            return -self.amount
        return self.amount
