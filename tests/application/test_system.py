"""The whole system: Accounts followed by the ledger and the transaction log."""

from __future__ import annotations

from decimal import Decimal

from esbank_site.operations.audit import audit
from ledger.domain import TransactionKind


def test_ledger_and_transaction_log_follow_every_movement(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Savings")
    deposit = bank.accounts.deposit(ada, "100")
    transfer = bank.accounts.transfer(ada, bob, "40")
    withdrawal = bank.accounts.withdraw(bob, "15.50")

    ledger = bank.ledger().get_ledger()
    assert ledger.balance == Decimal("84.50")
    assert (ledger.total_deposits, ledger.total_withdrawals) == (
        Decimal("100.00"),
        Decimal("15.50"),
    )
    assert ledger.transaction_count == 3  # a transfer is one transaction

    entries = bank.transaction_log().get_transactions()
    assert [(e.number, e.kind, e.transaction_id) for e in entries] == [
        (3, TransactionKind.WITHDRAWAL, withdrawal),
        (2, TransactionKind.TRANSFER, transfer),
        (1, TransactionKind.DEPOSIT, deposit),
    ]
    assert (entries[1].account_id, entries[1].counterparty_id) == (ada, bob)
    assert bank.transaction_log().get_transactions(before=3, limit=1)[0].number == 2
    assert audit(bank).ok


def test_accounts_log_holds_only_account_events_and_each_app_has_its_own(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(ada, "10", idempotency_key="k")

    def topics(app):
        return {n.topic for n in app.recorder.select_notifications(1, 100)}

    assert topics(bank.accounts) == {
        "accounts.domain:Account.Opened",
        "accounts.domain:Account.Deposited",
        "accounts.domain:AccountIndexed",
        "accounts.domain:AccountNumber.Reserved",
        "accounts.domain:Receipt.Issued",
    }
    assert topics(bank.ledger()) == {
        "ledger.domain:Ledger.Started",
        "ledger.domain:Ledger.DepositRecorded",
    }
    assert topics(bank.transaction_log()) == {"ledger.domain:TransactionLogged"}
    assert bank.table_names() == [
        "accounts_events",
        "accounts_snapshots",
        "ledger_events",
        "ledger_snapshots",
        "ledger_tracking",
        "transactions_events",
        "transactions_tracking",
    ]


def test_two_followers_of_accounts_keep_separate_positions(bank):
    ledger, transactions, _accounts_list = bank.processors
    ada = bank.accounts.open_account("ada", "Current")
    bank.process_inline = False
    bank.accounts.deposit(ada, "10")
    bank.accounts.deposit(ada, "20")
    head = bank.accounts.recorder.max_notification_id()

    ledger.process()
    assert (ledger.position(), transactions.position()) == (head, head - 2)
    assert transactions.status().lag == 2

    transactions.process()
    assert transactions.position() == head
    assert bank.transaction_log().count_transactions() == 2
    assert bank.ledger().get_ledger().balance == Decimal("30.00")
