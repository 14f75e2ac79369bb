"""Accounts: the application (service layer) that owns every account.

Each command loads an aggregate, calls one method on it and saves, as in
the library's own examples. Queries return frozen dataclasses, never
aggregates. What makes commands safe under racing requests is in
``accounts/commands.py``, statement paging in ``accounts/statements.py``:
skip both on a first read.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    EventSourcedLog,
)

from accounts.account_limit import OpenAccountsLimit
from accounts.commands import CommandRunner
from accounts.domain import (
    ALL_ACCOUNTS_LOG_ID,
    Account,
    AccountIndexed,
    clean_description,
    clean_name,
    owner_log_id,
)
from accounts.errors import AccountNotFoundError, VersionNotFoundError
from accounts.identities import AccountIdentities
from accounts.money import to_amount
from accounts.number_book import NumberBook
from accounts.only_accounts import project_account
from accounts.reversal_desk import ReversalDesk
from accounts.staff_desk import StaffDesk
from accounts.statements import RecentStatement, read_statement_page
from accounts.summaries import AccountSummary, RecordedEvent, summarise

if TYPE_CHECKING:
    from eventsourcing.domain import DomainEvent

    from accounts.commands import Movement

# Accounts kept in memory by each process (see Accounts.env): about 0.7 KB
# each, so about 4 MB at most; the least recently read beyond that are
# dropped, and rebuilt from their latest snapshot when next read.
ACCOUNTS_CACHED = 5000


class Accounts(Application):
    """Opens accounts and moves money between them."""

    name = "Accounts"
    snapshotting_intervals: ClassVar = {Account: 50}
    # The library's aggregate cache: a get reads only the events recorded
    # since this process last read the account (fast-forward: other
    # processes' writes are never missed). It holds only what was read from
    # the database, so a save refused by a conflict leaves nothing behind.
    env: ClassVar = {
        "AGGREGATE_CACHE_MAXSIZE": str(ACCOUNTS_CACHED),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.commands = CommandRunner(self)
        self.account_index = EventSourcedLog(
            self.events, ALL_ACCOUNTS_LOG_ID, AccountIndexed
        )
        # The site sets MAX_OPEN_ACCOUNTS from ESBANK_MAX_OPEN_ACCOUNTS.
        most = int(self.env.get("MAX_OPEN_ACCOUNTS") or 0)
        self.open_accounts = OpenAccountsLimit(most, self._get_account)
        self.numbers = NumberBook(self.repository)
        self.identities = AccountIdentities(self.get_account, ACCOUNTS_CACHED)
        # Overdraft limits, freezes, reversals: each with a reason.
        self.staff = StaffDesk(self)  # accounts/staff_desk.py
        self.reversals = ReversalDesk(self)  # accounts/reversal_desk.py

    # Commands.

    def open_account(self, owner: str, name: str) -> UUID:
        """Open an empty account; return its id. At most so many per owner."""
        owner, name = clean_name(owner, "owner"), clean_name(name, "account name")

        def open_account() -> UUID:
            owner_index = self._owner_index(owner)
            next_version = self.open_accounts.next_entry_version(owner_index)
            account = Account.open(owner, name, number=self.numbers.draw())
            # The account, its number and its entries in the two lists, in
            # one transaction: a number taken meanwhile fails it, and the
            # retry draws another.
            self.save(
                account,
                self.numbers.reservation(account),
                self.account_index.trigger_event(account_id=account.id),
                owner_index.trigger_event(next_version, account_id=account.id),
            )
            return account.id

        return self.commands.retrying(open_account, ALL_ACCOUNTS_LOG_ID)

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

        def deposit(movement: Movement) -> None:
            account = self._get_account(account_id)
            account.deposit(amount, movement.transaction_id, description)
            movement.save(account)

        command = f"deposit {account_id} {amount} {description}"
        return self.commands.move_money(command, deposit, idempotency_key, account_id)

    def withdraw(
        self,
        account_id: UUID,
        amount: Decimal | int | str,
        *,
        idempotency_key: str | None = None,
    ) -> UUID:
        """Take money out; return the transaction id."""
        amount = to_amount(amount)

        def withdraw(movement: Movement) -> None:
            account = self._get_account(account_id)
            account.withdraw(amount, movement.transaction_id)
            movement.save(account)

        command = f"withdraw {account_id} {amount}"
        return self.commands.move_money(command, withdraw, idempotency_key, account_id)

    def transfer(
        self,
        from_account_id: UUID,
        to_account_id: UUID,
        amount: Decimal | int | str,
        *,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> UUID:
        """Move money between two accounts atomically; return the transaction id."""
        amount = to_amount(amount)
        description = clean_description(description)

        def transfer(movement: Movement) -> None:
            source = self._get_account(from_account_id)
            target = self._get_account(to_account_id)
            source.send_transfer(amount, target, movement.transaction_id, description)
            movement.save(source, target)  # both legs: one database transaction

        legs = f"{from_account_id} {to_account_id}"
        command = f"transfer {legs} {amount} {description}"
        return self.commands.move_money(
            command, transfer, idempotency_key, from_account_id, to_account_id
        )

    def number_account(self, account_id: UUID) -> str:
        """Give an account opened before numbers one; return its number."""

        def number_account() -> str:
            account = self._get_account(account_id)
            if not account.number:
                account.assign_number(self.numbers.draw())
                self.save(account, self.numbers.reservation(account))
            return account.number

        return self.commands.retrying(number_account, account_id)

    def close_account(self, account_id: UUID) -> None:
        """Close an account whose balance is zero."""

        def close_account() -> None:
            account = self._get_account(account_id)
            account.close()
            self.save(account)

        self.commands.retrying(close_account, account_id)

    def take_snapshot_now(self, account_id: UUID) -> int:
        """Snapshot the account now (as well as every 50 events); return its version."""
        version = self._get_account(account_id).version
        if version not in self.get_snapshot_versions(account_id):
            self.take_snapshot(account_id, version=version)
        return version

    # Queries.

    def get_account(
        self, account_id: UUID, version: int | None = None
    ) -> AccountSummary:
        """The account now, or as it was at ``version``."""
        return summarise(self._get_account(account_id, version))

    def find_account(self, number: str) -> AccountSummary:
        """The account numbered ``number`` (as typed: spaces allowed)."""
        return self.get_account(self.numbers.account_id_of(number))

    def get_account_at(self, account_id: UUID, moment: datetime) -> AccountSummary:
        """The account as it was at ``moment``: at its last event by then."""
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

    def count_accounts(self) -> int:
        """How many accounts were ever opened."""
        last = self.account_index.get_last()
        return last.originator_version if last else 0

    def list_owner_account_ids(self, owner: str) -> list[UUID]:
        """Ids of the accounts ``owner`` opened, oldest first."""
        return [e.account_id for e in self._owner_index(owner).get()]

    def get_recent_statement(
        self,
        account_id: UUID,
        *,
        upto_version: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> RecentStatement:
        """The latest movements up to a version, oldest first: see statements.py."""
        if upto_version is None:
            upto_version = self._get_account(account_id).version
        last = upto_version if before is None else min(before - 1, upto_version)
        account = self._get_account(account_id, last)
        return read_statement_page(
            self.events, account, upto_version=upto_version, limit=limit
        )

    def get_history(self, account_id: UUID) -> list[RecordedEvent]:
        """Every stored event of the account, oldest first, for staff."""
        return [RecordedEvent.of(e) for e in self._get_events(account_id)]

    def get_snapshot_versions(self, account_id: UUID) -> list[int]:
        """Versions at which a snapshot of the account is stored."""
        if self.snapshots is None:
            return []
        return [s.originator_version for s in self.snapshots.get(account_id)]

    # Helpers.

    def _get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account, now or at ``version``, or AccountNotFoundError."""
        if version is not None and version < 1:
            raise VersionNotFoundError(account_id, version)
        # Other things share the store (receipts, numbers, lists of ids):
        # project_account refuses their events (accounts/only_accounts.py).
        try:
            if version is None:
                # Copied from the cache in turn with commands (see holding).
                with self.commands.holding(account_id):
                    account: object = self.repository.get(
                        account_id, projector_func=project_account
                    )
            else:
                account = self.repository.get(
                    account_id, version=version, projector_func=project_account
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

    def _get_events(self, account_id: UUID) -> list[DomainEvent]:
        events = cast("list[DomainEvent]", list(self.events.get(account_id)))
        if not events or not isinstance(events[0], Account.Opened):
            raise AccountNotFoundError(account_id)
        return events

    def _owner_index(self, owner: str) -> EventSourcedLog[AccountIndexed]:
        return EventSourcedLog(self.events, owner_log_id(owner), AccountIndexed)
