"""Fixtures for tests that run the bank as separate processes on PostgreSQL.

Each test gets a database of its own (tables created once, as ``migrate``
would), starts real ``manage.py run_processors`` and gunicorn processes on
it, and drives them from here. Every process started is killed and every
database created is dropped at the end, whatever happened; the output of
each process is printed when a test fails. Starting the processes and
moving money are in tests/support (``processes``, ``traffic``).
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

import pytest

from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.databases import throwaway_database
from tests.support.processes import Spawner, machine_wide_turn, migrate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_database_numbers = itertools.count()


@pytest.fixture
def empty_database() -> Iterator[dict[str, Any]]:
    """A fresh, empty PostgreSQL database, dropped afterwards.

    Every test here starts processes or threads that run the bank on it;
    they take turns with such tests elsewhere on the machine.
    """
    name = f"esbank_test_mp_{os.getpid()}_{next(_database_numbers)}"
    with machine_wide_turn(), throwaway_database(name) as database:
        yield database


@pytest.fixture
def own_database(empty_database: dict[str, Any]) -> dict[str, Any]:
    """A fresh PostgreSQL database, migrated: Django's and the bank's tables."""
    migrate(empty_database)
    return empty_database


@pytest.fixture
def observer(own_database: dict[str, Any]) -> Iterator[Bank]:
    """A bank in the test process that records commands and reads; no follower."""
    # One connection per application (tests/environment.py), not five: the
    # processes under test need their share of the server's 100.
    env = eventsourcing_env(own_database)
    bank = Bank(env, process_inline=False)
    try:
        yield bank
    finally:
        bank.close()


@pytest.fixture
def spawner(
    empty_database: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Spawner]:
    """Starts processes on the test's database; all killed at the end."""
    spawner = Spawner(empty_database, tmp_path)
    try:
        yield spawner
    finally:
        spawner.kill_all()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            spawner.print_output()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
