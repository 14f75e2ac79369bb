"""The bank's invariant, checked independently of the code that keeps it.

``audit`` reads the Accounts notification log from the start and folds every
event itself, without the Account aggregate's own code paths, then compares
what it found with the accounts, the ledger, the transaction log and the
followers' positions:

- each account's balance equals the sum of its own movements, and is never
  below minus its overdraft limit;
- no money left a frozen account, and none was closed while frozen (a
  reversal may take money back from one: that is the bank, not the
  customer, moving it);
- the sum of all balances equals the ledger balance equals deposits minus
  withdrawals;
- every movement is in the transaction log exactly once, and nothing else is;
- the ledger and the log record each movement's own amount, on its account;
- every carried-out reversal has one ``Reversed`` event on each of its
  accounts, undoing the original there; pending and rejected ones have
  none; no ``Reversed`` event belongs to no reversal, and no transaction is
  reversed twice (``check_reversals``);
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
from accounts.reversal import (
    APPROVED,
    CARRIED_OUT,
    PENDING,
    REJECTED,
    ReversalApproved,
    ReversalCarriedOut,
    ReversalIndexed,
    ReversalRejected,
    ReversalRequested,
    ReversalRequestedAgain,
)
from esbank_site.operations.projection_audit import ProjectionCheck, check_projections
from esbank_site.operations.reading import PAGE_SIZE, read_log
from ledger.domain import Ledger

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventsourcing.persistence import Notification

    from esbank_site.bank import Bank


# The legs a reversal is counted by, once per reversal, and the kind of
# transaction the transaction log gives it; a transfer's receiving leg is
# the same transaction as its sending one.
COUNTED_REVERSALS = {
    "deposit": "deposit-reversal",
    "withdrawal": "withdrawal-reversal",
    "transfer sent": "transfer-reversal",
}
# What a decision on a Reversal leaves it as.
DECIDED: dict[type[Any], str] = {
    ReversalApproved: APPROVED,
    ReversalRejected: REJECTED,
    ReversalCarriedOut: CARRIED_OUT,
}
# What a carried-out reversal's legs add up to, by its kind and amount.
REVERSAL_SUMS = {"deposit": -1, "withdrawal": 1, "transfer": 0}


@dataclass
class FoldedAccount:
    """An account as the audit's own fold of its events sees it."""

    balance: Decimal = ZERO
    overdraft_limit: Decimal = ZERO
    frozen: bool = False


@dataclass(frozen=True)
class Movement:
    """A deposit, withdrawal, transfer or reversal, and the account it started from.

    As the transaction log lists it: a reversal's kind is the original's
    with ``-reversal`` (``deposit-reversal``), its amount the original's,
    and its account the one a transfer was sent from.
    """

    kind: str
    account_id: UUID
    amount: Decimal
    reverses: UUID | None = None
    to_account_id: UUID | None = None  # a transfer's receiving account


@dataclass(frozen=True)
class ReversedLeg:
    """One ``Reversed`` event, as the audit's fold saw it."""

    account_id: UUID
    version: int
    amount: Decimal  # signed, for its account
    reverses: UUID
    original: str
    # What the reversed leg had changed the balance by (None: no such leg).
    undone: Decimal | None
    # Whether it took the account below its overdraft limit.
    overdrew: bool


@dataclass
class FoldedReversal:
    """A reversal as the audit's own fold of its events sees it."""

    reverses: UUID
    transaction_id: UUID
    kind: str
    amount: Decimal
    account_ids: tuple[UUID, ...]
    freeze: bool
    status: str = PENDING


