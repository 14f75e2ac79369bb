"""The followers in processes of their own, on PostgreSQL.

``manage.py run_processors`` runs one ``FollowerWorker`` thread per follower
(the ledger, the transaction log, ...). Each worker:

- holds its follower with a session-level PostgreSQL advisory lock, on a
  connection of its own. While another process holds it, the worker stands
  by and tries again every second: a second ``run_processors`` is a hot
  standby, and takes over within seconds when the first one dies, since the
  server releases the lock with the dead process's session.
- LISTENs, on that same connection, to the leader's channel, which the
  library NOTIFYs on every commit. A notification wakes the worker at once;
  a timer wakes it anyway, because a notification sent while nobody listened
  is gone for good (the library's own subscription has no such fallback,
  upstream issue #305).
- on each wake-up, has ``Processor.process`` pull from the follower's
  tracking position: it resumes where it stopped after any crash, and logs
  and retries a failing event with a growing delay.
- checks between two batches that its connection, and so its lock, is
  still there; if not, it stops processing at once, reconnects with backoff
  and competes for the lock again.
- stops between two batches when told to (SIGTERM or SIGINT).
- while its follower is far behind (a catch-up after downtime), logs its
  progress every few seconds, from the positions it reads anyway.

A projection (the accounts list) runs the same way, its
``ProjectionProcessor`` writing each pull in one transaction through its
view's ``batch()``. With ``library_runner=True`` (``run_processors
--library-runner``) it gets a ``ProjectionWorker`` instead, which holds its
lock the same way but, while it does, runs the projection under the
library's own ``ProjectionRunner``, following the leader through the
library's PostgreSQL subscription: simpler, and one transaction per event,
which fell behind 8 clients' deposits here (docs/BENCHMARKS.md, figure 4).

Exactly-once never rests on the lock alone. Each event is processed in one
transaction with its tracking record, and the single-row tracking table
refuses a position that does not move forward, so two processes that both
believe for a moment that they hold a follower still cannot record an event
twice: the lock only spares them the wasted work and the conflicts.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.projection import ProjectionRunner
from psycopg import sql

from esbank_site.bank import POSTGRES_ENGINE, Bank, eventsourcing_env
from esbank_site.runtime.processing import ProjectionProcessor
from esbank_site.runtime.progress import progress_bar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from eventsourcing.application import Application

    from esbank_site.runtime.processing import BaseProcessor

logger = logging.getLogger(__name__)

# Advisory locks take two keys: the bank's own (which tells its locks apart
# from any other application's in pg_locks), then the follower's.
LOCK_NAMESPACE = zlib.crc32(b"esbank processors") & 0x7FFFFFFF

# Every worker connection is named so, then "<pid>@<host>"; /health shows it.
APPLICATION_NAME_PREFIX = "esbank-processor "

DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_STANDBY_INTERVAL = 1.0
DEFAULT_BATCH_SIZE = 100
# After a notification, how long a follower lets more commits land before it
# pulls: under load one pull, one transaction, then covers dozens of events
# instead of one or two, and the followers take less of the CPU the web
# processes need. The read side trails the accounts by this much more; the
# benchmarks measure 0 to 0.5 s (docs/BENCHMARKS.md, "Levers").
DEFAULT_GATHER_SECONDS = 0.2
MAX_RECONNECT_DELAY = 30.0
# A follower more than this many events behind its leader is catching up,
# and says how it is going this often; a follower that keeps up says
# nothing, however busy the bank.
DEFAULT_PROGRESS_THRESHOLD = 1_000
DEFAULT_PROGRESS_INTERVAL = 5.0

# A worker needs few connections per application (one thread per
# follower); the library opens 5 by default. The environment can say more.
DEFAULT_WORKER_POOL_SIZE = "2"

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


# The last migration that creates tables the workers use: the event store's
# (0001), then the projections' (0002); see their docstrings.
TABLES_MIGRATION = ("esbank_site", "0002_projection_tables")


class UnknownFollowerError(LookupError):
    """Raised when ``run_processors`` is asked for a follower the bank lacks."""


def lock_key(follower_name: str) -> int:
    """The follower's advisory lock key: the same in every process and host."""
    return zlib.crc32(follower_name.encode()) & 0x7FFFFFFF


def holder_name() -> str:
    """How this process names itself to the database: ``<pid>@<host>``."""
    return f"{os.getpid()}@{socket.gethostname()}"


def check_postgres(database: Mapping[str, Any]) -> None:
    """Refuse to run separate processors on anything but PostgreSQL."""
    if database["ENGINE"] != POSTGRES_ENGINE:
        msg = (
            "run_processors needs PostgreSQL (DATABASE_URL=postgres://...). "
            "With SQLite the web process runs the followers itself."
        )
        raise ImproperlyConfigured(msg)


