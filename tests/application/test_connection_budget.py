"""Every PostgreSQL pool of the bank is sized as the connection budget says.

The budget (``esbank_site/persistence/connection_budget.py``, and the table
in docs/DEPLOYMENT.md) names each pool a process has and its size; these
tests build the bank as a web process and as ``run_processors`` build it,
on PostgreSQL (SQLite has no pools), and read the sizes off the pools
themselves. ``tests/multiprocess/test_connection_budget.py`` counts the
connections of the running processes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from accounts.application import Accounts
from esbank_site.bank import Bank
from esbank_site.persistence import connection_budget
from esbank_site.persistence.connection_budget import (
    Budget,
    processors_process,
    web_process,
)
from esbank_site.persistence.environment import ConnectionSettings, eventsourcing_env
from esbank_site.runtime.processing import ProjectionProcessor
from esbank_site.runtime.workers import ProjectionWorker, worker_count, worker_env

if TYPE_CHECKING:
    from collections.abc import Iterator


def pool_sizes(bank: Bank) -> dict[str, tuple[int, int]]:
    """Each pool's (size, most connections), by application or projection."""
    pools = {
        app.name: app.factory.datastore.pool  # type: ignore[attr-defined]
        for app in [bank.accounts, *bank.followers.values()]
    }
    pools |= {
        name: projection.view.datastore.pool  # type: ignore[attr-defined]
        for name, projection in bank.projections.items()
    }
    return {name: (pool.min_size, pool.max_size) for name, pool in pools.items()}


def expected(budget: Budget) -> dict[str, tuple[int, int]]:
    return {
        name: (size, size + budget.max_overflow)
        for name, size in budget.pool_sizes.items()
    }


@pytest.fixture
def built(postgres_database: dict[str, Any]) -> Iterator[list[Bank]]:
    """Banks a test builds, closed afterwards."""
    banks: list[Bank] = []
    yield banks
    for bank in banks:
        bank.close()


def test_a_web_process_keeps_one_connection_per_pool_and_no_overflow(
    postgres_database: dict[str, Any],
    built: list[Bank],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The library also reads the process environment: it is overruled.
    monkeypatch.setenv("POSTGRES_POOL_SIZE", "7")
    monkeypatch.setenv("POSTGRES_MAX_OVERFLOW", "9")
    defaults = ConnectionSettings(pool_size=1, max_overflow=0)
    env = eventsourcing_env(postgres_database, connections=defaults)
    built.append(bank := Bank(env, process_inline=False))

    budget = web_process(pool_size=1, max_overflow=0)
    assert pool_sizes(bank) == expected(budget)
    assert set(budget.pool_sizes) == set(connection_budget.POOLS)
    # Django's connection and four pools of one.
    assert budget.total == 5


def test_pool_size_and_overflow_apply_to_every_pool(
    postgres_database: dict[str, Any], built: list[Bank]
) -> None:
    connections = ConnectionSettings(pool_size=2, max_overflow=1)
    env = eventsourcing_env(postgres_database, connections=connections)
    built.append(bank := Bank(env, process_inline=False))

    budget = web_process(pool_size=2, max_overflow=1, threads=2)
    assert pool_sizes(bank) == expected(budget)
    assert budget.total == 2 + 4 * (2 + 1)


@pytest.mark.parametrize(
    ("names", "workers"),
    [((), 3), (("ledger",), 1), (("Ledger", "accountslist", "LEDGER"), 2)],
    ids=["all", "ledger", "two"],
)
def test_run_processors_sizes_its_pools_to_its_threads(
    postgres_database: dict[str, Any],
    built: list[Bank],
    names: tuple[str, ...],
    workers: int,
) -> None:
    # Whatever POSTGRES_POOL_SIZE says for the web processes.
    connections = ConnectionSettings(pool_size=4, max_overflow=1)
    assert worker_count(names) == workers
    env = worker_env(postgres_database, connections, workers=workers)
    built.append(bank := Bank(env, process_inline=False))

    budget = processors_process(workers, max_overflow=1)
    assert pool_sizes(bank) == expected(budget)
    # The leader's pool: a connection per worker; the others one each; and
    # a lock connection per worker.
    assert budget.total == workers + (workers + 1) + 3 * (1 + 1)


def test_the_default_run_processors_budget() -> None:
    # Three lock connections, the leader's three, one per other pool.
    assert processors_process(3, max_overflow=0).total == 9
    # The library's ProjectionRunner brings a leader and a view of its own.
    assert processors_process(3, max_overflow=0, library_runner=True).total == 12


def test_the_library_runner_gets_the_pools_its_budget_counts(
    postgres_database: dict[str, Any], built: list[Bank]
) -> None:
    env = worker_env(postgres_database, ConnectionSettings(), workers=3)
    built.append(bank := Bank(env, process_inline=False))
    [processor] = [p for p in bank.processors if isinstance(p, ProjectionProcessor)]
    worker = ProjectionWorker(
        processor,
        postgres_database,
        threading.Event(),
        application_class=Accounts,
        env=bank.env,
    )
    for name, size in connection_budget.LIBRARY_RUNNER_POOLS.items():
        assert worker.env[connection_budget.pool_size_variable(name)] == str(size)
    assert worker.env["POSTGRES_MAX_OVERFLOW"] == "10"
