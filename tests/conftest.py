"""Shared fixtures: a fresh bank per test, on SQLite and on PostgreSQL.

Persistence tests take the ``bank`` fixture, which is parametrized over both
databases and reaches them through the same ``eventsourcing_env`` the site
uses. View tests take ``django_bank``: the site's own bank on pytest-django's
test database. Either way the events are erased and every connection closed
after the test, since events written through eventsourcing's connections
are not rolled back with Django's test transactions.

Tests that need the site's views or management commands on the ``bank``
fixture take ``site_bank`` instead.

PostgreSQL comes from ESBANK_TEST_POSTGRES_URL (tests/support/databases.py):
without it the PostgreSQL cases are skipped, unless ESBANK_TEST_POSTGRES=1
(set in CI), which turns that into a failure.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection

from esbank_site.bank import Bank, close_bank, create_tables, get_bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.databases import erase_events, fresh_bank, throwaway_database

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path_factory.mktemp("sqlite") / "bank.sqlite3"),
    }
    create_tables(database)
    return database


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[dict[str, Any]]:
    with throwaway_database(f"esbank_test_events_{os.getpid()}") as database:
        create_tables(database)
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each persistence test runs once per database."""
    return request.getfixturevalue(f"{request.param}_database")  # type: ignore[no-any-return]


@pytest.fixture
def bank(database: dict[str, Any]) -> Iterator[Bank]:
    """A fresh bank, its followers processed inline after each command."""
    with fresh_bank(database) as bank:
        yield bank


@pytest.fixture
def site_bank(bank: Bank, db: None, monkeypatch: pytest.MonkeyPatch) -> Bank:
    """The site's views and commands reach this test's bank.

    SQLite or PostgreSQL in turn, as ``bank`` is. The site reaches its bank
    only through ``esbank_site.bank.get_bank``; users and sessions stay in
    Django's test database.
    """
    monkeypatch.setattr("esbank_site.bank.get_bank", lambda: bank)
    return bank


@pytest.fixture
def django_bank(transactional_db: None) -> Iterator[Bank]:
    """The site's own bank, on pytest-django's test database.

    Transactional: on SQLite, a test wrapped in one open transaction would
    hold the write lock that the event store's connections need.
    """
    close_bank()
    env = eventsourcing_env(connection.settings_dict)
    erase_events(env)
    try:
        yield get_bank()
    finally:
        close_bank()
        erase_events(env)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show the figures suites print (requests, refusals, events checked).

    pytest hides what a passing test prints; the suites' figures are the
    point of running them, so they are repeated here, one block per test.
    """
    passed = terminalreporter.stats.get("passed", [])
    printed = [(r.nodeid, r.capstdout.strip()) for r in passed if r.capstdout.strip()]
    if not printed:
        return
    terminalreporter.section("figures printed by the suites")
    for nodeid, text in printed:
        terminalreporter.write_line(nodeid)
        for line in text.splitlines():
            terminalreporter.write_line(f"    {line}")
