"""PostgreSQL: a lock that is not released ends a command, it is not retried.

``esbank_site/persistence/postgres_recorders.py`` keeps the library's retries for a
dropped connection and drops them for a lock timeout; every connection
also has a session ``lock_timeout``, so reads give up too. Suite 9
(tests/adversarial/test_database_trouble.py) checks the same through
gunicorn and HTTP; these tests show the mechanism itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg.errors import LockNotAvailable

from esbank_site.bank import Bank
from esbank_site.persistence import postgres_recorders
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.persistence.postgres_recorders import (
    is_lock_timeout,
    retry_unless_lock_timeout,
    uses_postgres,
)
from tests.support.databases import fresh_bank
from tests.support.rawdb import table_locked

if TYPE_CHECKING:
    from collections.abc import Iterator

LOCK_TIMEOUT_SECONDS = 1


def failing(*errors: Exception) -> tuple[list[int], Any]:
    """A function raising ``errors`` in turn, then returning "done"."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, call


def raised_from(cause: Exception) -> OperationalError:
    """An error as the library raises it: its own class, psycopg's as cause."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


def test_a_lock_timeout_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_recorders, "WAIT_SECONDS", 0)
    lock_timeout = raised_from(LockNotAvailable("canceling statement"))
    calls, call = failing(lock_timeout)
    with pytest.raises(OperationalError) as raised:
        retry_unless_lock_timeout(call)()
    assert raised.value is lock_timeout
    assert is_lock_timeout(raised.value)
    assert len(calls) == 1


def test_other_operational_errors_are_retried_as_the_library_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_recorders, "WAIT_SECONDS", 0)
    dropped = raised_from(psycopg.OperationalError("server closed the connection"))
    assert not is_lock_timeout(dropped)
    calls, call = failing(dropped, dropped)
    assert retry_unless_lock_timeout(call)() == "done"
    assert len(calls) == 3
    calls, call = failing(*[dropped] * postgres_recorders.MAX_ATTEMPTS)
    with pytest.raises(OperationalError):
        retry_unless_lock_timeout(call)()
    assert len(calls) == postgres_recorders.MAX_ATTEMPTS


def test_every_method_the_library_retries_is_rewrapped() -> None:
    recorders = [
        postgres_recorders.AggregateRecorder,
        postgres_recorders.ApplicationRecorder,
        postgres_recorders.TrackingRecorder,
        postgres_recorders.ProcessRecorder,
    ]
    for recorder in recorders:
        for name in postgres_recorders.RETRIED_METHODS:
            method = getattr(recorder, name, None)
            if method is not None:
                assert method.__code__ is retry_unless_lock_timeout(len).__code__, (
                    f"{recorder.__name__}.{name}"
                )


@pytest.fixture
def quick_bank(postgres_database: dict[str, Any], settings: Any) -> Iterator[Bank]:
    """A PostgreSQL bank giving up on a lock after LOCK_TIMEOUT_SECONDS."""
    settings.ESBANK_DB_LOCK_TIMEOUT = LOCK_TIMEOUT_SECONDS
    assert uses_postgres(eventsourcing_env(postgres_database))
    with fresh_bank(postgres_database) as bank:
        yield bank


def fails_with_lock_timeout(call: Any) -> float:
    """Seconds ``call`` took to fail with a lock timeout."""
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        call()
    assert is_lock_timeout(raised.value), raised.value
    return time.monotonic() - started


def test_a_command_behind_a_stuck_writer_fails_after_one_lock_timeout(
    quick_bank: Bank, postgres_database: dict[str, Any]
) -> None:
    accounts = quick_bank.accounts
    account = accounts.open_account("alice", "Current")
    head = accounts.recorder.max_notification_id()
    with table_locked(postgres_database, "EXCLUSIVE"):
        # The library's retries would make this 10 lock timeouts (10 s).
        took = fails_with_lock_timeout(lambda: accounts.deposit(account, "5.00"))
        assert accounts.get_account(account).balance == 0  # reads still pass
    assert took < 3 * LOCK_TIMEOUT_SECONDS
    assert accounts.recorder.max_notification_id() == head
    accounts.deposit(account, "5.00")
    assert accounts.get_account(account).balance == 5


def test_a_read_behind_ddl_fails_after_one_lock_timeout(
    quick_bank: Bank, postgres_database: dict[str, Any]
) -> None:
    accounts = quick_bank.accounts
    account = accounts.open_account("alice", "Current")
    with table_locked(postgres_database, "ACCESS EXCLUSIVE"):
        # Without a session lock_timeout this waits until the lock goes.
        took = fails_with_lock_timeout(lambda: accounts.get_account(account))
    assert took < 3 * LOCK_TIMEOUT_SECONDS
    assert accounts.get_account(account).balance == 0
