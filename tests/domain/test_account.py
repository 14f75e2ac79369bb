"""The Account aggregate alone: no database, no Django."""

from __future__ import annotations

import copy
from decimal import Decimal
from uuid import uuid4

import pytest

from accounts.domain import Account, Receipt
from accounts.errors import (
    AccountClosedError,
    BalanceNotZeroError,
    InsufficientFundsError,
    InvalidAccountNameError,
    InvalidAmountError,
    InvalidDescriptionError,
    OverdraftLimitError,
    SameAccountTransferError,
)


def event_types(aggregate):
    return [type(e).__name__ for e in aggregate.collect_events()]


@pytest.fixture
def account():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("100.00", uuid4())
    account.collect_events()
    return account


def test_open_account_is_empty_and_in_pounds():
    account = Account.open(owner=" ada ", name="Current", number="12345674")
    assert (account.owner, account.name, account.currency) == ("ada", "Current", "GBP")
    assert account.balance == Decimal("0.00")
    assert event_types(account) == ["Opened"]


@pytest.mark.parametrize(
    ("owner", "name"), [("", "Current"), ("ada", "  "), ("ada", "x" * 101)]
)
def test_open_refuses_empty_or_long_names(owner, name):
    with pytest.raises(InvalidAccountNameError):
        Account.open(owner=owner, name=name, number="12345674")


def test_deposit_and_withdraw_move_the_balance(account):
    account.deposit("0.50", uuid4())
    account.withdraw(Decimal("20"), uuid4())
    assert account.balance == Decimal("80.50")
    assert event_types(account) == ["Deposited", "Withdrawn"]


def test_withdrawal_beyond_balance_records_no_event(account):
    with pytest.raises(InsufficientFundsError):
        account.withdraw("100.01", uuid4())
    assert account.balance == Decimal("100.00")
    assert event_types(account) == []


def test_overdraft_limit_allows_a_negative_balance_down_to_the_limit(account):
    account.set_overdraft_limit("50", "Agreed with the customer")
    account.withdraw("150.00", uuid4())
    assert account.balance == Decimal("-50.00")
    with pytest.raises(InsufficientFundsError):
        account.withdraw("0.01", uuid4())


def test_overdraft_limit_cannot_drop_below_what_is_owed(account):
    account.set_overdraft_limit("50", "Agreed with the customer")
    account.withdraw("130.00", uuid4())
    with pytest.raises(OverdraftLimitError):
        account.set_overdraft_limit("29.99", "Agreed with the customer")
    account.set_overdraft_limit("30", "Agreed with the customer")
    assert account.overdraft_limit == Decimal("30.00")


def test_invalid_amount_records_no_event(account):
    with pytest.raises(InvalidAmountError):
        account.deposit("-1", uuid4())
    assert event_types(account) == []


def test_transfer_records_both_legs_with_one_transaction_id(account):
    other = Account.open(owner="bob", name="Savings", number="12345674")
    other.collect_events()
    transaction_id = uuid4()
    account.send_transfer("40", other, transaction_id)
    [sent] = account.collect_events()
    [received] = other.collect_events()
    assert (type(sent).__name__, type(received).__name__) == (
        "TransferSent",
        "TransferReceived",
    )
    assert sent.transaction_id == received.transaction_id == transaction_id
    assert (sent.to_account_id, received.from_account_id) == (other.id, account.id)
    assert (account.balance, other.balance) == (Decimal("60.00"), Decimal("40.00"))


def test_transfer_to_self_is_refused(account):
    with pytest.raises(SameAccountTransferError):
        account.send_transfer("1", account, uuid4())
    assert event_types(account) == []


def test_transfer_to_closed_account_is_refused_before_any_event(account):
    other = Account.open(owner="bob", name="Savings", number="12345674")
    other.close()
    other.collect_events()
    with pytest.raises(AccountClosedError):
        account.send_transfer("1", other, uuid4())
    assert event_types(account) == []
    assert event_types(other) == []


def test_close_requires_zero_balance_and_then_refuses_everything(account):
    with pytest.raises(BalanceNotZeroError):
        account.close()
    account.withdraw("100", uuid4())
    account.close()
    assert account.is_closed
    for command in (
        lambda: account.deposit("1", uuid4()),
        lambda: account.withdraw("1", uuid4()),
        lambda: account.set_overdraft_limit("1", "Agreed with the customer"),
        account.close,
    ):
        with pytest.raises(AccountClosedError):
            command()
    assert event_types(account) == ["Withdrawn", "Closed"]


def test_account_is_rebuilt_from_its_events_without_rerunning_guards():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("10", uuid4())
    account.set_overdraft_limit("5", "Agreed with the customer")
    account.withdraw("15", uuid4())
    events = account.collect_events()

    rebuilt = None
    for domain_event in events:
        rebuilt = domain_event.mutate(rebuilt)

    assert rebuilt.balance == Decimal("-5.00")
    assert rebuilt.overdraft_limit == Decimal("5.00")
    assert rebuilt.version == account.version == 4


def test_receipt_id_is_derived_from_the_key():
    receipt = Receipt(idempotency_key="k-1", command="deposit", transaction_id=uuid4())
    assert receipt.id == Receipt.create_id("k-1") != Receipt.create_id("k-2")


def test_a_receipt_can_be_deep_copied_as_the_aggregate_cache_does():
    receipt = Receipt(idempotency_key="k-1", command="deposit", transaction_id=uuid4())
    receipt.collect_events()
    copied = copy.deepcopy(receipt)
    assert copied == receipt
    assert copied is not receipt
    assert repr(copied).startswith("Receipt(id=")
    assert Receipt.Snapshot.take(receipt).mutate(None) == receipt


def test_deposit_keeps_a_trimmed_description():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("5", uuid4(), "  Salary November ")
    deposited = account.collect_events()[-1]
    assert deposited.description == "Salary November"


def test_overlong_description_is_refused():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.collect_events()
    with pytest.raises(InvalidDescriptionError):
        account.deposit("5", uuid4(), "x" * 141)
    assert event_types(account) == []


def test_closing_is_an_explicit_event_class_that_sets_status():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.close()
    [_, closed] = account.collect_events()
    assert type(closed) is Account.Closed
    assert (account.status, account.is_closed) == ("closed", True)