def worker_env(database: Mapping[str, Any]) -> dict[str, str]:
    """The eventsourcing environment for a worker: the web's, with fewer connections."""
    from django.conf import settings  # noqa: PLC0415 (settings must be loaded)

    pool_size = os.environ.get("POSTGRES_POOL_SIZE", DEFAULT_WORKER_POOL_SIZE)
    env = eventsourcing_env(
        database,
        cipher_key=settings.ESBANK_CIPHER_KEY,
        compress=settings.ESBANK_COMPRESS_EVENTS,
    )
    return env | {"POSTGRES_POOL_SIZE": pool_size}


def connect(database: Mapping[str, Any]) -> psycopg.Connection[Any]:
    """A connection of the worker's own, outside the event store's pools."""
    return psycopg.connect(
        dbname=str(database["NAME"]),
        host=str(database.get("HOST") or "localhost"),
        port=str(database.get("PORT") or "5432"),
        user=str(database.get("USER") or "") or None,
        password=str(database.get("PASSWORD") or "") or None,
        application_name=(APPLICATION_NAME_PREFIX + holder_name())[:63],
        autocommit=True,
        connect_timeout=5,
        # Notice a server or network that vanished without closing the
        # connection, instead of waiting on it for the kernel's hours; and
        # have the server notice a vanished worker likewise, so that it
        # releases the worker's lock to a standby within half a minute.
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        tcp_user_timeout=15_000,
        options=(
            "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 "
            "-c tcp_keepalives_count=3"
        ),
    )


def wait_for_tables(
    database: Mapping[str, Any], stopping: threading.Event, interval: float = 2.0
) -> bool:
    """Wait until ``manage.py migrate`` has created the event store's tables.

    The library looks up its PostgreSQL types once, when the bank is built:
    a bank built before the tables exist could never record anything. False
    if told to stop first.
    """
    reported = None
    while not stopping.is_set():
        reason = _why_not_ready(database)
        if reason is None:
            return True
        if reason != reported:
            logger.warning("Waiting: %s", reason)
            reported = reason
        stopping.wait(interval)
    return False


def _why_not_ready(database: Mapping[str, Any]) -> str | None:
    """None once the tables are there, else what the worker waits for."""
    try:
        with connect(database) as conn:
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


