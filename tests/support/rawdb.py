"""Raw SQL and locks on a test database, as someone with access to it could.

Each works from outside the bank, on a connection of its own.
"""

from __future__ import annotations

import contextlib
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from collections.abc import Iterator


def is_sqlite(database: dict[str, Any]) -> bool:
    return database["ENGINE"].endswith("sqlite3")


def run_sql(database: dict[str, Any], sql: str, params: tuple[Any, ...] = ()) -> list:
    """Run one statement (``%s`` placeholders) in its own transaction."""
    if is_sqlite(database):
        with closing(sqlite3.connect(database["NAME"])) as connection, connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
    with psycopg.connect(
        dbname=database["NAME"],
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        autocommit=True,
    ) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def stored_id(database: dict[str, Any], account_id: Any) -> Any:
    """An account id as the read model stores it."""
    return str(account_id) if is_sqlite(database) else account_id


def event_id(database: dict[str, Any], account_id: Any) -> Any:
    """An aggregate id as the events table stores it."""
    return account_id.hex if is_sqlite(database) else account_id


@contextlib.contextmanager
def table_locked(database: dict[str, Any], mode: str) -> Iterator[None]:
    """Another session holding a lock on the events table until released.

    PostgreSQL only; ``mode`` is a ``LOCK TABLE`` mode, such as EXCLUSIVE.
    """
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname=database["NAME"],
    ) as locker:
        locker.execute(f"LOCK TABLE accounts_events IN {mode} MODE")
        try:
            yield
        finally:
            locker.rollback()
