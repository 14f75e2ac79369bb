"""The bank's invariant, checked independently of the code that keeps it.

``audit`` reads the Accounts notification log from the start and folds every
event itself, without the Account aggregate's own code paths, then compares
what it found with the accounts, the ledger, the transaction log and the
followers' positions:

- each account's balance equals the sum of its own movements, and is never
  below minus its overdraft limit;
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

from accounts.domain import (
    AccountOpened,
    Deposited,
    OverdraftLimitSet,
    TransferReceived,
    TransferSent,
    Withdrawn,
)
from accounts.money import ZERO
from esbank_site.operations.projection_audit import ProjectionCheck, check_projections
from ledger.domain import Ledger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from esbank_site.bank import Bank

PAGE_SIZE = 500


@dataclass
class FoldedAccount:
    """An account as the audit's own fold of its events sees it."""

    balance: Decimal = ZERO
    overdraft_limit: Decimal = ZERO


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
    folded: dict[UUID, FoldedAccount] = {}
    movements: dict[UUID, Movement] = {}
    for domain_event in _all_account_events(bank, report):
        report.events_checked += 1
        _fold(domain_event, folded, movements, report)
        if progress is not None and report.events_checked % PAGE_SIZE == 0:
            progress(report.events_checked)
    report.accounts = len(folded)
    report.movements = len(movements)
    report.total_balances = sum((a.balance for a in folded.values()), ZERO)

    _check_accounts(bank, folded, report)
    _check_ledger(bank, report)
    _check_transaction_log(bank, movements, report)
    _check_ledger_entries(bank, movements, report)
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


def _all_account_events(bank: Bank, report: AuditReport) -> Iterator[Any]:
    """Every event in the Accounts log; unreadable ones become problems."""
    recorder = bank.accounts.recorder
    mapper = bank.accounts.mapper
    start = 1
    while notifications := recorder.select_notifications(start, PAGE_SIZE):
        for notification in notifications:
            try:
                yield mapper.to_domain_event(notification)
            except Exception as error:  # noqa: BLE001 (damage is a finding)
                report.problems.append(
                    f"Event {notification.originator_version} of "
                    f"{notification.originator_id} (position {notification.id}) "
                    f"cannot be read: {error}"
                )
        start = notifications[-1].id + 1


def _fold(
    domain_event: Any,
    folded: dict[UUID, FoldedAccount],
    movements: dict[UUID, Movement],
    report: AuditReport,
) -> None:
    account_id = domain_event.originator_id
    if isinstance(domain_event, AccountOpened):
        folded[account_id] = FoldedAccount()
        return
    account = folded.get(account_id)
    if isinstance(domain_event, OverdraftLimitSet) and account:
        account.overdraft_limit = domain_event.limit
    elif isinstance(domain_event, Deposited) and account:
        account.balance += domain_event.amount
        report.deposits += domain_event.amount
        movements[domain_event.transaction_id] = Movement(
            "deposit", account_id, domain_event.amount
        )
    elif isinstance(domain_event, Withdrawn) and account:
        account.balance -= domain_event.amount
        report.withdrawals += domain_event.amount
        movements[domain_event.transaction_id] = Movement(
            "withdrawal", account_id, domain_event.amount
        )
    elif isinstance(domain_event, TransferSent) and account:
        account.balance -= domain_event.amount
        movements[domain_event.transaction_id] = Movement(
            "transfer", account_id, domain_event.amount
        )
    elif isinstance(domain_event, TransferReceived) and account:
        account.balance += domain_event.amount
    elif isinstance(
        domain_event, Deposited | Withdrawn | TransferSent | TransferReceived
    ):
        report.problems.append(f"Money moved on unknown account {account_id}.")
        return
    if account and account.balance < -account.overdraft_limit:
        report.problems.append(
            f"Account {account_id} went to £{account.balance}, below its "
            f"overdraft limit of £{account.overdraft_limit} "
            f"(version {domain_event.originator_version})."
        )


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
