"""The followers record each pull of notifications in one transaction.

``ledger/batches.py``: the policies of a whole pull run first, then their
events are stored with the tracking record of the pull's last notification.
These tests let events pile up with the followers off, then process them in
pulls, and check the outcome is what one transaction per event would give:
the same ledger, a transaction log numbered without gaps, snapshots where
they belong, and nothing recorded from a pull that failed half-way.
"""

from __future__ import annotations

import random
import sys
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from accounts.errors import InsufficientFundsError
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from ledger.domain import Ledger
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from collections.abc import Iterator
    from uuid import UUID

    from ledger.batches import BatchProcessApplication

SEED = 7


@pytest.fixture
def quiet_bank(database: dict[str, Any]) -> Iterator[Bank]:
    """A bank whose followers run only when a test says so."""
    with fresh_bank(database, process_inline=False) as bank:
        yield bank


def record_movements(bank: Bank, count: int) -> tuple[list[UUID], Decimal]:
    """``count`` random deposits, withdrawals and transfers; the money in."""
    rng = random.Random(SEED)
    accounts = [bank.accounts.open_account(f"owner{n}", "Current") for n in range(5)]
    total = Decimal("0.00")
    for account in accounts:
        bank.accounts.deposit(account, "100.00")
        total += Decimal("100.00")
    for _ in range(count):
        account = rng.choice(accounts)
        amount = Decimal(rng.randint(1, 3000)) / 100
        kind = rng.choice(["deposit", "withdraw", "transfer"])
        try:
            if kind == "deposit":
                bank.accounts.deposit(account, amount)
                total += amount
            elif kind == "withdraw":
                bank.accounts.withdraw(account, amount)
                total -= amount
            else:
                others = [other for other in accounts if other != account]
                bank.accounts.transfer(account, rng.choice(others), amount)
        except InsufficientFundsError:
            pass
    return accounts, total


def pull(bank: Bank, name: str) -> BatchProcessApplication:
    follower = bank.followers[name]
    follower.pull_and_process(bank.accounts.name)
    return follower


def test_a_pull_gives_what_one_event_at_a_time_gives(quiet_bank: Bank) -> None:
    bank = quiet_bank
    _, total = record_movements(bank, 160)
    head = bank.accounts.recorder.max_notification_id()
    assert head is not None
    assert head > 2 * bank.followers["Ledger"].pull_section_size

    ledger = pull(bank, "Ledger")
    log = pull(bank, "Transactions")

    summary = bank.ledger().get_ledger()
    assert summary.balance == total
    assert ledger.recorder.max_tracking_id("Accounts") == head
    assert log.recorder.max_tracking_id("Accounts") == head
    entries = bank.transaction_log().get_transactions(limit=1000)
    numbers = [entry.number for entry in reversed(entries)]
    assert numbers == list(range(1, len(entries) + 1))  # no gap, no repeat
    assert len(entries) == summary.transaction_count
    positions = [e.position for e in bank.transaction_log().transaction_log.get()]
    assert positions == sorted(set(positions))  # each its own notification
    bank.wait_until_processed()  # the accounts list too, a pull per batch()
    report = audit(bank)
    assert report.ok, report.problems


def test_snapshots_are_taken_inside_a_pull_where_they_belong(
    quiet_bank: Bank,
) -> None:
    bank = quiet_bank
    record_movements(bank, 160)
    pull(bank, "Ledger")
    ledger_id = Ledger.create_id()
    snapshots = list(bank.ledger().snapshots.get(ledger_id))  # type: ignore[union-attr]
    versions = [s.originator_version for s in snapshots]
    assert versions
    assert all(version % 50 == 0 for version in versions)
    # Each snapshot holds the ledger as it was at its version, not at the
    # end of the pull that took it.
    for snapshot in snapshots:
        as_of = bank.ledger().repository.get(
            ledger_id, version=snapshot.originator_version
        )
        assert snapshot.state["transaction_count"] == as_of.transaction_count


def test_a_pull_that_fails_half_way_records_nothing_of_it(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    _, total = record_movements(bank, 40)
    ledger = bank.followers["Ledger"]
    real_policy = ledger.policy
    calls = {"n": 0}

    def failing_at_the_30th(domain_event: Any, processing_event: Any) -> None:
        calls["n"] += 1
        real_policy(domain_event, processing_event)  # done, then lost
        if calls["n"] == 30:
            msg = "ledger crashed"
            raise RuntimeError(msg)

    monkeypatch.setattr(ledger, "policy", failing_at_the_30th)
    with pytest.raises(RuntimeError, match="ledger crashed"):
        ledger.pull_and_process("Accounts")
    assert ledger.recorder.max_tracking_id("Accounts") is None
    assert bank.ledger().get_ledger().version == 0

    monkeypatch.setattr(ledger, "policy", real_policy)
    ledger.pull_and_process("Accounts")
    assert bank.ledger().get_ledger().balance == total
    assert ledger.recorder.max_tracking_id("Accounts") == (
        bank.accounts.recorder.max_notification_id()
    )


def test_pages_reading_the_ledger_while_it_is_processed_see_whole_versions(
    quiet_bank: Bank,
) -> None:
    """The cached ledger is copied under a lock, never half brought up to date."""
    bank = quiet_bank
    record_movements(bank, 300)
    ledger = bank.ledger()
    torn: list[Any] = []
    reads = [0]
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            summary = ledger.get_ledger()
            reads[0] += 1
            if summary.balance != summary.total_deposits - summary.total_withdrawals:
                torn.append(summary)

    # Threads switch every microsecond instead of every 5 ms, so a copy taken
    # in the middle of an update is likely, not a matter of luck.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        start = ledger.recorder.max_tracking_id("Accounts")
        for notifications in ledger.pull_notifications(
            "Accounts", start=start, inclusive_of_start=False
        ):
            # Small pulls: many versions for the readers to land between.
            for n in range(0, len(notifications), 5):
                few = notifications[n : n + 5]
                ledger.process_batch(ledger.convert_notifications("Accounts", few))
    finally:
        done.set()
        for reader in readers:
            reader.join()
        sys.setswitchinterval(switch_interval)
    assert reads[0] > 0
    assert torn == []
