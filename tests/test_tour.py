"""The bank's story, told the way the library's own example tests tell theirs.

Read it beside docs/TOUR.md. It uses the library as it comes: the bank's
``BankSystem`` run by the library's ``SingleThreadedRunner``, on the
library's in-memory persistence, with no Django and no database. The site
runs the same applications through ``esbank_site/bank.py`` instead, on
Django's database, for reasons the tour gives; what happens to the events
is the same.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import StoredEvent
from eventsourcing.system import SingleThreadedRunner
from eventsourcing.utils import get_topic

from accounts.application import Accounts
from accounts.domain import Account
from accounts.statements import whole_statement
from esbank_site.system import BankSystem
from ledger.application import LedgerProcess, TransactionLogProcess


def test_the_bank_in_eight_steps() -> None:
    # The system says who follows whom: the ledger and the transaction log
    # each follow the Accounts application's notification log.
    key = AESCipher.create_key(num_bytes=32)
    runner = SingleThreadedRunner(
        BankSystem(),
        env={
            # Encrypt every stored event's state at rest (step 8).
            "CIPHER_TOPIC": get_topic(AESCipher),
            "CIPHER_KEY": key,
        },
    )
    runner.start()
    try:
        accounts = runner.get(Accounts)
        ledger = runner.get(LedgerProcess)
        transaction_log = runner.get(TransactionLogProcess)

        # 1. Open accounts: each is an aggregate, created by an event.
        ada = accounts.open_account("ada", "Current")
        bob = accounts.open_account("bob", "Savings")
        assert accounts.get_account(ada).balance == Decimal("0.00")

        # 2. Deposit: load, call, save. The aggregate checks its rules
        # first, then records one event; the balance is the events folded.
        accounts.deposit(ada, Decimal("100.00"), description="Salary")
        assert accounts.get_account(ada).balance == Decimal("100.00")

        # 3. Transfer: two aggregates changed, saved in one transaction.
        accounts.transfer(ada, bob, Decimal("30.00"))
        assert accounts.get_account(ada).balance == Decimal("70.00")
        assert accounts.get_account(bob).balance == Decimal("30.00")

        # 4. The ledger follows: a process application whose policy turns
        # each Accounts event into events of its own, exactly once. The
        # runner ran it as soon as the transfer was saved.
        totals = ledger.get_ledger()
        assert totals.balance == Decimal("100.00")  # the transfer moved none
        assert totals.transaction_count == 2
        logged = transaction_log.get_transactions()
        assert [entry.kind.value for entry in logged] == ["transfer", "deposit"]

        # 5. A snapshot: the account's state at a version, stored, so a
        # later read starts from it instead of from the first event.
        version = accounts.take_snapshot_now(ada)
        assert accounts.get_snapshot_versions(ada) == [version]

        # 6. Time travel: the account as it was after any of its events.
        assert accounts.get_account(ada, version=2).balance == Decimal("100.00")
        lines = whole_statement(accounts.events, ada)
        assert [(line.kind, line.balance) for line in lines] == [
            ("Deposit", Decimal("100.00")),
            ("Transfer out", Decimal("70.00")),
        ]

        # 7. Upcasting: a deposit written before deposits had a description
        # (class version 1) is read by today's code with an empty one.
        old_deposit = StoredEvent(
            originator_id=bob,
            originator_version=3,
            topic=get_topic(Account.Deposited),
            state=accounts.mapper.cipher.encrypt(
                accounts.mapper.transcoder.encode(
                    {
                        "timestamp": accounts.get_account(bob).last_activity_at,
                        "amount": Decimal("5.00"),
                        "transaction_id": uuid4(),
                    }
                )
            ),
        )
        accounts.recorder.insert_events([old_deposit])
        [upcast] = [e for e in accounts.events.get(bob) if e.originator_version == 3]
        assert upcast.description == ""
        assert accounts.get_account(bob).balance == Decimal("35.00")

        # 8. Encryption at rest: the stored state is ciphertext; names and
        # amounts never reach the store in clear.
        [opened] = accounts.recorder.select_events(ada, lte=1)
        assert b"ada" not in opened.state
        assert b"Current" not in opened.state
    finally:
        runner.stop()
