"""Reversals through the Accounts application (SQLite and PostgreSQL).

A reversal is compensating events: the original stays, a ``Reversed``
event on each account undoes it, and a ``Reversal`` aggregate says who
asked, who approved and that it was carried out, all in one save. Large
reversals wait for a second member of staff. A refused one records nothing.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from accounts.errors import (
    AccountClosedError,
    InsufficientFundsError,
    InvalidReasonError,
    ReversalError,
    ReversalNotFoundError,
    SameStaffApprovalError,
    TransactionNotFoundError,
)
from accounts.reversal import Reversal


def head(bank):
    return bank.accounts.recorder.max_notification_id() or 0


def balance(bank, account_id):
    return bank.accounts.get_account(account_id).balance


def test_a_deposit_is_reversed_by_a_new_event_and_the_original_stays(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00", description="Paid twice")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    assert balance(bank, ada) == Decimal("100.00")
    history = bank.accounts.get_history(ada)
    assert [e.type for e in history[-2:]] == ["Deposited", "Reversed"]
    reversed_event = history[-1].data
    assert reversed_event["amount"] == Decimal("-40.00")
    assert reversed_event["reverses"] == deposit
    assert reversed_event["original"] == "deposit"
    assert reversed_event["reason"] == "Paid in twice"
    assert reversed_event["transaction_id"] == reversal.transaction_id
    assert (reversal.status, reversal.kind, reversal.amount) == (
        "carried out",
        "deposit",
        Decimal("40.00"),
    )
    assert (reversal.requested_by, reversal.reverses) == ("carol", deposit)
    assert reversal.id == Reversal.create_id(deposit)


def test_a_withdrawal_is_reversed_by_paying_it_back(bank, ada):
    withdrawal = bank.accounts.withdraw(ada, "30.00")
    bank.accounts.reversals.reverse(withdrawal, ada, "carol", "Cash machine fault")
    assert balance(bank, ada) == Decimal("100.00")
    assert bank.accounts.get_history(ada)[-1].data["original"] == "withdrawal"


@pytest.mark.parametrize("named", ["sender", "receiver"])
def test_both_legs_of_a_transfer_are_reversed_in_one_save(bank, ada, bob, named):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    before = head(bank)
    account = ada if named == "sender" else bob
    reversal = bank.accounts.reversals.reverse(
        transfer, account, "carol", "Wrong payee"
    )
    assert (balance(bank, ada), balance(bank, bob)) == (Decimal("100.00"), Decimal(0))
    assert reversal.account_ids == (ada, bob)
    # Both legs, the reversal requested and carried out, its entry in the list.
    new = list(bank.accounts.recorder.select_notifications(before + 1, 10))
    assert len(new) == 5
    assert {n.originator_id for n in new} >= {ada, bob, reversal.id}
    assert bank.accounts.get_history(bob)[-1].data["original"] == "transfer received"


def test_a_transaction_is_reversed_once_only(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    before = head(bank)
    with pytest.raises(ReversalError, match="reversed already"):
        bank.accounts.reversals.reverse(deposit, ada, "dave", "Again")
    assert head(bank) == before


def test_a_reversal_cannot_itself_be_reversed(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    with pytest.raises(ReversalError, match="cannot itself be reversed"):
        bank.accounts.reversals.reverse(reversal.transaction_id, ada, "dave", "Undo")


def test_refusals_record_nothing(bank, ada, bob):
    deposit = bank.accounts.deposit(ada, "40.00")
    before = head(bank)
    for attempt, refusal in [
        (
            lambda: bank.accounts.reversals.reverse(deposit, ada, "c", ""),
            InvalidReasonError,
        ),
        (
            lambda: bank.accounts.reversals.reverse(deposit, ada, "c", "x" * 201),
            InvalidReasonError,
        ),
        (
            lambda: bank.accounts.reversals.reverse(uuid4(), ada, "c", "Unknown"),
            TransactionNotFoundError,
        ),
        (
            lambda: bank.accounts.reversals.reverse(deposit, bob, "c", "Wrong account"),
            TransactionNotFoundError,
        ),
    ]:
        with pytest.raises(refusal):
            attempt()
    assert head(bank) == before
    assert bank.accounts.reversals.of_transaction(deposit) is None


def test_below_the_overdraft_limit_only_if_the_account_is_frozen_too(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "60.00")
    bank.accounts.withdraw(bob, "50.00")
    before = head(bank)
    with pytest.raises(InsufficientFundsError):
        bank.accounts.reversals.reverse(transfer, ada, "carol", "Fraud")
    assert head(bank) == before
    bank.accounts.reversals.reverse(transfer, ada, "carol", "Fraud", freeze=True)
    bob_now = bank.accounts.get_account(bob)
    assert (bob_now.balance, bob_now.frozen) == (Decimal("-50.00"), True)
    ada_now = bank.accounts.get_account(ada)
    assert (ada_now.balance, ada_now.frozen) == (Decimal("100.00"), False)
    assert [e.type for e in bank.accounts.get_history(bob)[-2:]] == [
        "Reversed",
        "Frozen",
    ]


def test_a_closed_account_cannot_be_reversed_into(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "10.00")
    bank.accounts.withdraw(bob, "10.00")
    bank.accounts.close_account(bob)
    with pytest.raises(AccountClosedError):
        bank.accounts.reversals.reverse(transfer, ada, "carol", "Wrong payee")


def test_a_large_reversal_waits_for_a_second_member_of_staff(bank, ada):
    deposit = bank.accounts.deposit(ada, "1000.01")
    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Cheque bounced")
    assert (request.status, request.needs_approval) == ("pending", True)
    assert balance(bank, ada) == Decimal("1100.01")
    before = head(bank)
    with pytest.raises(SameStaffApprovalError):
        bank.accounts.reversals.approve(request.id, "carol")
    with pytest.raises(ReversalError, match="waiting"):
        bank.accounts.reversals.reverse(deposit, ada, "dave", "Again")
    assert head(bank) == before
    approved = bank.accounts.reversals.approve(request.id, "dave")
    assert (approved.status, approved.decided_by) == ("carried out", "dave")
    assert balance(bank, ada) == Decimal("100.00")
    assert bank.accounts.get_history(ada)[-1].data["transaction_id"] == (
        request.transaction_id
    )
    with pytest.raises(ReversalError, match="reversed already"):
        bank.accounts.reversals.approve(request.id, "erin")


def test_a_thousand_pounds_exactly_is_carried_out_at_once(bank, ada):
    deposit = bank.accounts.deposit(ada, "1000.00")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")
    assert reversal.status == "carried out"


def test_a_rejected_reversal_moves_nothing_and_may_be_asked_for_again(bank, ada):
    deposit = bank.accounts.deposit(ada, "5000.00")
    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")
    bank.accounts.reversals.reject(request.id, "dave", "It cleared after all")
    rejected = bank.accounts.reversals.get(request.id)
    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == (
        "rejected",
        "dave",
        "It cleared after all",
    )
    with pytest.raises(ReversalError, match="rejected by dave"):
        bank.accounts.reversals.approve(request.id, "erin")
    with pytest.raises(ReversalError, match="rejected by dave"):
        bank.accounts.reversals.reject(request.id, "erin", "Twice")
    assert balance(bank, ada) == Decimal("5100.00")
    again = bank.accounts.reversals.reverse(deposit, ada, "dave", "Bounced now")
    assert (again.id, again.status, again.requested_by) == (
        request.id,
        "pending",
        "dave",
    )
    bank.accounts.reversals.approve(request.id, "carol")
    assert balance(bank, ada) == Decimal("100.00")


def test_an_approval_that_would_overdraw_is_refused_and_the_request_waits(bank, ada):
    deposit = bank.accounts.deposit(ada, "2000.00")
    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")
    bank.accounts.withdraw(ada, "2000.00")
    with pytest.raises(InsufficientFundsError):
        bank.accounts.reversals.approve(request.id, "dave")
    assert bank.accounts.reversals.get(request.id).status == "pending"


def test_a_double_submit_reverses_once(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    first = bank.accounts.reversals.reverse(
        deposit, ada, "carol", "Paid in twice", idempotency_key="form-1"
    )
    second = bank.accounts.reversals.reverse(
        deposit, ada, "carol", "Paid in twice", idempotency_key="form-1"
    )
    assert first == second
    assert balance(bank, ada) == Decimal("100.00")


def test_the_list_is_newest_first_and_ids_of_other_things_are_not_reversals(bank, ada):
    first = bank.accounts.deposit(ada, "1.00")
    second = bank.accounts.deposit(ada, "2000.00")
    bank.accounts.reversals.reverse(first, ada, "carol", "One")
    bank.accounts.reversals.reverse(second, ada, "carol", "Two")
    listed = bank.accounts.reversals.list_reversals()
    assert [(place, r.reverses) for place, r in listed] == [(2, second), (1, first)]
    assert [r.reverses for r in bank.accounts.reversals.all_reversals()] == [
        first,
        second,
    ]
    for not_a_reversal in (ada, uuid4(), bank.accounts.reversals.log.originator_id):
        with pytest.raises(ReversalNotFoundError):
            bank.accounts.reversals.get(not_a_reversal)
