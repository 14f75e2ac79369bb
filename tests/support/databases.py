"""The PostgreSQL test server, throwaway databases on it, and a fresh bank.

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
from psycopg import sql

from esbank_site.bank import Bank
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


@contextlib.contextmanager
def throwaway_database(name: str) -> Iterator[dict[str, Any]]:
    """A new, empty database ``name`` on the test server, dropped afterwards.

    Dropped first too, in case an earlier run left it behind; dropping
    forces out whatever is still connected to it.
    """
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(name)
    )
    with postgres_admin_connection() as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_settings(name)
    finally:
        with postgres_admin_connection() as admin:
            admin.execute(drop)


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
