"""Which ``run_processors`` process holds each follower, in PostgreSQL itself.

Each worker holds its follower with a session-level advisory lock, on a
connection of its own; the server releases it with the session, so a
standby can take over when the holder dies. Every worker connection is
named ``esbank-processor <pid>@<host>``, so any process (a web process's
``/health/`` included) can tell from ``pg_locks`` who holds what.

Skip on a first read: this is how the bank runs its followers on several
machines, not how the library processes events.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from eventsourcing.postgres import PostgresDatastore

from esbank_site.persistence.fencing import Fence, FencedTracking
from esbank_site.persistence.network import client_keepalives, server_options
from esbank_site.persistence.schema import TABLES_MIGRATION

if TYPE_CHECKING:
    import threading
    from collections.abc import Mapping, Sequence

    from eventsourcing.application import Application

    from esbank_site.runtime.processing import BaseProcessor

logger = logging.getLogger(__name__)

# Advisory locks take two keys: the bank's own (which tells its locks apart
# from any other application's in pg_locks), then the follower's.
LOCK_NAMESPACE = zlib.crc32(b"esbank processors") & 0x7FFFFFFF

# Every worker connection is named so, then "<pid>@<host>"; /health shows it.
APPLICATION_NAME_PREFIX = "esbank-processor "

_SELECT_HOLDERS = """
    SELECT l.objid::bigint AS key, a.application_name, l.pid
    FROM pg_locks AS l
    LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'advisory'
      AND l.granted
      AND l.objsubid = 2
      AND l.classid::bigint = %s
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


class RunsProcessors(Protocol):
    """A bank, as far as knowing who processes its followers goes."""

    @property
    def accounts(self) -> Application[Any]: ...

    @property
    def processors(self) -> Sequence[BaseProcessor]: ...


def lock_key(follower_name: str) -> int:
    """The follower's advisory lock key: the same in every process and host."""
    return zlib.crc32(follower_name.encode()) & 0x7FFFFFFF


def holder_name() -> str:
    """How this process names itself to the database: ``<pid>@<host>``."""
    return f"{os.getpid()}@{socket.gethostname()}"


def connect(
    database: Mapping[str, Any], *, connect_timeout: int, network_timeout: int
) -> psycopg.Connection[Any]:
    """A connection of the worker's own, outside the event store's pools.

    It gives up on a silent network after ``network_timeout`` seconds, and
    so does the server (``esbank_site/persistence/network.py``): a worker
    cut off from the database stops processing then, and the server ends
    its session, releasing its lock to a standby.
    """
    return psycopg.connect(
        dbname=str(database["NAME"]),
        host=str(database.get("HOST") or "localhost"),
        port=str(database.get("PORT") or "5432"),
        user=str(database.get("USER") or "") or None,
        password=str(database.get("PASSWORD") or "") or None,
        application_name=(APPLICATION_NAME_PREFIX + holder_name())[:63],
        autocommit=True,
        connect_timeout=connect_timeout,
        options=server_options(network_timeout) or None,
        **client_keepalives(network_timeout),
    )


def end_session_when_idle(conn: psycopg.Connection[Any], seconds: float) -> None:
    """Have the server end this session after ``seconds`` without a query.

    The server's own bound on a worker it no longer hears from, whatever
    the network between them (a proxy, say, whose TCP connection to the
    server stays healthy): ``idle_session_timeout``, PostgreSQL 14 and
    later; older servers rely on the network timeout alone.
    """
    if conn.info.server_version >= 140000:
        conn.execute(
            "SELECT set_config('idle_session_timeout', %s, false)",
            (f"{round(seconds * 1000)}ms",),
        )


def try_lock(conn: psycopg.Connection[Any], follower_name: str) -> bool:
    """Take the follower's lock for this session, if nobody holds it."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, %s)",
        (LOCK_NAMESPACE, lock_key(follower_name)),
    ).fetchone()
    return row is not None and bool(row[0])


def fence(conn: psycopg.Connection[Any], processor: BaseProcessor) -> None:
    """Let ``processor`` write only while ``conn``'s session holds its lock.

    Sets the fence (``esbank_site/persistence/fencing.py``) on the recorder
    the follower writes its tracking records with, if it has one.
    """
    recorder = getattr(getattr(processor, "follower", None), "recorder", None)
    if recorder is None:  # a projection: its view records the tracking
        recorder = getattr(getattr(processor, "projection", None), "view", None)
    if isinstance(recorder, FencedTracking):
        recorder.fence = Fence(
            LOCK_NAMESPACE, lock_key(processor.name), conn.info.backend_pid
        )


def processor_holders(bank: RunsProcessors) -> dict[str, str | None]:
    """For each follower, which worker holds it (``<pid>@<host>``), or None.

    Read from ``pg_locks``, so any process can tell, web processes included.
    Empty on SQLite, where no separate worker runs.
    """
    datastore = getattr(bank.accounts.factory, "datastore", None)
    if not isinstance(datastore, PostgresDatastore):
        return {}
    with datastore.get_connection() as conn:
        rows = conn.execute(_SELECT_HOLDERS, (LOCK_NAMESPACE,)).fetchall()
    holders: dict[int, str] = {}
    for row in rows:
        application_name = row["application_name"] or ""
        if application_name.startswith(APPLICATION_NAME_PREFIX):
            holders[row["key"]] = application_name.removeprefix(APPLICATION_NAME_PREFIX)
        else:
            holders[row["key"]] = f"backend {row['pid']}"
    return {
        processor.name: holders.get(lock_key(processor.name))
        for processor in bank.processors
    }


def wait_for_tables(
    database: Mapping[str, Any],
    stopping: threading.Event,
    *,
    connect_timeout: int,
    network_timeout: int,
    interval: float = 2.0,
) -> bool:
    """Wait until ``manage.py migrate`` has created the bank's tables.

    The library looks up its PostgreSQL types once, when the bank is built:
    a bank built before the tables exist could never record anything. False
    if told to stop first.
    """
    reported = None
    while not stopping.is_set():
        reason = _why_not_ready(database, connect_timeout, network_timeout)
        if reason is None:
            return True
        if reason != reported:
            logger.warning("Waiting: %s", reason)
            reported = reason
        stopping.wait(interval)
    return False


def _why_not_ready(
    database: Mapping[str, Any], connect_timeout: int, network_timeout: int
) -> str | None:
    """None once the tables are there, else what the worker waits for."""
    try:
        with connect(
            database, connect_timeout=connect_timeout, network_timeout=network_timeout
        ) as conn:
            row = conn.execute(
                "SELECT 1 FROM django_migrations WHERE app = %s AND name = %s",
                TABLES_MIGRATION,
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        row = None
    except psycopg.Error as error:
        return f"no database ({str(error).strip()})"
    if row is None:
        return "no tables yet: run `manage.py migrate`"
    return None
