"""Process applications that follow Accounts: the ledger and the transaction log.

Each policy records its new events with ``processing_event.collect_events``
rather than ``save()``: they are then stored in the same database transaction
as the tracking record of the Accounts notification that caused them, so a
crash can never process a notification twice or lose one.

Both record a whole pull of notifications in one transaction
(``ledger/batches.py``), so their policies read what earlier events of the
same pull did from the processing event before they read the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    EventSourcedLog,
    ProcessingEvent,
)
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import JSONTranscoder

from accounts import domain as account_events
from accounts import reversal as reversal_events
from accounts.money import ZERO
from ledger.batches import BatchProcessApplication
from ledger.domain import (
    TRANSACTION_LOG_ID,
    Ledger,
    TransactionKind,
    TransactionKindAsName,
    TransactionLogged,
)

# The Accounts events that are no transaction of the bank's: the ledger and
# the transaction log both leave them alone. A transfer is one transaction,
# counted by its sending leg; the receiving leg is the same transaction.
# A reversal is counted by its accounts' ``Reversed`` events (below), once
# it is carried out; the ``Reversal`` aggregate's own events (requested,
# approved, ...) and its list entries move no money.
NOT_A_TRANSACTION = (
    account_events.AccountOpened
    | account_events.TransferReceived
    | account_events.OverdraftLimitSet
    | account_events.AccountClosed
    | account_events.AccountFrozen
    | account_events.AccountUnfrozen
    | account_events.ReceiptIssued
    | account_events.AccountIndexed
    | account_events.NumberAssigned
    | account_events.AccountNumberReserved
    | reversal_events.REVERSAL_PROGRESS
)

# The leg of a transaction each ``Reversed`` undoes (its ``original``), and
# the kind of transaction its reversal is. A transfer's reversal is counted
# once, by the leg that undoes the sending one, as the transfer was.
REVERSED_LEGS = {
    "deposit": TransactionKind.DEPOSIT_REVERSAL,
    "withdrawal": TransactionKind.WITHDRAWAL_REVERSAL,
    "transfer sent": TransactionKind.TRANSFER_REVERSAL,
}


@dataclass(frozen=True)
class LedgerSummary:
    """The ledger's figures, all from one version of one aggregate."""

    balance: Decimal
    total_deposits: Decimal
    total_withdrawals: Decimal
    transaction_count: int
    version: int


