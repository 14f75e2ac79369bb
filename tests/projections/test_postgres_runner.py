"""On PostgreSQL the accounts list runs under the library's ProjectionRunner."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from eventsourcing.projection import ProjectionRunner

from accounts.application import Accounts
from accounts.projections import AccountsListProjection, AccountsQuery
from esbank_site.runtime.advisory_locks import processor_holders
from esbank_site.runtime.workers import ProjectionWorker, WorkerOptions
from tests.support.databases import fresh_bank


@pytest.fixture
def pg_bank(postgres_database):
    """A bank that records commands only: the list is run by the test."""
    with fresh_bank(postgres_database, process_inline=False) as bank:
        yield bank


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def balances(bank):
    page = bank.accounts_list().get_accounts_page(AccountsQuery())
    return {row.id: row.balance for row in page.rows}


def test_the_library_runner_keeps_the_list(pg_bank):
    ada = pg_bank.accounts.open_account("ada", "Current")
    with ProjectionRunner(
        application_class=Accounts,
        projection_class=AccountsListProjection,
        view_class=type(pg_bank.accounts_list()),
        env=pg_bank.env,
    ) as runner:
        try:
            pg_bank.accounts.deposit(ada, "10.00")
            pg_bank.accounts.withdraw(ada, "2.50")
            runner.wait(pg_bank.accounts.recorder.max_notification_id())
        finally:
            runner.view.datastore.close()  # the runner closes only its app
    assert balances(pg_bank) == {ada: Decimal("7.50")}
    page = pg_bank.accounts_list().get_accounts_page(AccountsQuery())
    assert (page.all_count, page.total_balance) == (1, Decimal("7.50"))


def test_the_worker_holds_the_list_and_restarts_a_failed_runner(
    pg_bank, postgres_database, monkeypatch
):
    view_class = type(pg_bank.accounts_list())
    real = view_class.record_movement
    failures = []

    def fails_once(self, *args, **kwargs):
        if not failures:
            failures.append(args)
            msg = "read model unavailable"
            raise RuntimeError(msg)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(view_class, "record_movement", fails_once)
    [processor] = [p for p in pg_bank.processors if p.name == "AccountsList"]
    stopping = threading.Event()
    worker = ProjectionWorker(
        processor,
        postgres_database,
        stopping,
        WorkerOptions(poll_interval=0.2),
        application_class=Accounts,
        env=pg_bank.env,
    )
    worker.start()
    try:
        ada = pg_bank.accounts.open_account("ada", "Current")
        pg_bank.accounts.deposit(ada, "10.00")  # fails once, then retried
        wait_until(lambda: processor.status().lag == 0)
        assert worker.holding.is_set()
        assert processor_holders(pg_bank)["AccountsList"] is not None
        pg_bank.accounts.deposit(ada, "5.00")
        wait_until(lambda: processor.status().lag == 0)
    finally:
        stopping.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(failures) == 1
    assert balances(pg_bank) == {ada: Decimal("15.00")}
