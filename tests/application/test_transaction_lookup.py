"""Finding a transaction's account from its id alone (SQLite and PostgreSQL).

The lookup reads the Accounts log backwards from its head, in chunks, only
money events, and no further back than its window.
"""

from __future__ import annotations

from uuid import uuid4

from accounts import transaction_lookup
from accounts.transaction_lookup import account_of_transaction


def test_a_movement_is_found_on_its_account(bank, ada, bob):
    deposit = bank.accounts.deposit(ada, "10.00")
    withdrawal = bank.accounts.withdraw(ada, "5.00")
    transfer = bank.accounts.transfer(ada, bob, "1.00")
    bank.accounts.staff.freeze(bob, "Recorded after them all")
    assert account_of_transaction(bank.accounts, deposit) == ada
    assert account_of_transaction(bank.accounts, withdrawal) == ada
    assert account_of_transaction(bank.accounts, transfer) in {ada, bob}


def test_a_reversal_is_found_too_so_that_it_is_refused_as_one(bank, ada):
    deposit = bank.accounts.deposit(ada, "10.00")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "staff", "Twice")
    assert account_of_transaction(bank.accounts, reversal.transaction_id) == ada


def test_an_unknown_id_is_not_found(bank, ada):
    assert account_of_transaction(bank.accounts, uuid4()) is None


def test_it_reads_in_chunks_and_no_further_back_than_its_window(bank, ada, monkeypatch):
    monkeypatch.setattr(transaction_lookup, "READ_SIZE", 2)
    monkeypatch.setattr(transaction_lookup, "LOOKUP_WINDOW", 6)
    old = bank.accounts.deposit(ada, "1.00")
    recent = bank.accounts.deposit(ada, "2.00")
    # Recorded after them, until the recent one is the oldest of six.
    while bank.accounts.recorder.max_notification_id() - 5 < _notification_id(
        bank, recent
    ):
        bank.accounts.deposit(ada, "3.00")
    head = bank.accounts.recorder.max_notification_id()
    assert _notification_id(bank, recent) == head - 5
    assert _notification_id(bank, old) < head - 5
    assert account_of_transaction(bank.accounts, recent) == ada
    assert account_of_transaction(bank.accounts, old) is None


def _notification_id(bank, transaction_id):
    recorder, mapper = bank.accounts.recorder, bank.accounts.mapper
    for notification in recorder.select_notifications(1, 1000):
        event = mapper.to_domain_event(notification)
        if getattr(event, "transaction_id", None) == transaction_id:
            return notification.id
    raise AssertionError(transaction_id)