def select_processors(bank: Bank, names: Iterable[str] = ()) -> list[BaseProcessor]:
    """The bank's processors with these names (any case), or all of them."""
    by_name = {processor.name.lower(): processor for processor in bank.processors}
    wanted = [name.lower() for name in names] or list(by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        known = ", ".join(processor.name for processor in bank.processors)
        msg = f"No follower named {', '.join(unknown)}; the bank has {known}."
        raise UnknownFollowerError(msg)
    return [by_name[name] for name in dict.fromkeys(wanted)]


def processor_holders(bank: Bank) -> dict[str, str | None]:
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


class CatchUpProgress:
    """Logs a follower's catch-up, from positions its worker has already read.

    A catch-up starts when the follower falls more than ``threshold`` events
    behind the leader's head, and ends when it reaches the head. Its first
    line comes ``interval`` seconds after it starts, then one every
    ``interval`` while the follower is still that far behind, and one to say
    it caught up. A burst that is over sooner says nothing, and a follower
    that keeps up under load, a few events behind, says nothing either: at
    most one line per interval and follower. An ``interval`` of 0 turns the
    lines off.
    """

    def __init__(
        self,
        name: str,
        *,
        interval: float = DEFAULT_PROGRESS_INTERVAL,
        threshold: int = DEFAULT_PROGRESS_THRESHOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.interval = interval
        self.threshold = threshold
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget any catch-up: another process may have finished it since."""
        self._started: tuple[float, int] | None = None  # when, from which position
        self._last: tuple[float, int] = (0.0, 0)  # as of the last line
        self._reported = False

    def observe(self, position: int, head: int) -> None:
        """Note the follower's position and the leader's head; log when due."""
        if self.interval <= 0:
            return
        now = self.clock()
        lag = head - position
        if self._started is None:
            if lag > self.threshold:
                self._started = self._last = (now, position)
                self._reported = False
            return
        if lag <= 0:
            if self._reported:
                self._log_caught_up(self._started, now, position, head)
            self._started = None
            return
        last_at, last_position = self._last
        if lag > self.threshold and now - last_at >= self.interval:
            rate = (position - last_position) / (now - last_at)
            left = _time_left((head - position) / rate) if rate > 0 else "not moving"
            logger.info(
                "%s: catching up %s, %s events/s, %s",
                self.name,
                progress_bar(position, head),
                f"{rate:,.0f}",
                left,
            )
            self._last = (now, position)
            self._reported = True

    def _log_caught_up(
        self, started: tuple[float, int], now: float, position: int, head: int
    ) -> None:
        started_at, started_from = started
        # A line was logged since it started: at least one interval ago.
        seconds = now - started_at
        events = position - started_from
        logger.info(
            "%s: caught up at position %d (head %d): %d events in %.1fs, %s events/s",
            self.name,
            position,
            head,
            events,
            seconds,
            f"{events / seconds:,.0f}",
        )


def _time_left(seconds: float) -> str:
    """E.g. ``under 1s left``, ``about 42s left``, ``about 3m05s left``."""
    if seconds < 1:
        return "under 1s left"
    whole = round(seconds)
    if whole < 60:
        return f"about {whole}s left"
    if whole < 3600:
        return f"about {whole // 60}m{whole % 60:02d}s left"
    return f"about {whole // 3600}h{whole % 3600 // 60:02d}m left"


class FollowerWorker(threading.Thread):
    """Processes one follower whenever this process holds its advisory lock."""

    def __init__(
        self,
        processor: BaseProcessor,
        database: Mapping[str, Any],
        stopping: threading.Event,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        standby_interval: float = DEFAULT_STANDBY_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        gather_seconds: float = DEFAULT_GATHER_SECONDS,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        progress_threshold: int = DEFAULT_PROGRESS_THRESHOLD,
    ) -> None:
        super().__init__(name=f"esbank-{processor.name.lower()}", daemon=True)
        self.processor = processor
        self.database = database
        self.stopping = stopping
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.batch_size = batch_size
        self.gather_seconds = gather_seconds
        self.holding = threading.Event()
        self.key = lock_key(processor.name)
        self.channel: str = processor.leader.recorder.channel_name  # type: ignore[attr-defined]
        self.progress = CatchUpProgress(
            processor.name, interval=progress_interval, threshold=progress_threshold
        )

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                with connect(self.database) as conn:
                    failures = 0
                    if self._stand_by(conn):
                        self.progress.reset()
                        self._lead(conn)
            except Exception as error:  # noqa: BLE001 (reconnect, whatever broke)
                if self.stopping.is_set():
                    break
                failures += 1
                delay = min(MAX_RECONNECT_DELAY, 0.5 * 2**failures)
                logger.warning(
                    "%s: %s: %s; reconnecting in %.1fs",
                    self.processor.name,
                    "lost the follower" if self.holding.is_set() else "no database",
                    str(error).strip() or type(error).__name__,
                    delay,
                )
                self.holding.clear()
                self.stopping.wait(delay)
            else:
                if self.holding.is_set():
                    logger.info("%s: released", self.processor.name)
                self.holding.clear()

    def _stand_by(self, conn: psycopg.Connection[Any]) -> bool:
        """Wait until this process holds the follower; False if told to stop."""
        waiting = False
        while not self.stopping.is_set():
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, self.key)
            ).fetchone()
            if row is not None and row[0]:
                return True
            if not waiting:
                logger.info(
                    "%s: held by another processor; standing by", self.processor.name
                )
                waiting = True
            self.stopping.wait(self.standby_interval)
        return False

    def _lead(self, conn: psycopg.Connection[Any]) -> None:
        """Process the follower until told to stop or the connection drops."""
        # Listen first, then catch up: a commit in between still wakes us.
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        self.holding.set()
        status = self.processor.status()
        logger.info(
            "%s: processing %s from position %d (lag %d)",
            self.processor.name,
            status.leader,
            status.position,
            status.lag,
        )
        self.progress.observe(status.position, status.leader_position)
        self._catch_up(conn)
        while not self.stopping.is_set():
            self._wait_for_news(conn)
            self._catch_up(conn)

    def _wait_for_news(self, conn: psycopg.Connection[Any]) -> None:
        """Return on the leader's next notification, or after the poll interval."""
        woken = False
        for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
            woken = True
        if woken and self.gather_seconds:
            self.stopping.wait(self.gather_seconds)  # let more commits land
        # Drain the notifications already received: one pull covers them all.
        for _ in conn.notifies(timeout=0):
            pass

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        """Process batches until the follower is at the leader's head."""
        while not self.stopping.is_set():
            # Raises if the connection, and with it the lock, is gone.
            conn.execute("SELECT 1")
            before = self.processor.position()
            if not self.processor.process(limit=self.batch_size):
                return  # failing, and backing off: a later wake-up retries
            status = self.processor.status()
            self.progress.observe(status.position, status.leader_position)
            if status.lag == 0 or status.position == before:
                return


class ProjectionWorker(FollowerWorker):
    """Runs one projection under ``ProjectionRunner`` while holding its lock.

    The runner follows the leader through the library's subscription
    (LISTEN/NOTIFY, in threads of its own) from the view's tracking
    position. Every poll interval the worker checks that its lock's
    connection is still there, and starts a new runner when the last one
    failed (after a growing delay) or when the view is behind and has not
    moved since the last check: the subscription waits for a NOTIFY with no
    timeout, and one sent before it listened is lost (upstream issue #305).
    """

    def __init__(
        self,
        processor: ProjectionProcessor,
        database: Mapping[str, Any],
        stopping: threading.Event,
        *,
        application_class: type[Application[Any]],
        env: Mapping[str, str],
        **options: Any,
    ) -> None:
        super().__init__(processor, database, stopping, **options)
        self.projection = processor.projection
        self.application_class = application_class
        # The runner's view writes from one thread: one connection will do.
        pool_size = f"{self.projection.name.upper()}_POSTGRES_POOL_SIZE"
        self.env = {pool_size: "1"} | dict(env)

    def _lead(self, conn: psycopg.Connection[Any]) -> None:
        self.holding.set()
        status = self.processor.status()
        logger.info(
            "%s: projecting %s from position %d (lag %d)",
            self.processor.name,
            status.leader,
            status.position,
            status.lag,
        )
        self.progress.observe(status.position, status.leader_position)
        failures = 0
        while not self.stopping.is_set():
            try:
                self._run_until_stalled(conn)
            except psycopg.Error:
                raise  # the lock's own connection: reconnect, compete again
            except Exception as error:  # a projection may raise anything
                failures += 1
                delay = min(MAX_RECONNECT_DELAY, 0.5 * 2**failures)
                logger.exception(
                    "%s failed (failure %d); restarting in %.1fs",
                    self.processor.name,
                    failures,
                    delay,
                    exc_info=error,
                )
                self.stopping.wait(delay)
            else:
                failures = 0

    def _run_until_stalled(self, conn: psycopg.Connection[Any]) -> None:
        """One runner: until told to stop, a stall (return) or an error (raise)."""
        runner = ProjectionRunner(
            application_class=self.application_class,
            projection_class=type(self.projection),
            view_class=type(self.projection.view),
            env=self.env,
        )
        try:
            with runner:
                last_position = None
                while not self.stopping.is_set():
                    # Raises if the connection, and with it the lock, is gone.
                    conn.execute("SELECT 1")
                    runner.run_forever(timeout=self.poll_interval)  # raises errors
                    if runner.is_interrupted.is_set() and not self.stopping.is_set():
                        msg = "The subscription stopped."
                        raise RuntimeError(msg)
                    status = self.processor.status()
                    self.progress.observe(status.position, status.leader_position)
                    if status.lag and status.position == last_position:
                        logger.info(
                            "%s: behind at %d and not moving; resubscribing",
                            self.processor.name,
                            status.position,
                        )
                        return
                    last_position = status.position
        finally:
            # The runner closes its application, not its view's connections.
            runner.view.datastore.close()


def stop_on_signals(stopping: threading.Event) -> None:
    """Set ``stopping`` on SIGTERM (a supervisor's stop) and SIGINT (Ctrl-C)."""

    def handle(signum: int, frame: object) -> None:
        logger.info("Stopping on %s", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_processors(
    database: Mapping[str, Any],
    names: Iterable[str] = (),
    *,
    stopping: threading.Event,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    standby_interval: float = DEFAULT_STANDBY_INTERVAL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    gather_seconds: float = DEFAULT_GATHER_SECONDS,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
    progress_threshold: int = DEFAULT_PROGRESS_THRESHOLD,
    library_runner: bool = False,
) -> None:
    """Run the named followers (all by default) until ``stopping`` is set.

    ``library_runner`` runs projections under the library's
    ``ProjectionRunner`` rather than in pulls of their own.
    """
    check_postgres(database)
    if not wait_for_tables(database, stopping):
        return
    bank = Bank(worker_env(database), process_inline=False)
    try:
        # A wrong CIPHER_KEY stops the worker here, with one clear error.
        bank.check_events_are_readable()
        options: dict[str, Any] = {
            "poll_interval": poll_interval,
            "standby_interval": standby_interval,
            "batch_size": batch_size,
            "gather_seconds": gather_seconds,
            "progress_interval": progress_interval,
            "progress_threshold": progress_threshold,
        }
        workers = [
            ProjectionWorker(
                processor,
                database,
                stopping,
                application_class=bank.system.get_app_cls(processor.leader.name),
                env=bank.env,
                **options,
            )
            if library_runner and isinstance(processor, ProjectionProcessor)
            else FollowerWorker(processor, database, stopping, **options)
            for processor in select_processors(bank, names)
        ]
        logger.info(
            "Processor %s runs %s",
            holder_name(),
            ", ".join(worker.processor.name for worker in workers),
        )
        for worker in workers:
            worker.start()
        while not stopping.wait(1.0):
            pass
        started = time.monotonic()
        for worker in workers:
            worker.join()
        logger.info("Stopped in %.1fs", time.monotonic() - started)
    finally:
        bank.close()