class LedgerProcess(BatchProcessApplication):
    """Keeps the bank-wide balance in step with every account."""

    name = "Ledger"
    snapshotting_intervals: ClassVar = {Ledger: 50}
    ignored_events: ClassVar = NOT_A_TRANSACTION  # not even decoded
    # Every movement loads the one ledger: keep it in memory. Fast-forward
    # (on by default) still reads any newer events from the database first,
    # so writes by another process are never missed.
    env: ClassVar = {"AGGREGATE_CACHE_MAXSIZE": "1", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Departs from the library (9.5.6), as Accounts does with its lock
        # stripes (accounts/commands.py, CommandRunner.holding): the library
        # fast-forwards the cached ledger under a lock of its own but
        # deep-copies it after releasing that lock, so a page reading the
        # ledger while the processor brings it up to date could copy a new
        # version with old totals. Every read of it holds this lock.
        self._ledger_lock = threading.Lock()

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        """Every Accounts event is registered below, as followed or as ignored."""

    @policy.register(NOT_A_TRANSACTION)
    def _moves_no_money(
        self, domain_event: Any, processing_event: ProcessingEvent
    ) -> None:
        """Events that move no money are not the ledger's business."""

    @policy.register(account_events.Deposited)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        ledger = self._ledger_for(processing_event)
        ledger.record_deposit(domain_event.amount, domain_event.transaction_id)
        processing_event.collect_events(ledger)

    @policy.register(account_events.Withdrawn)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        ledger = self._ledger_for(processing_event)
        ledger.record_withdrawal(domain_event.amount, domain_event.transaction_id)
        processing_event.collect_events(ledger)

    # Only the sending leg: a transfer is one transaction, not two.
    @policy.register(account_events.TransferSent)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        ledger = self._ledger_for(processing_event)
        ledger.record_transfer(domain_event.amount, domain_event.transaction_id)
        processing_event.collect_events(ledger)

    @policy.register(account_events.Reversed)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        kind = REVERSED_LEGS.get(domain_event.original)
        if kind is None:
            return  # the receiving leg: the same transaction as the sending one
        ledger = self._ledger_for(processing_event)
        # The event's amount is signed for its account; the ledger's record
        # is the original's amount, as record_deposit and the others take it.
        amount, transaction_id = abs(domain_event.amount), domain_event.transaction_id
        if kind is TransactionKind.DEPOSIT_REVERSAL:
            ledger.record_deposit_reversal(amount, transaction_id)
        elif kind is TransactionKind.WITHDRAWAL_REVERSAL:
            ledger.record_withdrawal_reversal(amount, transaction_id)
        else:
            ledger.record_transfer_reversal(amount, transaction_id)
        processing_event.collect_events(ledger)

    def get_ledger(self) -> LedgerSummary:
        """The ledger as it stands (zero before the first transaction)."""
        try:
            ledger = self._get_ledger()
        except AggregateNotFoundError:
            return LedgerSummary(ZERO, ZERO, ZERO, transaction_count=0, version=0)
        return LedgerSummary(
            balance=ledger.balance,
            total_deposits=ledger.total_deposits,
            total_withdrawals=ledger.total_withdrawals,
            transaction_count=ledger.transaction_count,
            version=ledger.version,
        )

    def _ledger_for(self, processing_event: ProcessingEvent) -> Ledger:
        """The ledger as this pull left it, else as stored, else a new one."""
        collected = processing_event.aggregates.get(Ledger.create_id())
        if isinstance(collected, Ledger):
            return collected
        return self._get_or_start_ledger()

    def _get_or_start_ledger(self) -> Ledger:
        try:
            return self._get_ledger()
        except AggregateNotFoundError:
            return Ledger()

    def _get_ledger(self) -> Ledger:
        with self._ledger_lock:
            ledger: Ledger = self.repository.get(Ledger.create_id())
        return ledger


class TransactionLogProcess(BatchProcessApplication):
    """Lists every movement of money in the bank, once, in order."""

    name = "Transactions"
    ignored_events: ClassVar = NOT_A_TRANSACTION  # not even decoded

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(TransactionKindAsName())

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.transaction_log = EventSourcedLog(
            self.events, TRANSACTION_LOG_ID, TransactionLogged
        )

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        """Every Accounts event is registered below, as logged or as ignored."""

    @policy.register(NOT_A_TRANSACTION)
    def _not_a_transaction(
        self, domain_event: Any, processing_event: ProcessingEvent
    ) -> None:
        """Only deposits, withdrawals, transfers and their reversals are logged."""

    @policy.register(account_events.Deposited)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        self._log(TransactionKind.DEPOSIT, domain_event, None, processing_event)

    @policy.register(account_events.Withdrawn)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        self._log(TransactionKind.WITHDRAWAL, domain_event, None, processing_event)

    @policy.register(account_events.TransferSent)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        self._log(
            TransactionKind.TRANSFER,
            domain_event,
            domain_event.to_account_id,
            processing_event,
        )

    @policy.register(account_events.Reversed)
    def _(self, domain_event: Any, processing_event: ProcessingEvent) -> None:
        kind = REVERSED_LEGS.get(domain_event.original)
        if kind is None:
            return  # the receiving leg: the same transaction as the sending one
        # The account is the original's (for a transfer, its sender, and
        # the receiver its counterparty), as the original's entry has them.
        self._log(
            kind,
            domain_event,
            domain_event.counterparty_id,
            processing_event,
            amount=abs(domain_event.amount),
            reverses=domain_event.reverses,
        )

    def get_transactions(
        self, *, before: int | None = None, limit: int = 20
    ) -> list[TransactionLogged]:
        """Newest first; ``before`` is the number of the entry to page back from.

        The log's own events, which are frozen dataclasses: a query may hand
        them out as they are.
        """
        lte = None if before is None else before - 1
        return list(self.transaction_log.get(desc=True, lte=lte, limit=limit))

    def count_transactions(self) -> int:
        """How many movements the log holds."""
        last = self.transaction_log.get_last()
        return last.originator_version if last else 0

    def _log(
        self,
        kind: TransactionKind,
        domain_event: Any,
        counterparty_id: UUID | None,
        processing_event: ProcessingEvent,
        *,
        amount: Decimal | None = None,
        reverses: UUID | None = None,
    ) -> None:
        tracking = processing_event.tracking
        if tracking is None:
            msg = "The transaction log only logs events it follows."
            raise RuntimeError(msg)
        processing_event.collect_events(
            self.transaction_log.trigger_event(
                next_originator_version=self._next_number(processing_event),
                transaction_id=domain_event.transaction_id,
                kind=kind,
                account_id=domain_event.originator_id,
                counterparty_id=counterparty_id,
                amount=domain_event.amount if amount is None else amount,
                occurred_at=domain_event.timestamp,
                position=tracking.notification_id,
                reverses=reverses,
            )
        )

    @staticmethod
    def _next_number(processing_event: ProcessingEvent) -> int | None:
        """After the last entry logged earlier in this pull (None: ask the log)."""
        for event in reversed(processing_event.events):
            if isinstance(event, TransactionLogged):
                return event.originator_version + 1
        return None
