"""Shared fixtures: a fresh bank per test, on SQLite and on PostgreSQL.

Persistence tests take the ``bank`` fixture, which is parametrized over both
databases and reaches them through the same ``eventsourcing_env`` the site
uses. View tests take ``django_bank``: the site's own bank on pytest-django's
test database. Either way the events are erased and every connection closed
after the test, since events written through eventsourcing's connections
are not rolled back with Django's test transactions.

PostgreSQL comes from ESBANK_TEST_POSTGRES_URL (default: the local server,
user postgres). Without it the PostgreSQL cases are skipped, unless
ESBANK_TEST_POSTGRES=1 (set in CI), which turns that into a failure.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from esbank_site.bank import Bank, close_bank, create_tables, get_bank
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.persistence.postgres_recorders import uses_postgres

if TYPE_CHECKING:
    from collections.abc import Iterator

POSTGRES_URL = os.environ.get(
    "ESBANK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_REQUIRED = os.environ.get("ESBANK_TEST_POSTGRES") == "1"


def postgres_settings(name: str) -> dict[str, Any]:
    """A Django DATABASES entry for database ``name`` on the test server."""
    url = urlparse(POSTGRES_URL)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": url.hostname or "127.0.0.1",
        "PORT": str(url.port or 5432),
        "USER": url.username or "postgres",
        "PASSWORD": url.password or "",
    }


def postgres_admin_connection() -> psycopg.Connection[Any]:
    """A connection for creating and dropping test databases."""
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}"
        if POSTGRES_REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


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
    name = f"esbank_test_events_{os.getpid()}"
    with postgres_admin_connection() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = postgres_settings(name)
    try:
        create_tables(database)
        yield database
    finally:
        with postgres_admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each persistence test runs once per database."""
    return request.getfixturevalue(f"{request.param}_database")  # type: ignore[no-any-return]


def erase_events(env: dict[str, str]) -> None:
    """Delete every stored event, read model row and tracking position.

    The tables stay.

    On PostgreSQL the notification id sequences restart too, so every test
    sees positions counted from 1, as on SQLite.
    """
    bank = Bank(env, process_inline=False)
    postgres = uses_postgres(env)
    try:
        for app in [bank.accounts, *bank.followers.values()]:
            prefix = app.name.lower() + "_"
            tables = [t for t in bank.table_names() if t.startswith(prefix)]
            with app.factory.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
                for table in tables:
                    cursor.execute(_erase_statement(table, postgres=postgres))
        # The projections' read models and their positions.
        for projection in bank.projections.values():
            with projection.view.datastore.transaction(commit=True) as cursor:
                for table in projection.view.table_names:
                    cursor.execute(_erase_statement(table, postgres=postgres))
    finally:
        bank.close()


def _erase_statement(table: str, *, postgres: bool) -> str:
    if table.endswith("_tracking"):
        # Keep the library's own marker row in tracking tables.
        return f"DELETE FROM {table} WHERE application_name != '__migration__'"
    if postgres:
        return f"TRUNCATE {table} RESTART IDENTITY"
    return f"DELETE FROM {table}"


@contextlib.contextmanager
def fresh_bank(database: dict[str, Any], **options: Any) -> Iterator[Bank]:
    """A started bank on ``database`` with no events, erased again after."""
    env = eventsourcing_env(database)
    erase_events(env)
    bank = Bank(env, **options)
    bank.start()
    try:
        yield bank
    finally:
        bank.close()
        erase_events(env)


@pytest.fixture
def bank(database: dict[str, Any]) -> Iterator[Bank]:
    """A fresh bank, its followers processed inline after each command."""
    with fresh_bank(database) as bank:
        yield bank


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
