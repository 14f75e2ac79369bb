"""eventsourcing's PostgreSQL module, giving up on a lock when its time is up.

The library's PostgreSQL recorders retry every insert and read up to 10
times on ``OperationalError``, 0.2 seconds apart. That is right for a
dropped connection, but a lock timeout is an ``OperationalError`` too: a
deposit behind a stuck writer waited 10 x ``POSTGRES_LOCK_TIMEOUT`` before
it failed, and a read behind DDL (ACCESS EXCLUSIVE) had no timeout at all,
because only the library's inserts set one (``SET LOCAL lock_timeout``).
A web request held that long is a request the user has given up on.

Departs from the library (9.5.6): the standard way is
``PERSISTENCE_MODULE=eventsourcing.postgres`` as it comes. What would remove
the need: the library not retrying ``lock_not_available``, and setting its
lock timeout on every connection rather than on inserts only.

So here:

- the same recorders, re-wrapped with the library's retry policy minus lock
  timeouts (PostgreSQL's ``55P03 lock_not_available``), which fail at once,
  so the site answers 503 with ``Retry-After`` within one lock timeout;
- every pooled connection starts with ``lock_timeout`` set for the session,
  so reads give up after the same time as writes;
- every pooled connection gives up on a silent network after
  ``ESBANK_POSTGRES_NETWORK_TIMEOUT`` seconds, at both ends (``network.py``):
  the library sets no keepalive, so a query on a cut link waited for the
  kernel's retransmissions, about fifteen minutes.

It is selected with
``PERSISTENCE_MODULE=esbank_site.persistence.postgres_recorders:Factory`` (see
``esbank_site/bank.py``), the hook the library offers for this, as
``esbank_site/persistence/sqlite_tables.py`` is for SQLite.
"""

from __future__ import annotations

import functools
import random
import time
from typing import TYPE_CHECKING, Any, TypeVar, cast

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from psycopg import sql
from psycopg.errors import LockNotAvailable
from psycopg.pq import TransactionStatus

from esbank_site.persistence.fencing import FencedTracking
from esbank_site.persistence.network import client_keepalives, server_options

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.utils import Environment

# The library's policy for everything else (eventsourcing/postgres.py).
MAX_ATTEMPTS = 10
WAIT_SECONDS = 0.2

# Seconds of silence after which a connection is given up (0: the kernel's
# defaults): this module's own setting, beside the library's POSTGRES_*.
NETWORK_TIMEOUT = "ESBANK_POSTGRES_NETWORK_TIMEOUT"

# The recorder methods the library decorates with @retry.
RETRIED_METHODS = (
    "insert_events",
    "select_events",
    "select_notifications",
    "max_notification_id",
    "insert_tracking",
    "max_tracking_id",
    "has_tracking_id",
)

RecorderClass = TypeVar("RecorderClass", bound=type)


def is_lock_timeout(error: BaseException) -> bool:
    """Whether ``error`` is, or was raised from, PostgreSQL's lock timeout."""
    return isinstance(error, LockNotAvailable) or isinstance(
        error.__cause__, LockNotAvailable
    )


