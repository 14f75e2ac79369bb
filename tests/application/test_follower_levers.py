"""What the followers spare themselves, without changing what they record.

``ledger/batches.py`` and ``ProjectionProcessor``: notifications whose
events a follower ignores are not decoded, yet its position still reaches
the log's head; the ledger's snapshots come from the aggregate the pull
holds, and hold what a rebuild from the database would; a pull that reaches
the head stops there. ``ESBANK_FOLLOWER_METER_DIR`` makes each processor
write what it has spent, for the benchmarks.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from accounts import domain as account_events
from accounts.errors import InsufficientFundsError
from accounts.projections import AccountsListProjection
from esbank_site.operations.audit import audit
from esbank_site.runtime.processing import METER_VARIABLE, ProjectionProcessor
from ledger.domain import Ledger
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from uuid import UUID

    from esbank_site.bank import Bank

SEED = 11
RECEIPT = account_events.ReceiptIssued


@pytest.fixture
def quiet_bank(database: dict[str, Any]) -> Iterator[Bank]:
    """A bank whose followers run only when a test says so."""
    with fresh_bank(database, process_inline=False) as bank:
        yield bank


def deposits_with_receipts(bank: Bank, count: int) -> tuple[list[UUID], Decimal]:
    """Deposits and transfers as the site makes them (each with its receipt)."""
    rng = random.Random(SEED)
    accounts = [bank.accounts.open_account(f"owner{n}", "Current") for n in range(4)]
    total = Decimal("0.00")
    for number in range(count):
        account = rng.choice(accounts)
        amount = Decimal(rng.randint(100, 3000)) / 100
        if number % 4 == 3:
            others = [other for other in accounts if other != account]
            try:
                bank.accounts.transfer(
                    account, rng.choice(others), "1.00", idempotency_key=uuid4().hex
                )
            except InsufficientFundsError:
                pass  # too little money yet: a deposit instead
            else:
                continue
        bank.accounts.deposit(account, amount, idempotency_key=uuid4().hex)
        total += amount
    return accounts, total


def decoded_topics(
    monkeypatch: pytest.MonkeyPatch, mapper: Any, seen: list[str]
) -> None:
    """Record the topic of every notification ``mapper`` decodes."""
    real = mapper.to_domain_event

    def to_domain_event(stored: Any) -> Any:
        seen.append(stored.topic)
        return real(stored)

    monkeypatch.setattr(mapper, "to_domain_event", to_domain_event)


def test_followers_decode_only_what_their_policies_use(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    _, total = deposits_with_receipts(bank, 60)
    head = bank.accounts.recorder.max_notification_id()
    last = bank.accounts.recorder.select_notifications(head, 1)[0]
    assert last.topic == get_topic(RECEIPT)  # ignored, and yet the head
    for name in ("Ledger", "Transactions"):
        follower = bank.followers[name]
        seen: list[str] = []
        decoded_topics(monkeypatch, follower.mappers["Accounts"], seen)
        follower.pull_and_process("Accounts")
        assert seen
        assert not set(seen) & follower.ignored_topics
        assert follower.recorder.max_tracking_id("Accounts") == head
    assert bank.ledger().get_ledger().balance == total
    ledger_total = bank.ledger().get_ledger().transaction_count
    assert bank.transaction_log().count_transactions() == ledger_total
    bank.wait_until_processed()
    report = audit(bank)
    assert report.ok, report.problems


def test_a_pull_of_ignored_notifications_only_still_moves_the_position(
    quiet_bank: Bank,
) -> None:
    bank = quiet_bank
    for n in range(3):
        bank.accounts.open_account(f"owner{n}", "Current")  # nothing for the ledger
    head = bank.accounts.recorder.max_notification_id()
    ledger = bank.followers["Ledger"]
    ledger.pull_and_process("Accounts")
    assert ledger.recorder.max_tracking_id("Accounts") == head
    assert bank.ledger().get_ledger().version == 0
    statuses = {status.name: status for status in bank.processor_status()}
    assert statuses["Ledger"].lag == 0


def test_a_pull_that_fails_after_skipping_records_nothing_of_it(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    _, total = deposits_with_receipts(bank, 40)
    ledger = bank.followers["Ledger"]
    real_policy = ledger.policy
    calls = {"n": 0}

    def failing_at_the_20th(domain_event: Any, processing_event: Any) -> None:
        calls["n"] += 1
        real_policy(domain_event, processing_event)
        if calls["n"] == 20:
            msg = "ledger crashed"
            raise RuntimeError(msg)

    monkeypatch.setattr(ledger, "policy", failing_at_the_20th)
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


def test_the_ledgers_snapshots_come_from_the_pull_and_match_a_rebuild(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    deposits_with_receipts(bank, 130)
    ledger = bank.followers["Ledger"]

    def rebuilt(*args: Any, **kwargs: Any) -> None:
        msg = "a snapshot was rebuilt from the database"
        raise AssertionError(msg)

    monkeypatch.setattr(ledger, "take_snapshot", rebuilt)
    ledger.pull_and_process("Accounts")
    ledger_id = Ledger.create_id()
    snapshots = list(bank.ledger().snapshots.get(ledger_id))  # type: ignore[union-attr]
    assert [s.originator_version for s in snapshots] == [50, 100]
    for snapshot in snapshots:
        as_of: Ledger = bank.ledger().repository.get(
            ledger_id, version=snapshot.originator_version
        )
        assert snapshot.state["balance"] == as_of.balance
        assert snapshot.state["transaction_count"] == as_of.transaction_count
        assert snapshot.state["total_deposits"] == as_of.total_deposits


def test_with_the_lever_off_snapshots_are_rebuilt_as_the_library_does(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    deposits_with_receipts(bank, 70)
    ledger = bank.followers["Ledger"]
    monkeypatch.setattr(ledger, "snapshot_from_pull", False)
    rebuilt: list[int] = []
    real = ledger.take_snapshot

    def take_snapshot(aggregate_id: Any, version: Any = None, **kwargs: Any) -> None:
        rebuilt.append(version)
        real(aggregate_id, version, **kwargs)

    monkeypatch.setattr(ledger, "take_snapshot", take_snapshot)
    ledger.pull_and_process("Accounts")
    assert rebuilt == [50]


def test_a_pull_that_reaches_the_head_stops_there(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is recorded meanwhile waits for the next call, in a pull of its own."""
    bank = quiet_bank
    accounts, _ = deposits_with_receipts(bank, 10)
    head = bank.accounts.recorder.max_notification_id() or 0
    ledger = bank.followers["Ledger"]
    real_policy = ledger.policy
    during: list[int] = []

    def policy_and_a_deposit(domain_event: Any, processing_event: Any) -> None:
        if not during:
            during.append(1)
            bank.accounts.deposit(accounts[0], "5.00")  # arrives mid-pull
        real_policy(domain_event, processing_event)

    monkeypatch.setattr(ledger, "policy", policy_and_a_deposit)
    ledger.pull_and_process("Accounts")
    assert ledger.recorder.max_tracking_id("Accounts") == head
    ledger.pull_and_process("Accounts")
    assert ledger.recorder.max_tracking_id("Accounts") == head + 1
    assert ledger.pulls == 2


def test_the_accounts_list_skips_decoding_what_only_moves_its_position(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    deposits_with_receipts(bank, 40)
    head = bank.accounts.recorder.max_notification_id()
    processor = next(p for p in bank.processors if isinstance(p, ProjectionProcessor))
    seen: list[str] = []
    decoded_topics(monkeypatch, bank.accounts.mapper, seen)
    assert processor.process(force=True)
    assert seen
    assert not set(seen) & AccountsListProjection.position_only_topics
    assert get_topic(RECEIPT) in AccountsListProjection.position_only_topics
    assert processor.position() == head
    bank.wait_until_processed()
    report = audit(bank)  # every row agrees with its account's events
    assert report.ok, report.problems


def test_processors_write_what_they_spent_when_asked(
    database: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(METER_VARIABLE, str(tmp_path))
    with fresh_bank(database, process_inline=False) as bank:
        deposits_with_receipts(bank, 5)
        head = bank.accounts.recorder.max_notification_id()
        bank.process_all(force=True)
        for processor in bank.processors:
            figures = json.loads((tmp_path / f"{processor.name}.json").read_text())
            assert figures["pulled"] == head
            assert figures["pulls"] >= 1
            assert 0 <= figures["cpu"] <= figures["thread_cpu"]
