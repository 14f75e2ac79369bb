"""The bank's invariant, checked independently of the code that keeps it.

``audit`` reads the Accounts notification log from the start and folds every
event itself, without the Account aggregate's own code paths, then compares
what it found with the accounts, the ledger, the transaction log and the
followers' positions:

- each account's balance equals the sum of its own movements, and is never
  below minus its overdraft limit;
- no money left a frozen account, and none was closed while frozen;
- the sum of all balances equals the ledger balance equals deposits minus
  withdrawals;
- every movement is in the transaction log exactly once, and nothing else is;
- the ledger and the log record each movement's own amount, on its account;
- every follower is at its leader's head;
- every projection, recomputed from the events, equals its read model
  (``esbank_site.operations.projection_audit``).

Every mismatch that concerns one account names it.

Tests, ``manage.py bank_audit`` and the adversarial suites all use it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod

from accounts import domain as account_events
from accounts.money import ZERO
from esbank_site.operations.projection_audit import ProjectionCheck, check_projections
from esbank_site.operations.reading import PAGE_SIZE, read_log
from ledger.domain import Ledger

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventsourcing.persistence import Notification

    from esbank_site.bank import Bank


@dataclass
class FoldedAccount:
    """An account as the audit's own fold of its events sees it."""

    balance: Decimal = ZERO
    overdraft_limit: Decimal = ZERO
    frozen: bool = False


@dataclass(frozen=True)
class Movement:
    """A deposit, withdrawal or transfer, and the account it started from."""

    kind: str
    account_id: UUID
    amount: Decimal


@dataclass
class AuditReport:
    """What the audit counted, and every mismatch it found."""

    events_checked: int = 0
    accounts: int = 0
    movements: int = 0
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    total_balances: Decimal = ZERO
    ledger_balance: Decimal = ZERO
    projections: list[ProjectionCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.events_checked} events, {self.accounts} accounts, "
            f"{self.movements} movements; deposits £{self.deposits} - "
            f"withdrawals £{self.withdrawals} = £{self.deposits - self.withdrawals}; "
            f"balances £{self.total_balances}; ledger £{self.ledger_balance}; "
            f"{len(self.problems)} problem(s)"
        )


