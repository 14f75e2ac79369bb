"""Accounts: the application (service layer) that owns every account.

Commands load an aggregate, call one method on it and save, retrying a
bounded number of times when another request saved the same account first.
Queries return small frozen dataclasses, never aggregates, so nothing
outside this module can change an account without going through a command.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    EventSourcedLog,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from accounts.domain import (
    ALL_ACCOUNTS_LOG_ID,
    MONEY_EVENTS,
    Account,
    AccountIndexed,
    Deposited,
    Receipt,
    TransferReceived,
    TransferSent,
    clean_description,
    owner_log_id,
    signed_amount,
)
from accounts.errors import (
    AccountNotFoundError,
    BankError,
    ConflictError,
    IdempotencyKeyReusedError,
    VersionNotFoundError,
)
from accounts.money import to_amount, to_overdraft_limit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from eventsourcing.domain import DomainEvent

T = TypeVar("T")

# In-process locks that commands on the same account share (see _retrying).
LOCK_STRIPES = 64

# Accounts kept in memory by each process (see Accounts.env): about 0.7 KB
# each, so about 4 MB at most; the least recently read beyond that are
# dropped, and rebuilt from their latest snapshot when next read.
ACCOUNTS_CACHED = 5000


@dataclass(frozen=True)
class AccountSummary:
    """An account as pages show it."""

    id: UUID
    owner: str
    name: str
    currency: str
    balance: Decimal
    overdraft_limit: Decimal
    is_closed: bool
    version: int
    opened_at: datetime
    last_activity_at: datetime

    @property
    def available(self) -> Decimal:
        """What can still be withdrawn, overdraft included."""
        return self.balance + self.overdraft_limit


@dataclass(frozen=True)
class StatementLine:
    """One movement of money on an account, with the balance after it."""

    version: int
    timestamp: datetime
    kind: str
    amount: Decimal  # signed: + money in, - money out
    balance: Decimal
    transaction_id: UUID
    counterparty_id: UUID | None
    description: str


@dataclass(frozen=True)
class RecentStatement:
    """A page of an account's movements, and what lies either side of it."""

    lines: list[StatementLine]  # oldest first
    opening_balance: Decimal  # the balance before the first of these lines
    has_earlier: bool  # whether older movements exist
    has_later: bool = False  # whether newer ones exist, up to the version asked
    # The ``before`` that asks for the page of newer lines; None: the latest.
    later_before: int | None = None


@dataclass(frozen=True)
class RecordedEvent:
    """A stored domain event, for the staff timeline."""

    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


# How a statement names each kind of movement.
_KINDS = {
    "Deposited": "Deposit",
    "Withdrawn": "Withdrawal",
    "TransferSent": "Transfer out",
    "TransferReceived": "Transfer in",
}


