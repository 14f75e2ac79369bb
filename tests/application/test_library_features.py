"""Transcoding, snapshots on demand, the aggregate caches, time travel."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.application import Accounts
from accounts.errors import AccountNotFoundError, InsufficientFundsError
from accounts.statements import whole_statement
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.spies import count_events_read


def stored_state(app, position):
    [notification] = app.recorder.select_notifications(position, 1)
    return json.loads(notification.state)


def test_money_is_stored_as_the_exact_decimal_string(bank):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "12.5")
    state = stored_state(bank.accounts, bank.accounts.recorder.max_notification_id())
    assert state["amount"] == {"_type_": "decimal_str", "_data_": "12.50"}
    bank.accounts.deposit(account, "1000")
    state = stored_state(bank.accounts, bank.accounts.recorder.max_notification_id())
    assert state["amount"]["_data_"] == "1000.00"  # never "1E+3"


def test_transaction_kind_is_stored_through_its_own_transcoding(bank):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "1")
    log = bank.transaction_log()
    state = stored_state(log, log.recorder.max_notification_id())
    assert state["kind"] == {"_type_": "transaction_kind", "_data_": "deposit"}


def test_after_a_snapshot_a_get_reads_only_the_events_after_it(
    bank, database, monkeypatch
):
    account = bank.accounts.open_account("ada", "Current")
    for _ in range(10):
        bank.accounts.deposit(account, "1")
    assert bank.accounts.take_snapshot_now(account) == 11
    assert bank.accounts.get_snapshot_versions(account) == [11]
    bank.accounts.deposit(account, "1")
    bank.accounts.deposit(account, "1")

    # A process that has not read the account yet: nothing in its cache.
    fresh = Accounts(eventsourcing_env(database))
    recorder = fresh.events.recorder
    read = count_events_read(recorder, monkeypatch)
    try:
        assert fresh.get_account(account).balance == Decimal("12.00")
        assert read == [2]  # versions 12 and 13, not all 13
        bank.accounts.deposit(account, "1")
        assert fresh.get_account(account).balance == Decimal("13.00")
        assert read == [2, 1]  # then, from its cache: only the newer event
    finally:
        fresh.close()


def test_taking_a_snapshot_twice_stores_one(bank):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.take_snapshot_now(account)
    bank.accounts.take_snapshot_now(account)
    assert bank.accounts.get_snapshot_versions(account) == [1]


def test_cached_ledger_still_sees_writes_from_another_process(bank, database):
    assert bank.ledger().repository.cache is not None
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "10")
    assert bank.ledger().get_ledger().balance == Decimal("10.00")  # now cached

    other_process = Bank(eventsourcing_env(database))
    other_process.start()
    try:
        other_process.accounts.deposit(account, "5")  # its own ledger writes
        assert other_process.ledger().get_ledger().balance == Decimal("15.00")
    finally:
        other_process.close()

    assert bank.ledger().get_ledger().balance == Decimal("15.00")  # fast-forward
    bank.accounts.deposit(account, "1")  # and the cached ledger still writes
    assert bank.ledger().get_ledger().balance == Decimal("16.00")
    assert bank.processor_status()[0].failures == 0


def test_cached_accounts_still_see_writes_from_another_process(bank, database):
    assert bank.accounts.repository.cache is not None
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "10")
    assert bank.accounts.get_account(account).balance == Decimal("10.00")  # cached

    other_process = Accounts(eventsourcing_env(database))
    try:
        assert other_process.get_account(account).balance == Decimal("10.00")
        other_process.deposit(account, "5")
        bank.accounts.withdraw(account, "15")  # fits only with the other deposit
        assert other_process.get_account(account).balance == Decimal("0.00")
    finally:
        other_process.close()
    assert bank.accounts.get_account(account).balance == Decimal("0.00")
    assert bank.accounts.get_account(account).version == 4


def test_a_save_refused_by_a_conflict_leaves_no_trace_in_the_cache(
    bank, database, monkeypatch
):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "100")
    assert bank.accounts.get_account(account).balance == Decimal("100.00")  # cached
    other_process = Accounts(eventsourcing_env(database))
    real_save = bank.accounts.save
    raced = []

    def save_after_the_other_process(*objs, **kwargs):
        if not raced:  # between this load and this save, another process saves
            raced.append(other_process.withdraw(account, "60"))
        return real_save(*objs, **kwargs)

    monkeypatch.setattr(bank.accounts, "save", save_after_the_other_process)
    try:
        # It fitted the account as first loaded; the retry reloads, and the
        # account as stored now refuses it.
        with pytest.raises(InsufficientFundsError):
            bank.accounts.withdraw(account, "50")
        assert raced
        assert bank.accounts.get_account(account).balance == Decimal("40.00")
        bank.accounts.withdraw(account, "40")
        assert other_process.get_account(account).balance == Decimal("0.00")
    finally:
        other_process.close()
    assert [line.amount for line in whole_statement(bank.accounts.events, account)] == [
        Decimal("100.00"),
        Decimal("-60.00"),
        Decimal("-40.00"),
    ]


def test_account_as_it_was_at_a_moment(bank):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "10")
    time.sleep(0.01)
    between = datetime.now(tz=UTC)
    time.sleep(0.01)
    bank.accounts.deposit(account, "20")

    assert bank.accounts.get_account_at(account, between).balance == Decimal("10.00")
    later = datetime.now(tz=UTC) + timedelta(days=1)
    assert bank.accounts.get_account_at(account, later).balance == Decimal("30.00")
    with pytest.raises(AccountNotFoundError, match="not open yet"):
        bank.accounts.get_account_at(account, between - timedelta(days=1))