def audit(
    bank: Bank,
    *,
    require_followers_at_head: bool = True,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Fold the whole Accounts log and check the invariant; never raises.

    ``progress`` is called with the number of events folded so far, every
    ``PAGE_SIZE`` events, for a long audit to show how far it got.
    """
    report = AuditReport()
    books = Books(report)

    def unreadable(notification: Notification, error: Exception) -> None:
        report.problems.append(
            f"Event {notification.originator_version} of "
            f"{notification.originator_id} (position {notification.id}) "
            f"cannot be read: {error}"
        )

    for domain_event in read_log(bank.accounts, unreadable=unreadable):
        report.events_checked += 1
        books.fold(domain_event)
        if progress is not None and report.events_checked % PAGE_SIZE == 0:
            progress(report.events_checked)
    report.accounts = len(books.accounts)
    report.movements = len(books.movements)
    report.total_balances = sum((a.balance for a in books.accounts.values()), ZERO)

    _check_accounts(bank, books.accounts, report)
    _check_ledger(bank, report)
    _check_transaction_log(bank, books.movements, report)
    _check_ledger_entries(bank, books.movements, report)
    for check in check_projections(bank):
        report.projections.append(check)
        report.problems.extend(check.problems)
    if require_followers_at_head:
        for status in bank.processor_status():
            if status.lag:
                report.problems.append(
                    f"{status.name} is {status.lag} notification(s) behind "
                    f"{status.leader} (at {status.position} "
                    f"of {status.leader_position})."
                )
    return report


@dataclass
class Books:
    """The audit's own fold of the Accounts log: every balance and movement.

    It dispatches on each event's class, as the followers and the projection
    do, with code of its own: a bug in the aggregate or a follower is not
    copied here. Every Accounts event is registered, as folded or as
    ignored; an event the audit does not know is itself a problem.
    """

    report: AuditReport
    accounts: dict[UUID, FoldedAccount] = field(default_factory=dict)
    movements: dict[UUID, Movement] = field(default_factory=dict)

    @singledispatchmethod
    def fold(self, domain_event: Any) -> None:
        self.report.problems.append(
            f"The audit does not know {type(domain_event).__qualname__} events "
            f"(event {domain_event.originator_version} of "
            f"{domain_event.originator_id})."
        )

    @fold.register(account_events.ReceiptIssued)
    @fold.register(account_events.AccountIndexed)
    @fold.register(account_events.AccountNumberReserved)
    @fold.register(account_events.NumberAssigned)
    def _moves_nothing(self, domain_event: Any) -> None:
        """Receipts, index entries and numbers belong to no account's balance."""

    @fold.register(account_events.AccountOpened)
    def _opened(self, domain_event: Any) -> None:
        self.accounts[domain_event.originator_id] = FoldedAccount()

    @fold.register(account_events.OverdraftLimitSet)
    def _limit_set(self, domain_event: Any) -> None:
        account = self._account(domain_event)
        if account is not None:
            account.overdraft_limit = domain_event.limit

    @fold.register(account_events.AccountFrozen)
    @fold.register(account_events.AccountUnfrozen)
    def _frozen_or_unfrozen(self, domain_event: Any) -> None:
        account = self._account(domain_event)
        if account is not None:
            account.frozen = isinstance(domain_event, account_events.AccountFrozen)

    @fold.register(account_events.AccountClosed)
    def _closed(self, domain_event: Any) -> None:
        account = self._account(domain_event)
        if account is not None and account.balance != ZERO:
            self.report.problems.append(
                f"Account {domain_event.originator_id} was closed holding "
                f"£{account.balance}."
            )
        if account is not None and account.frozen:
            self.report.problems.append(
                f"Account {domain_event.originator_id} was closed while frozen."
            )

    @fold.register(account_events.Deposited)
    def _deposited(self, domain_event: Any) -> None:
        if self._moved(domain_event, domain_event.amount, "deposit"):
            self.report.deposits += domain_event.amount

    @fold.register(account_events.Withdrawn)
    def _withdrawn(self, domain_event: Any) -> None:
        if self._moved(domain_event, -domain_event.amount, "withdrawal"):
            self.report.withdrawals += domain_event.amount

    @fold.register(account_events.TransferSent)
    def _transfer_sent(self, domain_event: Any) -> None:
        self._moved(domain_event, -domain_event.amount, "transfer")

    @fold.register(account_events.TransferReceived)
    def _transfer_received(self, domain_event: Any) -> None:
        # The sending leg is the transfer's movement; this one only credits.
        self._moved(domain_event, domain_event.amount, None)

    def _account(self, domain_event: Any) -> FoldedAccount | None:
        account = self.accounts.get(domain_event.originator_id)
        if account is None:
            self.report.problems.append(
                f"{type(domain_event).__name__} on unknown account "
                f"{domain_event.originator_id}."
            )
        return account

    def _moved(self, domain_event: Any, change: Decimal, kind: str | None) -> bool:
        """Apply a movement to its account; False if there is no such account."""
        account = self._account(domain_event)
        if account is None:
            return False
        if change < ZERO and account.frozen:
            self.report.problems.append(
                f"£{-change} left account {domain_event.originator_id} while it "
                f"was frozen (version {domain_event.originator_version})."
            )
        account.balance += change
        if kind is not None:
            self.movements[domain_event.transaction_id] = Movement(
                kind, domain_event.originator_id, domain_event.amount
            )
        if account.balance < -account.overdraft_limit:
            self.report.problems.append(
                f"Account {domain_event.originator_id} went to £{account.balance}, "
                f"below its overdraft limit of £{account.overdraft_limit} "
                f"(version {domain_event.originator_version})."
            )
        return True


def _check_accounts(
    bank: Bank, folded: dict[UUID, FoldedAccount], report: AuditReport
) -> None:
    for account_id, expected in folded.items():
        try:
            balance = bank.accounts.get_account(account_id).balance
        except Exception as error:  # noqa: BLE001 (a broken account is a finding)
            report.problems.append(f"Account {account_id} cannot be read: {error!r}")
            continue
        if balance != expected.balance:
            report.problems.append(
                f"Account {account_id} says £{balance}; its events add up to "
                f"£{expected.balance}."
            )


def _check_ledger(bank: Bank, report: AuditReport) -> None:
    ledger = bank.ledger().get_ledger()
    report.ledger_balance = ledger.balance
    expected = report.deposits - report.withdrawals
    if report.total_balances != expected:
        report.problems.append(
            f"Balances add up to £{report.total_balances}, but deposits minus "
            f"withdrawals is £{expected}."
        )
    if ledger.balance != expected:
        report.problems.append(
            f"The ledger says £{ledger.balance}; deposits minus withdrawals is "
            f"£{expected}."
        )
    if ledger.transaction_count != report.movements:
        report.problems.append(
            f"The ledger counted {ledger.transaction_count} transactions; "
            f"the accounts record {report.movements}."
        )


def _check_transaction_log(
    bank: Bank, movements: dict[UUID, Movement], report: AuditReport
) -> None:
    log = bank.transaction_log().transaction_log
    logged: Counter[UUID] = Counter()
    accounts_of: dict[UUID, UUID] = {}
    after = None
    while entries := list(log.get(gt=after, limit=PAGE_SIZE)):
        for entry in entries:
            logged[entry.transaction_id] += 1
            accounts_of[entry.transaction_id] = entry.account_id
            movement = movements.get(entry.transaction_id)
            if movement and movement.kind != entry.kind.value:
                report.problems.append(
                    f"Transaction {entry.transaction_id} on account "
                    f"{movement.account_id} is logged as a {entry.kind.value} "
                    f"but was a {movement.kind}."
                )
            if movement and movement.amount != entry.amount:
                report.problems.append(
                    f"Transaction {entry.transaction_id} on account "
                    f"{movement.account_id} is logged as £{entry.amount}; "
                    f"the account recorded £{movement.amount}."
                )
            if movement and movement.account_id != entry.account_id:
                report.problems.append(
                    f"Transaction {entry.transaction_id} on account "
                    f"{movement.account_id} is logged on account {entry.account_id}."
                )
        after = entries[-1].originator_version
    for transaction_id, count in logged.items():
        if count > 1:
            report.problems.append(
                f"Transaction {transaction_id} is logged {count} times."
            )
        if transaction_id not in movements:
            report.problems.append(
                f"Transaction {transaction_id} on account "
                f"{accounts_of[transaction_id]} is logged but never happened."
            )
    missing = [t for t in movements if t not in logged]
    if missing:
        first = movements[missing[0]]
        report.problems.append(
            f"{len(missing)} transaction(s) missing from the log, e.g. "
            f"{missing[0]}, a {first.kind} on account {first.account_id}."
        )


def _check_ledger_entries(
    bank: Bank, movements: dict[UUID, Movement], report: AuditReport
) -> None:
    """Each movement the ledger recorded, with the amount its account recorded."""
    ledger = bank.ledger()
    for entry in ledger.events.get(Ledger.create_id()):
        transaction_id = getattr(entry, "transaction_id", None)
        movement = movements.get(transaction_id) if transaction_id else None
        if movement is None:
            continue  # counted, and compared in total, by _check_ledger
        amount: Decimal = entry.amount  # type: ignore[attr-defined]
        if amount != movement.amount:
            report.problems.append(
                f"Transaction {transaction_id} on account {movement.account_id}: "
                f"the ledger recorded £{amount}, the account £{movement.amount}."
            )