@dataclass
class AuditReport:
    """What the audit counted, and every mismatch it found."""

    events_checked: int = 0
    accounts: int = 0
    movements: int = 0
    # Net of their reversals, as the ledger's totals are.
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    total_balances: Decimal = ZERO
    ledger_balance: Decimal = ZERO
    reversals_carried_out: int = 0
    reversals_pending: int = 0
    reversals_rejected: int = 0
    projections: list[ProjectionCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.events_checked} events, {self.accounts} accounts, "
            f"{self.movements} movements ({self.reversals_carried_out} "
            f"reversals, {self.reversals_pending} pending, "
            f"{self.reversals_rejected} rejected); deposits £{self.deposits} - "
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
    check_reversals(books, report)
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
    # Every Reversed event, by the reversal's own transaction id.
    reversed_legs: dict[UUID, list[ReversedLeg]] = field(default_factory=dict)
    # Every Reversal, by its id, and the ids the list of reversals names.
    reversals: dict[UUID, FoldedReversal] = field(default_factory=dict)
    listed_reversals: set[UUID] = field(default_factory=set)

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

    # A reversal's own events move no money: what they say is kept for
    # ``check_reversals`` to hold its accounts' ``Reversed`` events against.

    @fold.register(ReversalIndexed)
    def _reversal_listed(self, domain_event: Any) -> None:
        self.listed_reversals.add(domain_event.reversal_id)

    @fold.register(ReversalRequested)
    def _reversal_requested(self, domain_event: Any) -> None:
        self.reversals[domain_event.originator_id] = FoldedReversal(
            reverses=domain_event.reverses,
            transaction_id=domain_event.transaction_id,
            kind=domain_event.kind,
            amount=domain_event.amount,
            account_ids=tuple(domain_event.account_ids),
            freeze=domain_event.freeze,
        )

    @fold.register(ReversalRequestedAgain)
    def _reversal_requested_again(self, domain_event: Any) -> None:
        reversal = self._reversal(domain_event)
        if reversal is not None:
            reversal.transaction_id = domain_event.transaction_id
            reversal.freeze = domain_event.freeze
            reversal.status = PENDING

    @fold.register(ReversalApproved)
    @fold.register(ReversalRejected)
    @fold.register(ReversalCarriedOut)
    def _reversal_decided(self, domain_event: Any) -> None:
        reversal = self._reversal(domain_event)
        if reversal is not None:
            reversal.status = DECIDED[type(domain_event)]

    def _reversal(self, domain_event: Any) -> FoldedReversal | None:
        reversal = self.reversals.get(domain_event.originator_id)
        if reversal is None:
            self.report.problems.append(
                f"{type(domain_event).__qualname__} of reversal "
                f"{domain_event.originator_id}, which was never requested."
            )
        return reversal

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
        self._moved(
            domain_event, -domain_event.amount, "transfer", domain_event.to_account_id
        )

    @fold.register(account_events.Reversed)
    def _reversed(self, domain_event: Any) -> None:
        """A reversal's leg: its signed amount, even out of a frozen account.

        Deposits and withdrawals are counted net of their reversals, as the
        ledger's totals are. A reversal is one transaction, counted by the
        leg that undoes a deposit, a withdrawal or a transfer's sending leg.
        Whether it undid what it says, and whether it could go below the
        overdraft limit (only when it froze the account), is checked with
        its Reversal (``check_reversals``).
        """
        account = self._account(domain_event)
        if account is None:
            return
        change: Decimal = domain_event.amount
        account.balance += change
        original = domain_event.original
        if original == "deposit":
            self.report.deposits += change  # negative: money taken back
        elif original == "withdrawal":
            self.report.withdrawals -= change  # positive: money returned
        if original in COUNTED_REVERSALS:
            self.movements[domain_event.transaction_id] = Movement(
                COUNTED_REVERSALS[original],
                domain_event.originator_id,
                abs(change),
                reverses=domain_event.reverses,
            )
        self.reversed_legs.setdefault(domain_event.transaction_id, []).append(
            ReversedLeg(
                account_id=domain_event.originator_id,
                version=domain_event.originator_version,
                amount=change,
                reverses=domain_event.reverses,
                original=original,
                undone=self._undone(domain_event),
                overdrew=account.balance < -account.overdraft_limit,
            )
        )

    def _undone(self, domain_event: Any) -> Decimal | None:
        """What the leg a ``Reversed`` names changed its account's balance by.

        None if its account has no such leg of that transaction.
        """
        movement = self.movements.get(domain_event.reverses)
        if movement is None:
            return None
        account_id, original = domain_event.originator_id, domain_event.original
        legs = {
            ("deposit", "deposit", movement.account_id): movement.amount,
            ("withdrawal", "withdrawal", movement.account_id): -movement.amount,
            ("transfer", "transfer sent", movement.account_id): -movement.amount,
            ("transfer", "transfer received", movement.to_account_id): movement.amount,
        }
        return legs.get((movement.kind, original, account_id))

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

    def _moved(
        self,
        domain_event: Any,
        change: Decimal,
        kind: str | None,
        to_account_id: UUID | None = None,
    ) -> bool:
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
                kind,
                domain_event.originator_id,
                domain_event.amount,
                to_account_id=to_account_id,
            )
        # Money coming in never breaks the limit, even into an account a
        # reversal (with a freeze) already took below it.
        if change < ZERO and account.balance < -account.overdraft_limit:
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


