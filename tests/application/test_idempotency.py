"""An idempotency key moves money at most once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from uuid import uuid4

import pytest

from accounts.application import Accounts
from accounts.domain import Receipt
from accounts.errors import (
    AccountClosedError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
)
from accounts.statements import whole_statement
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.spies import lose_the_first_reply


@pytest.fixture
def account(bank):
    account_id = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account_id, "100")
    return account_id


def test_same_key_twice_moves_money_once_and_returns_the_first_outcome(bank, account):
    first = bank.accounts.withdraw(account, "10", idempotency_key="form-1")
    head = bank.accounts.recorder.max_notification_id()
    second = bank.accounts.withdraw(account, "10.00", idempotency_key="form-1")
    assert second == first
    assert bank.accounts.recorder.max_notification_id() == head
    assert bank.accounts.get_account(account).balance == Decimal("90.00")


def test_key_reused_for_a_different_command_is_refused(bank, account):
    bank.accounts.deposit(account, "10", idempotency_key="form-1")
    head = bank.accounts.recorder.max_notification_id()
    with pytest.raises(IdempotencyKeyReusedError):
        bank.accounts.deposit(account, "11", idempotency_key="form-1")
    with pytest.raises(IdempotencyKeyReusedError):
        bank.accounts.withdraw(account, "10", idempotency_key="form-1")
    assert bank.accounts.recorder.max_notification_id() == head


def test_a_refused_command_does_not_use_up_its_key(bank, account):
    with pytest.raises(InsufficientFundsError):
        bank.accounts.withdraw(account, "150", idempotency_key="form-1")
    bank.accounts.deposit(account, "50")
    bank.accounts.withdraw(account, "150", idempotency_key="form-1")
    assert bank.accounts.get_account(account).balance == Decimal("0.00")


def test_concurrent_duplicates_move_money_once(bank, account):
    other = bank.accounts.open_account("bob", "Savings")

    def submit(_):
        return bank.accounts.transfer(account, other, "25", idempotency_key="form-9")

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(submit, range(4)))

    assert len(set(outcomes)) == 1
    assert bank.accounts.get_account(account).balance == Decimal("75.00")
    assert bank.accounts.get_account(other).balance == Decimal("25.00")
    assert bank.transaction_log().count_transactions() == 2  # deposit + transfer


def test_a_repeat_the_account_would_now_refuse_returns_the_first_outcome(bank, account):
    first = bank.accounts.withdraw(account, "80", idempotency_key="form-1")
    head = bank.accounts.recorder.max_notification_id()
    with pytest.raises(InsufficientFundsError):
        bank.accounts.withdraw(account, "80")  # the same command, without the key
    assert bank.accounts.withdraw(account, "80", idempotency_key="form-1") == first
    assert bank.accounts.recorder.max_notification_id() == head
    assert bank.accounts.get_account(account).balance == Decimal("20.00")


def test_a_repeat_to_an_account_closed_since_returns_the_first_outcome(bank):
    account_id = bank.accounts.open_account("bob", "Savings")
    first = bank.accounts.deposit(account_id, "5", idempotency_key="form-1")
    bank.accounts.withdraw(account_id, "5")
    bank.accounts.close_account(account_id)
    head = bank.accounts.recorder.max_notification_id()
    assert bank.accounts.deposit(account_id, "5", idempotency_key="form-1") == first
    assert bank.accounts.recorder.max_notification_id() == head
    with pytest.raises(AccountClosedError):
        bank.accounts.deposit(account_id, "5", idempotency_key="form-2")


KEY = {"idempotency_key": "form-1"}


@pytest.mark.parametrize(
    "reuse",
    [
        lambda accounts, account: accounts.withdraw(account, "1000", **KEY),
        lambda accounts, account: accounts.deposit(uuid4(), "10", **KEY),
        lambda accounts, account: accounts.transfer(account, account, "10", **KEY),
    ],
    ids=["insufficient-funds", "no-such-account", "same-account"],
)
def test_a_key_reused_for_a_command_the_bank_refuses_is_refused_as_reused(
    bank, account, reuse
):
    bank.accounts.withdraw(account, "10", **KEY)
    head = bank.accounts.recorder.max_notification_id()
    with pytest.raises(IdempotencyKeyReusedError):
        reuse(bank.accounts, account)
    assert bank.accounts.recorder.max_notification_id() == head


def test_the_first_use_of_a_key_does_not_look_for_its_receipt(
    bank, account, monkeypatch
):
    recorder = bank.accounts.events.recorder
    real_select_events = recorder.select_events
    read = []

    def recording_select_events(originator_id, **kwargs):
        read.append(originator_id)
        return real_select_events(originator_id, **kwargs)

    monkeypatch.setattr(recorder, "select_events", recording_select_events)
    first = bank.accounts.deposit(account, "1", idempotency_key="form-1")
    assert Receipt.create_id("form-1") not in read
    assert bank.accounts.deposit(account, "1", idempotency_key="form-1") == first
    assert Receipt.create_id("form-1") in read  # read once the store refused it


def test_a_duplicate_from_another_process_is_answered_from_the_receipt(
    bank, database, account
):
    first = bank.accounts.deposit(account, "10", idempotency_key="form-1")
    other_process = Accounts(eventsourcing_env(database))
    try:
        head = bank.accounts.recorder.max_notification_id()
        repeat = other_process.deposit(account, "10", idempotency_key="form-1")
        with pytest.raises(IdempotencyKeyReusedError):
            other_process.deposit(account, "11", idempotency_key="form-1")
    finally:
        other_process.close()
    assert repeat == first
    assert bank.accounts.recorder.max_notification_id() == head
    assert bank.accounts.get_account(account).balance == Decimal("110.00")


def test_a_commit_whose_reply_was_lost_is_answered_from_its_receipt(
    bank, account, monkeypatch
):
    lost = lose_the_first_reply(bank.accounts, monkeypatch)
    transaction_id = bank.accounts.withdraw(account, "30", idempotency_key="form-1")
    assert len(lost) == 1
    assert bank.accounts.get_account(account).balance == Decimal("70.00")
    [line] = [s for s in whole_statement(bank.accounts.events, account) if s.amount < 0]
    assert line.transaction_id == transaction_id
