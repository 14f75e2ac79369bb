"""PostgreSQL: the Accounts insert in one round trip, and what it still guarantees.

``ApplicationRecorder.insert_events`` (esbank_site/persistence/postgres_recorders.py)
sends BEGIN, the table lock, NOTIFY, INSERT and COMMIT before one sync. It
must keep what the library's insert guarantees: the events' notification
ids in order, a NOTIFY to followers, a version taken refused as
``IntegrityError`` with nothing recorded, and a connection fit for the next
command afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg.pq import TransactionStatus

from esbank_site.persistence.postgres_recorders import ApplicationRecorder
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from collections.abc import Iterator

    from esbank_site.bank import Bank


@pytest.fixture
def postgres_bank(postgres_database: dict[str, Any]) -> Iterator[Bank]:
    with fresh_bank(postgres_database) as bank:
        yield bank


def stored(originator_id: Any, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id, originator_version=version, topic="t", state=b"{}"
    )


def test_a_command_saves_through_the_one_round_trip_insert(postgres_bank, monkeypatch):
    recorder = postgres_bank.accounts.recorder
    assert isinstance(recorder, ApplicationRecorder)
    used = []
    one_round_trip = recorder._insert_in_one_round_trip

    def spying(stored_events):
        used.append(len(stored_events))
        return one_round_trip(stored_events)

    monkeypatch.setattr(recorder, "_insert_in_one_round_trip", spying)
    account = postgres_bank.accounts.open_account("alice", "Current")
    postgres_bank.accounts.deposit(account, "5.00", idempotency_key="k")
    # The opening (account, number, two list entries), the deposit and receipt.
    assert used == [4, 2]


def test_ids_come_back_in_order_and_followers_are_notified(
    postgres_bank, postgres_database
):
    recorder = postgres_bank.accounts.recorder
    head = recorder.max_notification_id() or 0
    listener = psycopg.connect(
        host=postgres_database["HOST"],
        port=postgres_database["PORT"],
        user=postgres_database["USER"],
        dbname=postgres_database["NAME"],
        autocommit=True,
    )
    with listener:
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        aggregate_id = uuid4()
        ids = recorder.insert_events([stored(aggregate_id, 1), stored(aggregate_id, 2)])
        assert ids == [head + 1, head + 2]
        heard = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in heard] == [recorder.channel_name]


def test_a_version_taken_is_refused_records_nothing_and_the_pool_goes_on(
    postgres_bank,
):
    recorder = postgres_bank.accounts.recorder
    aggregate_id = uuid4()
    recorder.insert_events([stored(aggregate_id, 1)])
    head = recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        # The second event is new, the first is taken: all or nothing.
        recorder.insert_events([stored(uuid4(), 1), stored(aggregate_id, 1)])
    assert recorder.max_notification_id() == head
    with recorder.datastore.get_connection() as conn:
        assert conn.info.transaction_status == TransactionStatus.IDLE
    # The refused insert used up sequence values, as any rollback does.
    [next_id] = recorder.insert_events([stored(aggregate_id, 2)])
    assert next_id > head


def test_a_stale_save_is_refused_and_changes_nothing(postgres_bank):
    accounts = postgres_bank.accounts
    account = accounts.open_account("alice", "Current")
    accounts.deposit(account, "10.00")
    stale = accounts._get_account(account)
    accounts.deposit(account, "5.00")
    stale.deposit("1.00", uuid4())
    with pytest.raises(IntegrityError):
        accounts.save(stale)
    assert accounts.get_account(account).balance == 15
