"""Making big banks fast: the library's own write path, in large batches.

A bank of 100,000 accounts opened one command at a time would take minutes
to build. These loaders record exactly the events the commands would
(``Opened`` and both index entries for an account, ``Deposited`` for a
deposit), through ``Accounts.save``, but hundreds at a time in one
transaction, with the followers off. The followers then catch up on them
as they would after any outage, which is itself a benchmark (start-up and
catch-up).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import uuid4

from eventsourcing.domain import Aggregate

from accounts.domain import Account, AccountNumber
from accounts.errors import AccountNotFoundError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from eventsourcing.application import EventSourcedLog
    from eventsourcing.domain import DomainEvent

    from accounts.application import Accounts
    from accounts.domain import AccountIndexed

BATCH = 500


def _next_version(log: EventSourcedLog[AccountIndexed]) -> int:
    last = log.get_last()
    return Aggregate.INITIAL_VERSION if last is None else last.originator_version + 1


def open_accounts(
    accounts: Accounts, count: int, owners: Sequence[str], *, batch: int = BATCH
) -> list[UUID]:
    """Open ``count`` accounts, shared round-robin among ``owners``."""
    all_version = _next_version(accounts.account_index)
    owner_logs = {owner: accounts._owner_index(owner) for owner in owners}
    owner_versions = {owner: _next_version(log) for owner, log in owner_logs.items()}
    ids: list[UUID] = []
    for start in range(0, count, batch):
        pending: list[Account | AccountNumber | DomainEvent] = []
        for number in range(start, min(count, start + batch)):
            owner = owners[number % len(owners)]
            account = Account.open(
                owner=owner, name=f"Account {number + 1}", number=_unused(accounts)
            )
            pending.append(account)
            pending.append(accounts.numbers.reservation(account))
            pending.append(
                accounts.account_index.trigger_event(
                    next_originator_version=all_version, account_id=account.id
                )
            )
            pending.append(
                owner_logs[owner].trigger_event(
                    next_originator_version=owner_versions[owner],
                    account_id=account.id,
                )
            )
            all_version += 1
            owner_versions[owner] += 1
            ids.append(account.id)
        accounts.save(*pending)
    return ids


# Numbers this process has drawn. Thousands of accounts opened in batches,
# with no retry, would meet a number drawn twice (about one chance in five
# at 2,000 accounts, a certainty at 10,000): the bank's retry, one account at
# a time, is what the bench's batches leave out.
_drawn: set[str] = set()


def _unused(accounts: Accounts) -> str:
    """A number neither this process nor the bank has given out."""
    while True:
        number = accounts.numbers.draw()
        if number in _drawn:
            continue
        _drawn.add(number)
        try:
            accounts.numbers.account_id_of(number)
        except AccountNotFoundError:
            return number


def deposit_each(
    accounts: Accounts,
    account_ids: Sequence[UUID],
    amount: Decimal = Decimal("10.00"),
    *,
    batch: int = BATCH,
) -> int:
    """One deposit into each account, ``batch`` accounts per transaction."""
    for start in range(0, len(account_ids), batch):
        chunk = [
            accounts._get_account(account_id)
            for account_id in account_ids[start : start + batch]
        ]
        for account in chunk:
            account.deposit(amount, uuid4())
        accounts.save(*chunk)
    return len(account_ids)


def grow_history(
    accounts: Accounts,
    account_id: UUID,
    events: int,
    *,
    batch: int = 250,
) -> None:
    """Deposit into one account until it has ``events`` events in all.

    Saved ``batch`` events at a time; snapshots are taken as the commands
    would take them (every ``snapshotting_intervals`` events).
    """
    account = accounts._get_account(account_id)
    while account.version < events:
        for _ in range(min(batch, events - account.version)):
            account.deposit(Decimal("1.00"), uuid4())
        accounts.save(account)


def owner_names(count: int) -> list[str]:
    """Owners of generated accounts: bench-0001, bench-0002, ..."""
    return [f"bench-{number:04d}" for number in range(1, count + 1)]