class Accounts(Application):
    """Opens accounts and moves money between them."""

    name = "Accounts"
    snapshotting_intervals: ClassVar = {Account: 50}
    # Keep the accounts a process reads in the library's aggregate cache: a
    # get then reads only the events recorded since it last read the account
    # (one query), not the latest snapshot and every event after it. With
    # fast-forward every get reads those newer events, so writes by other
    # processes are never missed. The cache only ever holds what was read
    # from the database, and hands out deep copies: a command's changes
    # reach it once saved and read back, so a save refused by a conflict
    # leaves nothing behind, and the retry reads the winner's events.
    env: ClassVar = {
        "AGGREGATE_CACHE_MAXSIZE": str(ACCOUNTS_CACHED),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }

    # Retries for commands that lose a race to save the same account.
    max_attempts = 8
    retry_base_delay = 0.005

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Reentrant: a command holds its accounts' stripes while it reads them.
        self._stripes = [threading.RLock() for _ in range(LOCK_STRIPES)]
        self.account_index = EventSourcedLog(
            self.events, ALL_ACCOUNTS_LOG_ID, AccountIndexed
        )

    # Commands.

    def open_account(self, owner: str, name: str) -> UUID:
        """Open an empty account; return its id."""
        Account.open(owner=owner, name=name)  # refuse bad names before retrying

        def attempt() -> UUID:
            account = Account.open(owner=owner, name=name)
            self.save(
                account,
                self.account_index.trigger_event(account_id=account.id),
                self._owner_index(account.owner).trigger_event(account_id=account.id),
            )
            return account.id

        return self._retrying(attempt, ALL_ACCOUNTS_LOG_ID)

    def deposit(
        self,
        account_id: UUID,
        amount: Decimal | int | str,
        *,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> UUID:
        """Pay money in, with an optional reference; return the transaction id."""
        amount = to_amount(amount)
        description = clean_description(description)

        def move(transaction_id: UUID) -> list[Account]:
            account = self._get_account(account_id)
            account.deposit(amount, transaction_id, description)
            return [account]

        command = f"deposit {account_id} {amount} {description}"
        return self._move_money(command, move, idempotency_key, account_id)

    def withdraw(
        self,
        account_id: UUID,
        amount: Decimal | int | str,
        *,
        idempotency_key: str | None = None,
    ) -> UUID:
        """Take money out; return the transaction id."""
        amount = to_amount(amount)

        def move(transaction_id: UUID) -> list[Account]:
            account = self._get_account(account_id)
            account.withdraw(amount, transaction_id)
            return [account]

        command = f"withdraw {account_id} {amount}"
        return self._move_money(command, move, idempotency_key, account_id)

    def transfer(
        self,
        from_account_id: UUID,
        to_account_id: UUID,
        amount: Decimal | int | str,
        *,
        idempotency_key: str | None = None,
    ) -> UUID:
        """Move money between two accounts atomically; return the transaction id."""
        amount = to_amount(amount)

        def move(transaction_id: UUID) -> list[Account]:
            source = self._get_account(from_account_id)
            if to_account_id == from_account_id:
                target = source  # refused by the aggregate, with its message
            else:
                target = self._get_account(to_account_id)
            source.send_transfer(amount, target, transaction_id)
            # Both legs are saved together: one database transaction.
            return [source, target]

        command = f"transfer {from_account_id} {to_account_id} {amount}"
        return self._move_money(
            command, move, idempotency_key, from_account_id, to_account_id
        )

    def set_overdraft_limit(self, account_id: UUID, limit: Decimal | int | str) -> None:
        """Let the account's balance go down to minus ``limit``."""
        limit = to_overdraft_limit(limit)

        def attempt() -> None:
            account = self._get_account(account_id)
            account.set_overdraft_limit(limit)
            self.save(account)

        self._retrying(attempt, account_id)

    def take_snapshot_now(self, account_id: UUID) -> int:
        """Snapshot the account at its current version; return that version.

        Snapshots are also taken automatically every 50 events; this lets
        staff take one on demand and see the next read start from it.
        """
        version = self._get_account(account_id).version
        if version not in self.get_snapshot_versions(account_id):
            self.take_snapshot(account_id, version=version)
        return version

    def close_account(self, account_id: UUID) -> None:
        """Close an account whose balance is zero."""

        def attempt() -> None:
            account = self._get_account(account_id)
            account.close()
            self.save(account)

        self._retrying(attempt, account_id)

    # Queries.

    def get_account(
        self, account_id: UUID, version: int | None = None
    ) -> AccountSummary:
        """The account now, or as it was at ``version``."""
        return _summarise(self._get_account(account_id, version))

    def get_account_at(self, account_id: UUID, moment: datetime) -> AccountSummary:
        """The account as it was at ``moment``: time travel by timestamp.

        Finds the last event recorded at or before ``moment`` and rebuilds
        the account at that event's version.
        """
        versions = [
            e.originator_version
            for e in self._get_events(account_id)
            if e.timestamp <= moment
        ]
        if not versions:
            msg = (
                f"Account {account_id} was not open yet at {moment:%Y-%m-%d %H:%M:%S}."
            )
            raise AccountNotFoundError(account_id, msg)
        return self.get_account(account_id, version=versions[-1])

    def get_accounts(self, account_ids: Iterable[UUID]) -> list[AccountSummary]:
        """Several accounts, in the order asked."""
        return [self.get_account(account_id) for account_id in account_ids]

    def list_account_ids(self, after: int | None = None, limit: int = 50) -> list[UUID]:
        """Ids of accounts in opening order, from the event-sourced index."""
        return [e.account_id for e in self.account_index.get(gt=after, limit=limit)]

    def count_accounts(self) -> int:
        """How many accounts were ever opened."""
        last = self.account_index.get_last()
        return last.originator_version if last else 0

    def list_owner_account_ids(self, owner: str) -> list[UUID]:
        """Ids of the accounts ``owner`` opened, oldest first."""
        return [e.account_id for e in self._owner_index(owner).get()]

    def get_statement(self, account_id: UUID) -> list[StatementLine]:
        """Every movement of money on the account, oldest first."""
        lines = []
        balance = Decimal("0.00")
        for domain_event in self._get_events(account_id):
            if isinstance(domain_event, MONEY_EVENTS):
                balance += signed_amount(domain_event)
                lines.append(_statement_line(domain_event, balance))
        return lines

    def get_recent_statement(
        self,
        account_id: UUID,
        *,
        upto_version: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> RecentStatement:
        """The latest ``limit`` movements up to ``upto_version``, oldest first.

        With ``before``, an older page: the latest ``limit`` movements
        recorded before that version (one beyond ``upto_version`` asks for
        the latest page). ``later_before`` then says which ``before`` asks for
        the ``limit`` movements after these, so pages line up both ways.

        Its cost does not grow with the account's history: the balance comes
        from the account as of the page's last version (a snapshot and the
        events after it), the lines are read newest first, working the
        running balance backwards from it, and at most ``limit + 1`` newer
        movements are read to place the page of newer ones.
        """
        if before is not None and upto_version is None:
            upto_version = self._get_account(account_id).version
        last = upto_version
        if before is not None and upto_version is not None:
            last = min(before - 1, upto_version)
        account = self._get_account(account_id, last)
        balance = account.balance
        newest_first: list[StatementLine] = []
        has_earlier = False
        lte = account.version
        while lte >= 1 and not has_earlier:
            page = list(
                self.events.get(account_id, lte=lte, desc=True, limit=limit + 1)
            )
            if not page:
                break
            for domain_event in page:
                if not isinstance(domain_event, MONEY_EVENTS):
                    continue
                if len(newest_first) == limit:
                    has_earlier = True
                    break
                newest_first.append(_statement_line(domain_event, balance))
                balance -= signed_amount(domain_event)
            lte = page[-1].originator_version - 1
        later = self._later_movements(
            account_id, account.version, upto_version or account.version, limit + 1
        )
        return RecentStatement(
            lines=newest_first[::-1],
            opening_balance=balance,
            has_earlier=has_earlier,
            has_later=bool(later),
            later_before=later[limit] if len(later) > limit else None,
        )

    def _later_movements(
        self, account_id: UUID, after: int, upto: int, limit: int
    ) -> list[int]:
        """Versions of the first ``limit`` movements after ``after``, to ``upto``."""
        versions: list[int] = []
        while after < upto and len(versions) < limit:
            page = list(self.events.get(account_id, gt=after, lte=upto, limit=limit))
            if not page:
                break
            versions += [
                e.originator_version for e in page if isinstance(e, MONEY_EVENTS)
            ]
            after = page[-1].originator_version
        return versions[:limit]

    def get_history(self, account_id: UUID) -> list[RecordedEvent]:
        """Every stored event of the account, oldest first, for staff."""
        return [
            RecordedEvent(
                version=e.originator_version,
                type=type(e).__name__,
                timestamp=e.timestamp,
                data={
                    key: value
                    for key, value in e.__dict__.items()
                    if key not in ("originator_id", "originator_version", "timestamp")
                },
            )
            for e in self._get_events(account_id)
        ]

    def get_snapshot_versions(self, account_id: UUID) -> list[int]:
        """Versions at which a snapshot of the account is stored."""
        if self.snapshots is None:
            return []
        return [s.originator_version for s in self.snapshots.get(account_id)]

    # Helpers.

    def _get_account(self, account_id: UUID, version: int | None = None) -> Account:
        if version is not None and version < 1:
            raise VersionNotFoundError(account_id, version)
        try:
            account: object = (
                self._get_latest(account_id)
                if version is None
                else self.repository.get(account_id, version=version)
            )
        except AggregateNotFoundError:
            raise AccountNotFoundError(account_id) from None
        if not isinstance(account, Account):
            raise AccountNotFoundError(account_id)
        # The repository reads events up to ``version``: asked for a version
        # the account has not reached, it would quietly return the latest.
        if version is not None and account.version != version:
            raise VersionNotFoundError(account_id, version, latest=account.version)
        return account

    def _get_latest(self, aggregate_id: UUID) -> object:
        """The aggregate as it stands now, a deep copy of the cached one.

        The library brings the cached aggregate up to date under a lock of
        its own, but copies it after releasing that lock; a copy taken while
        another thread updated it could pair a new version with an old
        balance. Holding the aggregate's stripe, as its commands do, keeps
        other threads of this process from updating it until it is copied.
        """
        with self._stripes[self._stripe_number(aggregate_id)]:
            return self.repository.get(aggregate_id)

    def _get_events(self, account_id: UUID) -> list[DomainEvent]:
        events = cast("list[DomainEvent]", list(self.events.get(account_id)))
        if not events or not isinstance(events[0], Account.Opened):  # type: ignore[attr-defined]
            raise AccountNotFoundError(account_id)
        return events

    def _owner_index(self, owner: str) -> EventSourcedLog[AccountIndexed]:
        return EventSourcedLog(self.events, owner_log_id(owner), AccountIndexed)

    def _move_money(
        self,
        command: str,
        move: Callable[[UUID], list[Account]],
        idempotency_key: str | None,
        *account_ids: UUID,
    ) -> UUID:
        """Run a money-moving command once, and at most once per idempotency key.

        A receipt saved in the same transaction as the money records the
        outcome. It is saved without looking for it first: its id comes
        from the key, so if the key was used before, the store refuses the
        whole save, and only then is the receipt read, to answer with the
        first outcome. Concurrent duplicates are settled the same way.

        Every attempt uses the same transaction id. If a save committed but
        its reply was lost (the library retries an insert after a dropped
        connection, and the retry then collides with the committed events),
        the receipt, or else the next attempt, finds that id among what was
        recorded and returns it, instead of moving the money a second time.
        """
        transaction_id = uuid4()
        loaded: dict[UUID, int] = {}  # version of the first account, as loaded

        def attempt() -> UUID:
            if loaded and self._has_recorded(transaction_id, *loaded.popitem()):
                return transaction_id
            try:
                accounts = move(transaction_id)
                loaded[accounts[0].id] = accounts[0].version - 1
                receipt = None
                if idempotency_key is not None:
                    receipt = Receipt(
                        idempotency_key=idempotency_key,
                        command=command,
                        transaction_id=transaction_id,
                    )
                # @aggregate made Receipt an Aggregate, which mypy cannot see.
                self.save(*accounts, cast("Aggregate | None", receipt))
            except (BankError, IntegrityError):
                # Refused by an account (not enough money now, say) or by the
                # store (this key's receipt exists, or another process saved
                # one of these accounts first). A key used before answers as
                # it did then; otherwise the refusal stands, and _retrying
                # tries a conflict again.
                first = self._first_outcome(idempotency_key, command)
                if first is None:
                    raise
                return first
            return transaction_id

        return self._retrying(attempt, *account_ids)

    def _has_recorded(
        self, transaction_id: UUID, account_id: UUID, after_version: int
    ) -> bool:
        """Whether an event after ``after_version`` carries ``transaction_id``."""
        return any(
            getattr(e, "transaction_id", None) == transaction_id
            for e in self.events.get(account_id, gt=after_version)
        )

    def _first_outcome(self, idempotency_key: str | None, command: str) -> UUID | None:
        """The transaction id of the key's first use, or None if it is unused.

        Raises IdempotencyKeyReusedError if the key was first used for a
        different command.
        """
        if idempotency_key is None:
            return None
        try:
            receipt: Receipt = self.repository.get(Receipt.create_id(idempotency_key))
        except AggregateNotFoundError:
            return None
        if receipt.command != command:
            raise IdempotencyKeyReusedError
        return receipt.transaction_id

    def _retrying(self, attempt: Callable[[], T], *aggregate_ids: UUID) -> T:
        """Call ``attempt`` until it saves without a version conflict.

        Within this process, commands on the same aggregates take turns
        (striped locks, always taken in the same order, so two transfers in
        opposite directions cannot deadlock): threads then never collide,
        and retries are left for races with other processes.
        """
        stripes = sorted({self._stripe_number(i) for i in aggregate_ids})
        with contextlib.ExitStack() as held:
            for stripe in stripes:
                held.enter_context(self._stripes[stripe])
            for attempt_number in range(self.max_attempts):
                try:
                    return attempt()
                except IntegrityError:
                    # Another process saved one of these aggregates first:
                    # back off a little (with jitter), reload and try again.
                    delay = self.retry_base_delay * 2**attempt_number
                    time.sleep(random.uniform(0, delay))  # noqa: S311
        raise ConflictError

    def _stripe_number(self, aggregate_id: UUID) -> int:
        return hash(aggregate_id) % len(self._stripes)


def _summarise(account: Account) -> AccountSummary:
    return AccountSummary(
        id=account.id,
        owner=account.owner,
        name=account.name,
        currency=account.currency,
        balance=account.balance,
        overdraft_limit=account.overdraft_limit,
        is_closed=account.is_closed,
        version=account.version,
        opened_at=account.created_on,
        last_activity_at=account.modified_on,
    )


def _statement_line(domain_event: Any, balance: Decimal) -> StatementLine:
    """The statement's line for a money event, with the balance after it."""
    return StatementLine(
        version=domain_event.originator_version,
        timestamp=domain_event.timestamp,
        kind=_KINDS[type(domain_event).__name__],
        amount=signed_amount(domain_event),
        balance=balance,
        transaction_id=domain_event.transaction_id,
        counterparty_id=_counterparty(domain_event),
        description=(
            domain_event.description if isinstance(domain_event, Deposited) else ""
        ),
    )


def _counterparty(domain_event: DomainEvent) -> UUID | None:
    if isinstance(domain_event, TransferSent):
        return domain_event.to_account_id
    if isinstance(domain_event, TransferReceived):
        return domain_event.from_account_id
    return None
