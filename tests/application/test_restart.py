"""Close everything and open it again: nothing is lost, followers catch up."""

from __future__ import annotations

from decimal import Decimal

from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env


def test_accounts_logs_and_ledger_survive_a_restart(bank, database):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Savings")
    bank.accounts.deposit(ada, "70")
    bank.accounts.transfer(ada, bob, "20")
    bank.close()

    reopened = Bank(eventsourcing_env(database))
    reopened.start()
    try:
        assert [e.account_id for e in reopened.accounts.account_index.get()] == [
            ada,
            bob,
        ]
        assert reopened.accounts.list_owner_account_ids("bob") == [bob]
        assert reopened.accounts.get_account(ada).balance == Decimal("50.00")
        assert reopened.ledger().get_ledger().balance == Decimal("70.00")
        assert reopened.transaction_log().count_transactions() == 2
        assert audit(reopened).ok
    finally:
        reopened.close()


def test_followers_catch_up_at_start_on_events_recorded_while_they_were_down(
    bank, database
):
    # A process that only records commands (like a web worker beside
    # separate processors) while no follower runs anywhere.
    recorder_only = Bank(eventsourcing_env(database), process_inline=False)
    recorder_only.start()
    try:
        ada = recorder_only.accounts.open_account("ada", "Current")
        recorder_only.accounts.deposit(ada, "10")
        recorder_only.accounts.deposit(ada, "5")
        # Opened, its number, two index entries and two deposits.
        assert [s.lag for s in recorder_only.processor_status()] == [6, 6, 6]
    finally:
        recorder_only.close()

    restarted = Bank(eventsourcing_env(database))
    restarted.start()
    try:
        assert [s.lag for s in restarted.processor_status()] == [0, 0, 0]
        assert restarted.ledger().get_ledger().balance == Decimal("15.00")
        assert restarted.transaction_log().count_transactions() == 2
    finally:
        restarted.close()
