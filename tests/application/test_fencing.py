"""PostgreSQL: a worker whose lock session is gone records nothing more.

``run_processors`` fences each follower's recorder with its lock session
(esbank_site/persistence/fencing.py): every write transaction checks, after
its tracking record, that the session still holds the follower's advisory
lock. Here the lock session is a connection of the test's own; closing it
is what the server does to a worker cut off by the network
(tests/multiprocess/test_partitions.py does that for real).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from esbank_site.persistence.fencing import LostFollowerError
from esbank_site.runtime.advisory_locks import connect, fence, try_lock
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from collections.abc import Iterator

    from esbank_site.bank import Bank


@pytest.fixture
def bank(postgres_database: dict[str, Any]) -> Iterator[Bank]:
    """A PostgreSQL bank whose followers run only when the test says."""
    with fresh_bank(postgres_database, process_inline=False) as bank:
        yield bank


@pytest.mark.parametrize("follower", ["Ledger", "Transactions", "AccountsList"])
def test_a_fenced_follower_writes_only_while_its_lock_session_holds_it(
    bank: Bank, postgres_database: dict[str, Any], follower: str
) -> None:
    [processor] = [p for p in bank.processors if p.name == follower]
    account_id = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account_id, "10.00")
    lock = connect(postgres_database, connect_timeout=5, network_timeout=15)
    try:
        assert try_lock(lock, follower)
        fence(lock, processor)
        assert processor.process(force=True)
        held_position = processor.position()
        assert held_position == bank.accounts.recorder.max_notification_id()
    finally:
        lock.close()  # the server ends the session: the lock is gone

    bank.accounts.deposit(account_id, "5.00")
    assert not processor.process(force=True)
    assert processor.last_error is not None
    assert LostFollowerError.__name__ in processor.last_error
    assert "no longer holds the follower" in processor.last_error
    assert processor.position() == held_position
    if follower == "Ledger":
        assert bank.ledger().get_ledger().balance == 10


def test_an_unfenced_follower_writes_as_the_library_does(bank: Bank) -> None:
    account_id = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account_id, "10.00")
    for processor in bank.processors:
        assert processor.process(force=True)
    assert {s.lag for s in bank.processor_status()} == {0}
