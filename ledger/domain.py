"""The bank-wide ledger and the transaction log's entries.

The ledger is one aggregate whose id is derived from its name, so every
process finds the same ledger without a lookup.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
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

    # A reversal is a transaction of its own (``transaction_id`` is the
    # reversal's): it undoes the original's effect on the totals rather than
    # removing it, so the sum of the balances, ``balance`` and deposits less
    # withdrawals still agree, and the count counts it too.

    @event("DepositReversed")
    def record_deposit_reversal(self, amount: Decimal, transaction_id: UUID) -> None:
        """Money paid in was taken back: ``amount`` as the deposit had it."""
        self.balance -= amount
        self.total_deposits -= amount
        self.transaction_count += 1

    @event("WithdrawalReversed")
    def record_withdrawal_reversal(self, amount: Decimal, transaction_id: UUID) -> None:
        """Money taken out was paid back: ``amount`` as the withdrawal had it."""
        self.balance += amount
        self.total_withdrawals -= amount
        self.transaction_count += 1

    @event("TransferReversed")
    def record_transfer_reversal(self, amount: Decimal, transaction_id: UUID) -> None:
        """A transfer was moved back: a transaction, but no change."""
        self.transaction_count += 1


class TransactionKind(Enum):
    """What kind of movement a transaction log entry records."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    # One kind per kind reversed, so an entry says what it undid without
    # a look at the original (values are CSS-class safe: no spaces).
    DEPOSIT_REVERSAL = "deposit-reversal"
    WITHDRAWAL_REVERSAL = "withdrawal-reversal"
    TRANSFER_REVERSAL = "transfer-reversal"

    @property
    def reversed_kind(self) -> TransactionKind | None:
        """The kind a reversal undoes (None: this is no reversal)."""
        return _REVERSED_KIND.get(self)

    @property
    def label(self) -> str:
        """How pages name it: ``Deposit``, ``Reversal of deposit``."""
        undone = self.reversed_kind
        if undone is None:
            return self.value.capitalize()
        return f"Reversal of {undone.value}"


_REVERSED_KIND = {
    TransactionKind.DEPOSIT_REVERSAL: TransactionKind.DEPOSIT,
    TransactionKind.WITHDRAWAL_REVERSAL: TransactionKind.WITHDRAWAL,
    TransactionKind.TRANSFER_REVERSAL: TransactionKind.TRANSFER,
}


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
    """One movement of money, as the bank-wide transaction log lists it.

    ``amount`` is positive, as the movement (or the one a reversal undoes)
    had it; ``signed_amount`` says which way it moved the bank's money.
    Version 2 added ``reverses``: a reversal's entry names the transaction
    it undoes. Entries logged by version 1 reversed nothing and are upcast
    with None.
    """

    transaction_id: UUID
    kind: TransactionKind
    account_id: UUID
    counterparty_id: UUID | None
    amount: Decimal
    occurred_at: datetime
    position: int  # the Accounts notification it was made from
    reverses: UUID | None

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["reverses"] = None

    @property
    def number(self) -> int:
        """Its place in the log: 1 for the first transaction."""
        return self.originator_version

    @property
    def is_transfer(self) -> bool:
        """Whether money moved between two accounts, not in or out of the bank.

        A transfer's reversal too: it moves the money back between them.
        """
        return self.kind in {
            TransactionKind.TRANSFER,
            TransactionKind.TRANSFER_REVERSAL,
        }

    @property
    def is_reversal(self) -> bool:
        return self.kind.reversed_kind is not None

    @property
    def signed_amount(self) -> Decimal:
        """How the entry changed the bank's balance (zero for a transfer's).

        Out of the bank: a withdrawal, and a deposit's reversal (the money
        is taken back). Into it: a deposit, and a withdrawal's reversal.
        """
        if self.is_transfer:
            return ZERO
        if self.kind in {TransactionKind.WITHDRAWAL, TransactionKind.DEPOSIT_REVERSAL}:
            return -self.amount
        return self.amount
