"""Reversals on the aggregates alone: the compensating event and the request.

``Account.reverse`` records one ``Reversed`` event that undoes a movement's
effect on the balance and leaves the movement where it was. ``Reversal`` is
the long-running process around it: requested, then carried out at once
when small, or approved or rejected by a second member of staff when large.
Every guard runs before its event, so a refused command records nothing.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from accounts.domain import Account, Reversed
from accounts.errors import (
    AccountClosedError,
    InsufficientFundsError,
    InvalidReasonError,
    ReversalError,
    SameStaffApprovalError,
)
from accounts.reversal import FOUR_EYES_ABOVE, Reversal


@pytest.fixture
def account():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("100.00", uuid4())
    account.collect_events()
    return account


@pytest.fixture
def payee():
    payee = Account.open(owner="bob", name="Savings", number="40981235")
    payee.collect_events()
    return payee


def movement(aggregate):
    [recorded] = aggregate.collect_events()
    return recorded


def test_a_deposit_is_undone_by_a_negative_reversed_event(account):
    account.deposit("40.00", uuid4())
    deposit = movement(account)
    reversal_id = uuid4()
    account.reverse(deposit, reversal_id, " Paid in twice ")
    reversed_event = movement(account)
    assert isinstance(reversed_event, Reversed)
    assert (reversed_event.amount, reversed_event.original) == (
        Decimal("-40.00"),
        "deposit",
    )
    assert (reversed_event.reverses, reversed_event.transaction_id) == (
        deposit.transaction_id,
        reversal_id,
    )
    assert reversed_event.reason == "Paid in twice"
    assert account.balance == Decimal("100.00")


def test_each_leg_of_a_transfer_is_undone_on_its_own_account(account, payee):
    account.send_transfer("30.00", payee, uuid4())
    sent, received = movement(account), movement(payee)
    reversal_id = uuid4()
    account.reverse(sent, reversal_id, "Wrong payee")
    payee.reverse(received, reversal_id, "Wrong payee")
    assert (movement(account).amount, movement(payee).amount) == (
        Decimal("30.00"),
        Decimal("-30.00"),
    )
    assert (account.balance, payee.balance) == (Decimal("100.00"), Decimal(0))


def test_a_withdrawal_is_paid_back(account):
    account.withdraw("25.00", uuid4())
    withdrawal = movement(account)
    account.reverse(withdrawal, uuid4(), "Cash machine kept the notes")
    assert movement(account).original == "withdrawal"
    assert account.balance == Decimal("100.00")


def test_below_the_overdraft_limit_only_when_allowed(account, payee):
    payee.deposit("50.00", uuid4())
    deposit = movement(payee)
    payee.withdraw("30.00", uuid4())
    payee.collect_events()
    with pytest.raises(InsufficientFundsError):
        payee.reverse(deposit, uuid4(), "Cheque bounced")
    assert payee.collect_events() == []
    payee.reverse(deposit, uuid4(), "Cheque bounced", may_overdraw=True)
    assert payee.balance == Decimal("-30.00")


def test_a_frozen_account_may_be_debited_by_a_reversal(account):
    account.deposit("40.00", uuid4())
    deposit = movement(account)
    account.freeze("Suspected fraud")
    account.collect_events()
    account.reverse(deposit, uuid4(), "Fraudulent deposit")
    assert account.balance == Decimal("100.00")


@pytest.mark.parametrize(
    ("reason", "refusal"), [("", InvalidReasonError), ("x" * 201, InvalidReasonError)]
)
def test_a_reason_is_required(account, reason, refusal):
    account.deposit("40.00", uuid4())
    deposit = movement(account)
    with pytest.raises(refusal):
        account.reverse(deposit, uuid4(), reason)
    assert account.collect_events() == []


def test_only_this_accounts_movements_can_be_reversed(account, payee):
    account.deposit("40.00", uuid4())
    deposit = movement(account)
    account.set_overdraft_limit("10.00", "Agreed")
    limit_set = movement(account)
    with pytest.raises(ReversalError):
        account.reverse(limit_set, uuid4(), "Not a movement")
    with pytest.raises(ReversalError):
        payee.reverse(deposit, uuid4(), "Someone else's")
    account.reverse(deposit, uuid4(), "Paid twice")
    reversed_event = movement(account)
    with pytest.raises(ReversalError):
        account.reverse(reversed_event, uuid4(), "Undo the undo")


def test_a_closed_account_takes_no_reversal(payee):
    payee.deposit("5.00", uuid4())
    deposit = movement(payee)
    payee.withdraw("5.00", uuid4())
    payee.close()
    payee.collect_events()
    with pytest.raises(AccountClosedError):
        payee.reverse(deposit, uuid4(), "Too late")


def request(amount, by="carol"):
    return Reversal.request(
        reverses=uuid4(),
        transaction_id=uuid4(),
        kind="deposit",
        amount=Decimal(amount),
        account_ids=(uuid4(),),
        requested_by=by,
        reason="Cheque bounced",
        freeze=False,
    )


def test_a_small_reversal_is_carried_out_without_approval():
    reversal = request("1000.00")
    assert not reversal.needs_approval
    with pytest.raises(ReversalError):
        reversal.approve("dave")
    reversal.carry_out()
    assert reversal.status == "carried out"
    assert [type(e).__name__ for e in reversal.collect_events()] == [
        "Requested",
        "CarriedOut",
    ]


def test_a_large_reversal_is_carried_out_only_after_another_approves():
    reversal = request(FOUR_EYES_ABOVE + Decimal("0.01"))
    with pytest.raises(ReversalError, match="waiting"):
        reversal.carry_out()
    with pytest.raises(SameStaffApprovalError):
        reversal.approve("carol")
    reversal.approve("dave")
    reversal.carry_out()
    assert (reversal.status, reversal.decided_by) == ("carried out", "dave")
    with pytest.raises(ReversalError, match="reversed already"):
        reversal.reject("erin", "Too late")


def test_a_rejected_reversal_can_be_asked_for_again_and_nothing_else():
    reversal = request("5000.00")
    reversal.reject("dave", "It cleared")
    for refused in (
        lambda: reversal.approve("erin"),
        reversal.carry_out,
        lambda: reversal.reject("erin", "Twice"),
    ):
        with pytest.raises(ReversalError, match="rejected by dave"):
            refused()
    again = uuid4()
    reversal.request_again(again, "dave", "Bounced after all", freeze=True)
    assert (reversal.status, reversal.requested_by, reversal.transaction_id) == (
        "pending",
        "dave",
        again,
    )
    reversal.approve("carol")
    assert reversal.status == "approved"


def test_a_reversal_id_is_derived_from_the_transaction_it_reverses():
    transaction_id = uuid4()
    assert Reversal.create_id(transaction_id) == Reversal.create_id(transaction_id)
    assert Reversal.create_id(transaction_id) != Reversal.create_id(uuid4())
