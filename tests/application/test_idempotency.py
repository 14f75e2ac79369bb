"""An idempotency key moves money at most once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from accounts.errors import IdempotencyKeyReusedError, InsufficientFundsError


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