def retry_unless_lock_timeout(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` retried as the library does, except after a lock timeout."""

    @functools.wraps(method)
    def retrying(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if is_lock_timeout(error) or attempt == MAX_ATTEMPTS:
                    raise
                time.sleep(WAIT_SECONDS * (1 + 0.1 * (random.random() - 0.5)))  # noqa: S311
        raise AssertionError  # pragma: no cover (the loop returns or raises)

    return retrying


def lock_timeouts_not_retried(cls: RecorderClass) -> RecorderClass:
    """Re-wrap each retried method ``cls`` inherits, around the original."""
    for name in RETRIED_METHODS:
        method = getattr(cls, name, None)
        original = getattr(method, "__wrapped__", None)
        if original is not None:
            setattr(cls, name, retry_unless_lock_timeout(original))
    return cls


@lock_timeouts_not_retried
class AggregateRecorder(PostgresAggregateRecorder):
    """Snapshots: ``PostgresAggregateRecorder``, lock timeouts not retried."""


@lock_timeouts_not_retried
class ApplicationRecorder(PostgresApplicationRecorder):
    """Events: ``PostgresApplicationRecorder``, in one round trip, lock timeouts
    not retried.

    Departs from the library (9.5.6), whose insert takes the table lock,
    sends the NOTIFY and the INSERT, waits for the answer, and only then
    sends COMMIT and waits again: the lock that serialises every writer of
    the application is held across a round trip and the Python between. Here
    BEGIN, the lock, NOTIFY, INSERT and COMMIT go to the server together,
    before one sync, so the lock is held for the server's work only. The
    statements are the library's own. A refused insert (a version taken, a
    lock timeout) aborts the transaction and skips the COMMIT; it is rolled
    back and raised as the library would raise it. What would remove the
    need: the library pipelining its COMMIT with the INSERT.
    """

    @retry_unless_lock_timeout
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # An application's save passes ``tracking=None``; anything more is
        # another recorder's business, done the library's way.
        asked = {name for name, value in kwargs.items() if value is not None}
        if not stored_events or self.datastore.enable_db_functions or asked:
            # The library's own, without its retries (these are above).
            library_insert = PostgresApplicationRecorder.insert_events.__wrapped__
            return library_insert(self, stored_events, **kwargs)
        return self._insert_in_one_round_trip(stored_events)

    def _insert_in_one_round_trip(
        self, stored_events: Sequence[StoredEvent]
    ) -> Sequence[int]:
        rows = [
            self.construct_pg_stored_event(
                e.originator_id, e.originator_version, e.topic, e.state
            )
            for e in stored_events
        ]
        refused: psycopg.Error | None = None
        with self.datastore.get_connection() as conn:
            try:
                with (
                    conn.pipeline() as pipeline,
                    conn.cursor() as curs,
                    conn.cursor() as inserted,
                ):
                    curs.execute("BEGIN")
                    for statement in self.lock_table_statements:
                        curs.execute(statement, prepare=True)
                    curs.execute(self._notify_statement)
                    inserted.execute(self.insert_events_statement, (rows,))
                    curs.execute("COMMIT")
                    pipeline.sync()
                    ids = [row["notification_id"] for row in inserted.fetchall()]
            except psycopg.Error as error:
                refused = error
            if refused is not None:
                # Raised outside the pipeline, as the library does, once the
                # aborted transaction is rolled back.
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise refused
        return ids

    @functools.cached_property
    def _notify_statement(self) -> sql.Composed:
        return sql.SQL("NOTIFY {0}").format(sql.Identifier(self.channel_name))


@lock_timeouts_not_retried
class TrackingRecorder(PostgresTrackingRecorder):
    """Positions: ``PostgresTrackingRecorder``, lock timeouts not retried."""


@lock_timeouts_not_retried
class ProcessRecorder(FencedTracking, PostgresProcessRecorder):
    """Followers: ``PostgresProcessRecorder``, lock timeouts not retried, fenced.

    A ``run_processors`` worker fences it (``fencing.py``): a write after
    the worker's lock is gone fails.
    """


class Factory(PostgresFactory):
    """``PostgresFactory``: the recorders above, session and network timeouts."""

    aggregate_recorder_class = AggregateRecorder
    application_recorder_class = ApplicationRecorder
    tracking_recorder_class = TrackingRecorder
    process_recorder_class = ProcessRecorder

    def __init__(self, env: Environment | Mapping[str, str] | None) -> None:
        super().__init__(env)
        pool_kwargs = cast("dict[str, Any]", self.datastore.pool.kwargs)
        options = [pool_kwargs.get("options", "")]
        seconds = self.datastore.lock_timeout
        if seconds:
            # Applied by the server when each pooled connection starts; the
            # library's own SET LOCAL on inserts still takes precedence.
            options.append(f"-c lock_timeout={seconds}s")
        network_timeout = int(self.env.get(NETWORK_TIMEOUT) or 0)
        pool_kwargs.update(client_keepalives(network_timeout))
        options.append(server_options(network_timeout))
        if any(options):
            pool_kwargs["options"] = " ".join(option for option in options if option)


# The PERSISTENCE_MODULE value that selects this factory.
TOPIC = f"{__name__}:{Factory.__name__}"


def uses_postgres(env: Mapping[str, str]) -> bool:
    """Whether an eventsourcing environment from ``bank.py`` is PostgreSQL's."""
    return env.get("PERSISTENCE_MODULE") == TOPIC
