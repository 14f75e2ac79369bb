"""Who asked, in which request, because of what: stored with every event.

Accounts events carry the actor and correlation id current when they were
saved (``accounts/provenance.py``); the ledger's and the transaction log's
events carry the correlation id of the Accounts event they answer and that
event as their causation (``ledger/batches.py``); events stored before any
of this existed read back with actor ``unknown``
(``esbank_site/persistence/row_binding.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.cipher import AESCipher

from accounts.domain import Account
from accounts.provenance import Provenance, acting_as, current
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.application.test_schema_evolution import VERA, v1_bank  # noqa: F401

ALICE = Provenance(actor="alice", correlation_id="req-1a2b3c")


def logged_events(app: Any) -> list[tuple[int, Any]]:
    """Every event in an application's notification log, with its id."""
    return [
        (n.id, app.mapper.to_domain_event(n))
        for n in app.recorder.select_notifications(start=1, limit=1000)
    ]


def deposit_as_alice(bank: Bank) -> Any:
    """Open an account as the system, then pay in as Alice; the account id."""
    account_id = bank.accounts.open_account("Alice", "Current")
    with acting_as(ALICE):
        bank.accounts.deposit(account_id, "25.00")
    bank.wait_until_processed()
    return account_id


def test_outside_any_request_the_actor_is_the_system():
    assert current() == Provenance(actor="system")
    with acting_as(ALICE):
        assert current() == ALICE
    assert current().actor == "system"


def test_a_command_stores_its_actor_and_correlation(bank):
    account_id = deposit_as_alice(bank)

    opened, deposited = bank.accounts.events.get(account_id)
    assert (opened.actor, opened.correlation_id) == ("system", "")
    assert (deposited.actor, deposited.correlation_id, deposited.causation) == (
        "alice",
        "req-1a2b3c",
        "",
    )
    [(_, logged)] = [
        (n, e)
        for n, e in logged_events(bank.accounts)
        if isinstance(e, Account.Deposited)
    ]
    assert (logged.actor, logged.correlation_id) == ("alice", "req-1a2b3c")
    history = bank.accounts.get_history(account_id)
    assert (history[1].actor, history[1].correlation_id) == ("alice", "req-1a2b3c")
    assert "actor" not in history[1].data  # the envelope, not the event's data


@pytest.mark.parametrize("follower", ["ledger", "transaction_log"])
def test_followers_events_carry_causation_and_the_same_correlation(bank, follower):
    account_id = deposit_as_alice(bank)
    [(notification_id, deposited)] = [
        (n, e)
        for n, e in logged_events(bank.accounts)
        if isinstance(e, Account.Deposited)
    ]
    app = getattr(bank, follower)()
    caused = [e for _, e in logged_events(app) if e.correlation_id == "req-1a2b3c"]
    assert caused, f"{app.name} recorded nothing for the deposit"
    for event in caused:
        assert event.actor == f"system:{app.name}"
        assert event.causation == (
            f"Accounts#{notification_id} {account_id} v{deposited.originator_version}"
        )


def test_stamped_events_replay_and_snapshot(bank, database):
    account_id = deposit_as_alice(bank)
    bank.accounts.take_snapshot_now(account_id)
    with acting_as(ALICE):
        bank.accounts.deposit(account_id, "5.00")
    [snapshot] = bank.accounts.snapshots.get(account_id)
    assert snapshot.actor == "system"  # taken outside Alice's request

    reopened = Bank(eventsourcing_env(database))
    try:
        account = reopened.accounts.repository.get(account_id)
        assert account.balance == Decimal("30.00")
        assert "actor" not in vars(account)  # extra attributes skip the aggregate
        from_events = reopened.accounts.repository.get(account_id, version=2)
        assert from_events.balance == Decimal("25.00")
    finally:
        reopened.close()


def test_events_stored_before_provenance_read_back_as_unknown(v1_bank):  # noqa: F811
    events = list(v1_bank.accounts.events.get(VERA))
    assert events
    assert {(e.actor, e.correlation_id, e.causation) for e in events} == {
        ("unknown", "", "")
    }
    assert v1_bank.accounts.get_history(VERA)[0].actor == "unknown"


@pytest.fixture
def empty(bank):
    """A database with the tables and no events (the bank fixture erases them)."""
    bank.close()


def test_provenance_is_encrypted_with_the_rest_and_reads_back(empty, database):
    env = eventsourcing_env(database, cipher_key=AESCipher.create_key(32))
    bank = Bank(env)
    bank.start()
    try:
        account_id = deposit_as_alice(bank)
        stored = bank.accounts.recorder.select_events(account_id)[1].state
        assert b"req-1a2b3c" not in stored
        assert b"alice" not in stored
    finally:
        bank.close()
    reopened = Bank(env)
    reopened.start()
    try:
        deposited = list(reopened.accounts.events.get(account_id))[1]
        assert (deposited.actor, deposited.correlation_id) == ("alice", "req-1a2b3c")
        ledger_events = [e for _, e in logged_events(reopened.ledger())]
        assert any(e.correlation_id == "req-1a2b3c" for e in ledger_events)
    finally:
        reopened.close()
