"""The ledger and the transaction log follow reversals (SQLite and PostgreSQL).

A reversal is a transaction of its own: the ledger undoes the original's
effect on its totals and counts it, and the log lists it with the
transaction it reverses. A transfer's reversal, like the transfer, is
counted once. A reversal waiting for approval has moved no money, so
neither follows it until it is carried out.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from esbank_site.operations.audit import audit
from ledger.domain import TransactionKind


def figures(bank):
    """(balance, paid in, taken out, count) of the ledger, once it caught up."""
    bank.wait_until_processed()
    ledger = bank.ledger().get_ledger()
    return (
        ledger.balance,
        ledger.total_deposits,
        ledger.total_withdrawals,
        ledger.transaction_count,
    )


def assert_the_books_balance(bank, *account_ids):
    """The accounts' balances add up to the ledger's, and to in less out."""
    balance, paid_in, taken_out, _ = figures(bank)
    held = sum(bank.accounts.get_account(a).balance for a in account_ids)
    assert held == balance == paid_in - taken_out


def newest(bank):
    bank.wait_until_processed()
    return bank.transaction_log().get_transactions(limit=1)[0]


def test_a_deposit_s_reversal_takes_it_out_of_the_totals(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid twice")

    assert figures(bank) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
        3,
    )
    assert_the_books_balance(bank, ada)
    entry = newest(bank)
    assert (entry.kind, entry.amount, entry.signed_amount) == (
        TransactionKind.DEPOSIT_REVERSAL,
        Decimal("40.00"),
        Decimal("-40.00"),
    )
    assert (entry.transaction_id, entry.reverses) == (reversal.transaction_id, deposit)
    assert (entry.account_id, entry.counterparty_id) == (ada, None)
    assert bank.transaction_log().count_transactions() == 3


def test_a_withdrawal_s_reversal_pays_it_back(bank, ada):
    withdrawal = bank.accounts.withdraw(ada, "30.00")
    bank.accounts.reversals.reverse(withdrawal, ada, "carol", "Cash machine fault")

    assert figures(bank) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
        3,
    )
    assert_the_books_balance(bank, ada)
    entry = newest(bank)
    assert (entry.kind, entry.signed_amount, entry.reverses) == (
        TransactionKind.WITHDRAWAL_REVERSAL,
        Decimal("30.00"),
        withdrawal,
    )


@pytest.mark.parametrize("named", ["sender", "receiver"])
def test_a_transfer_s_reversal_is_counted_once(bank, ada, bob, named):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    before = figures(bank)
    logged_before = bank.transaction_log().count_transactions()

    reversal = bank.accounts.reversals.reverse(
        transfer, ada if named == "sender" else bob, "carol", "Wrong payee"
    )

    balance, paid_in, taken_out, count = figures(bank)
    assert (balance, paid_in, taken_out) == before[:3]
    assert count == before[3] + 1
    assert bank.transaction_log().count_transactions() == logged_before + 1
    assert_the_books_balance(bank, ada, bob)
    entry = newest(bank)
    assert (entry.kind, entry.amount, entry.signed_amount) == (
        TransactionKind.TRANSFER_REVERSAL,
        Decimal("25.00"),
        Decimal(0),
    )
    assert entry.is_transfer
    # The sending leg's account, as the transfer's own entry has it.
    assert (entry.account_id, entry.transaction_id, entry.reverses) == (
        ada,
        reversal.transaction_id,
        transfer,
    )


def test_a_reversal_that_overdraws_and_freezes_still_balances(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "60.00")
    bank.accounts.withdraw(bob, "50.00")
    bank.accounts.reversals.reverse(transfer, ada, "carol", "Fraud", freeze=True)

    assert figures(bank)[3] == 4
    assert_the_books_balance(bank, ada, bob)
    assert bank.accounts.get_account(bob).balance == Decimal("-50.00")


def test_a_pending_reversal_is_followed_only_once_approved(bank, ada):
    deposit = bank.accounts.deposit(ada, "1500.00")
    before = figures(bank)
    logged_before = bank.transaction_log().count_transactions()

    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")

    assert request.is_pending
    assert figures(bank) == before
    assert bank.transaction_log().count_transactions() == logged_before
    assert_the_books_balance(bank, ada)

    bank.accounts.reversals.approve(request.id, "dave")

    assert figures(bank) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
        before[3] + 1,
    )
    assert_the_books_balance(bank, ada)
    entry = newest(bank)
    assert (entry.kind, entry.transaction_id, entry.reverses) == (
        TransactionKind.DEPOSIT_REVERSAL,
        request.transaction_id,
        deposit,
    )


def test_a_rejected_reversal_asked_for_again_is_followed_once(bank, ada):
    deposit = bank.accounts.deposit(ada, "5000.00")
    before = figures(bank)
    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")
    bank.accounts.reversals.reject(request.id, "dave", "It cleared")
    assert figures(bank) == before

    again = bank.accounts.reversals.reverse(deposit, ada, "dave", "Bounced now")
    assert figures(bank) == before
    bank.accounts.reversals.approve(again.id, "carol")

    assert figures(bank)[3] == before[3] + 1
    assert_the_books_balance(bank, ada)
    entry = newest(bank)
    assert (entry.transaction_id, entry.reverses) == (again.transaction_id, deposit)
    assert again.transaction_id != request.transaction_id


def test_the_audit_agrees_with_the_ledger_and_the_log_after_reversals(bank, ada, bob):
    deposit = bank.accounts.deposit(ada, "40.00")
    withdrawal = bank.accounts.withdraw(ada, "10.00")
    transfer = bank.accounts.transfer(ada, bob, "20.00")
    large = bank.accounts.deposit(bob, "1200.00")
    for original, account in [(deposit, ada), (withdrawal, ada), (transfer, bob)]:
        bank.accounts.reversals.reverse(original, account, "carol", "Put right")
    request = bank.accounts.reversals.reverse(large, bob, "carol", "Bounced")
    bank.accounts.reversals.approve(request.id, "dave")
    bank.wait_until_processed()

    report = audit(bank)

    assert report.problems == []
    assert report.movements == figures(bank)[3] == 9
    assert bank.transaction_log().count_transactions() == 9
    assert_the_books_balance(bank, ada, bob)