def check_reversals(books: Books, report: AuditReport) -> None:
    """Every reversal against the ``Reversed`` events the fold found.

    A carried-out reversal has exactly one on each of its accounts, with its
    transaction id, undoing the original there; a pending or rejected one
    has none; every ``Reversed`` event belongs to a carried-out reversal; no
    transaction is reversed twice on an account; the list of reversals
    names each reversal. The reversals are those the same fold found, read
    with the ``Reversed`` events from the same pass over the log, so a
    reversal carried out while the audit runs is not taken for a mismatch.
    """
    legs_of = dict(books.reversed_legs)
    times: Counter[tuple[UUID, UUID]] = Counter(
        (leg.reverses, leg.account_id) for legs in legs_of.values() for leg in legs
    )
    for (reverses, account_id), count in times.items():
        if count > 1:
            report.problems.append(
                f"Transaction {reverses} is reversed {count} times on account "
                f"{account_id}."
            )
    for reversal_id, reversal in books.reversals.items():
        legs = legs_of.pop(reversal.transaction_id, [])
        if reversal.status == CARRIED_OUT:
            report.reversals_carried_out += 1
            _check_carried_out(reversal_id, reversal, legs, report)
            continue
        if reversal.status == REJECTED:
            report.reversals_rejected += 1
        else:
            report.reversals_pending += 1
        if legs:
            report.problems.append(
                f"Reversal {reversal_id} of transaction {reversal.reverses} is "
                f"{reversal.status}, but moved money: {_legs_named(legs)}."
            )
    for reversal_id in books.reversals.keys() - books.listed_reversals:
        report.problems.append(
            f"Reversal {reversal_id} is missing from the list of reversals."
        )
    for reversal_id in books.listed_reversals - books.reversals.keys():
        report.problems.append(
            f"The list of reversals names {reversal_id}, which was never requested."
        )
    for transaction_id, legs in legs_of.items():
        report.problems.append(
            f"Reversed events of transaction {transaction_id} belong to no "
            f"carried-out reversal: {_legs_named(legs)}."
        )
        report.problems.extend(_overdrawn(leg) for leg in legs if leg.overdrew)


def _check_carried_out(
    reversal_id: UUID,
    reversal: FoldedReversal,
    legs: list[ReversedLeg],
    report: AuditReport,
) -> None:
    """One ``Reversed`` per account of ``reversal``, each undoing its leg."""
    named = f"Reversal {reversal_id} of transaction {reversal.reverses}"
    on: Counter[UUID] = Counter(leg.account_id for leg in legs)
    for account_id in reversal.account_ids:
        if on[account_id] != 1:
            report.problems.append(
                f"{named} has {on[account_id]} Reversed event(s) on account "
                f"{account_id}; it should have one."
            )
    strangers = [leg for leg in legs if leg.account_id not in reversal.account_ids]
    if strangers:
        report.problems.append(
            f"{named} moved money on accounts not its own: {_legs_named(strangers)}."
        )
    for leg in legs:
        where = f"account {leg.account_id} (version {leg.version})"
        if leg.reverses != reversal.reverses:
            report.problems.append(
                f"{named} reverses transaction {leg.reverses} on {where}."
            )
        elif leg.undone is None:
            report.problems.append(
                f"{named} undoes a {leg.original} on {where}, which that "
                "transaction did not make there."
            )
        elif leg.amount != -leg.undone:
            report.problems.append(
                f"{named} changed {where} by £{leg.amount}; the {leg.original} "
                f"it undoes changed it by £{leg.undone}."
            )
        if leg.overdrew and not reversal.freeze:
            report.problems.append(_overdrawn(leg))
    expected = REVERSAL_SUMS.get(reversal.kind, 0) * reversal.amount
    total = sum((leg.amount for leg in legs), ZERO)
    if total != expected:
        report.problems.append(
            f"{named}, a {reversal.kind} of £{reversal.amount}, changed balances "
            f"by £{total} in all; it should have changed them by £{expected}."
        )


def _legs_named(legs: list[ReversedLeg]) -> str:
    return ", ".join(
        f"£{leg.amount} on account {leg.account_id} (version {leg.version})"
        for leg in legs
    )


def _overdrawn(leg: ReversedLeg) -> str:
    return (
        f"A reversal took account {leg.account_id} below its overdraft limit "
        f"without freezing it (version {leg.version})."
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
            reverses = getattr(entry, "reverses", None)
            if movement and movement.reverses != reverses:
                report.problems.append(
                    f"Transaction {entry.transaction_id} on account "
                    f"{movement.account_id} is logged as reversing {reverses}; "
                    f"it reverses {movement.reverses}."
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
