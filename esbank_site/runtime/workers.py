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

Exactly-once never rests on the lock alone. Each pull of events is recorded
in one transaction with its tracking record, and the single-row tracking table
refuses a position that does not move forward, so two processes that both
believe for a moment that they hold a follower still cannot record an event
twice: the lock only spares them the wasted work and the conflicts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from django.core.exceptions import ImproperlyConfigured
from eventsourcing.projection import ProjectionRunner
from psycopg import sql

from esbank_site.persistence import connection_budget
from esbank_site.persistence.environment import (
    POSTGRES_ENGINE,
    ConnectionSettings,
    eventsourcing_env,
)
from esbank_site.runtime.advisory_locks import (
    connect,
    end_session_when_idle,
    fence,
    holder_name,
    processor_holders,
    try_lock,
    wait_for_tables,
)
from esbank_site.runtime.processing import ProjectionProcessor
from esbank_site.runtime.progress import (
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_PROGRESS_THRESHOLD,
    CatchUpProgress,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from eventsourcing.application import Application
    from eventsourcing.system import System

    from esbank_site.runtime.processing import BaseProcessor

__all__ = ["processor_holders"]  # re-exported: pages ask who processes what

logger = logging.getLogger(__name__)

MAX_RECONNECT_DELAY = 30.0


@dataclass(frozen=True)
class WorkerOptions:
    """How ``run_processors`` runs each follower: its command-line options."""

    # Which followers (any case; none: all of them).
    names: tuple[str, ...] = ()
    # Seconds between pulls when no notification arrives.
    poll_interval: float = 1.0
    # Seconds between a standby's attempts to take a follower over.
    standby_interval: float = 1.0
    # Events processed between two checks of the lock and of stop.
    batch_size: int = 100
    # After a notification, how long a follower lets more commits land
    # before it pulls: under load one pull, one transaction, then covers
    # dozens of events instead of one or two, and the followers take less of
    # the CPU the web processes need. The read side trails the accounts by
    # this much more; the benchmarks measure 0 to 0.5 s (docs/BENCHMARKS.md,
    # "Levers").
    gather_seconds: float = 0.2
    # Progress lines of a follower catching up (interval 0: none).
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL
    progress_threshold: int = DEFAULT_PROGRESS_THRESHOLD
    # Run projections under the library's ProjectionRunner instead of pulls.
    library_runner: bool = False
    # Seconds to wait for a connection of the worker's own.
    connect_timeout: int = 5
    # Seconds of silence after which the worker's connections are given up,
    # by the worker and by the server (ESBANK_DB_NETWORK_TIMEOUT): a cut-off
    # worker's lock goes to a standby after about that long.
    network_timeout: int = 15


DEFAULTS = WorkerOptions()


class FollowedBank(Protocol):
    """What ``run_processors`` needs of the bank it runs the followers of."""

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def system(self) -> System: ...

    @property
    def processors(self) -> Sequence[BaseProcessor]: ...

    def check_events_are_readable(self) -> None: ...

    def close(self) -> None: ...


class UnknownFollowerError(LookupError):
    """Raised when ``run_processors`` is asked for a follower the bank lacks."""


def check_postgres(database: Mapping[str, Any]) -> None:
    """Refuse to run separate processors on anything but PostgreSQL."""
    if database["ENGINE"] != POSTGRES_ENGINE:
        msg = (
            "run_processors needs PostgreSQL (DATABASE_URL=postgres://...). "
            "With SQLite the web process runs the followers itself."
        )
        raise ImproperlyConfigured(msg)


def worker_count(names: Iterable[str] = ()) -> int:
    """How many followers ``run_processors NAME ...`` runs: a thread each."""
    return len({name.lower() for name in names}) or len(connection_budget.PROCESSORS)


def worker_env(
    database: Mapping[str, Any],
    connections: ConnectionSettings,
    *,
    workers: int,
    cipher_key: str = "",
    compress: bool = False,
) -> dict[str, str]:
    """The eventsourcing environment for ``workers`` worker threads.

    Sized to them, whatever POSTGRES_POOL_SIZE says for web processes: the
    leader's pool, which every worker reads, a connection per worker; each
    follower's pool and the accounts list's, one, since one thread writes
    each; all with POSTGRES_MAX_OVERFLOW (persistence/connection_budget.py).
    """
    budget = connection_budget.processors_process(workers, connections.max_overflow)
    leader = connection_budget.LEADER
    env = eventsourcing_env(
        database,
        connections=dataclasses.replace(
            connections, pool_size=1, max_overflow=budget.max_overflow
        ),
        cipher_key=cipher_key,
        compress=compress,
    )
    env[connection_budget.pool_size_variable(leader)] = str(budget.pool_sizes[leader])
    return env


def select_processors(
    bank: FollowedBank, names: Iterable[str] = ()
) -> list[BaseProcessor]:
    """The bank's processors with these names (any case), or all of them."""
    by_name = {processor.name.lower(): processor for processor in bank.processors}
    wanted = [name.lower() for name in names] or list(by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        known = ", ".join(processor.name for processor in bank.processors)
        msg = f"No follower named {', '.join(unknown)}; the bank has {known}."
        raise UnknownFollowerError(msg)
    return [by_name[name] for name in dict.fromkeys(wanted)]


class FollowerWorker(threading.Thread):
    """Processes one follower whenever this process holds its advisory lock."""

    def __init__(
        self,
        processor: BaseProcessor,
        database: Mapping[str, Any],
        stopping: threading.Event,
        options: WorkerOptions = DEFAULTS,
    ) -> None:
        super().__init__(name=f"esbank-{processor.name.lower()}", daemon=True)
        self.processor = processor
        self.database = database
        self.stopping = stopping
        self.options = options
        self.holding = threading.Event()
        self.channel: str = processor.leader.recorder.channel_name  # type: ignore[attr-defined]
        self.progress = CatchUpProgress(
            processor.name,
            interval=options.progress_interval,
            threshold=options.progress_threshold,
        )

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                with self._connect() as conn:
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

    def _connect(self) -> psycopg.Connection[Any]:
        options = self.options
        conn = connect(
            self.database,
            connect_timeout=options.connect_timeout,
            network_timeout=options.network_timeout,
        )
        if options.network_timeout:
            # The longest this session idles while the worker is well: one
            # wait for news, or for the lock. Past that, and the network
            # timeout, the server ends it even if TCP cannot tell.
            idle = max(
                options.poll_interval + options.gather_seconds,
                options.standby_interval,
            )
            try:
                end_session_when_idle(conn, options.network_timeout + idle)
            except BaseException:
                conn.close()
                raise
        return conn

    def _stand_by(self, conn: psycopg.Connection[Any]) -> bool:
        """Wait until this process holds the follower; False if told to stop."""
        waiting = False
        while not self.stopping.is_set():
            if try_lock(conn, self.processor.name):
                return True
            if not waiting:
                logger.info(
                    "%s: held by another processor; standing by", self.processor.name
                )
                waiting = True
            self.stopping.wait(self.options.standby_interval)
        return False

    def _lead(self, conn: psycopg.Connection[Any]) -> None:
        """Process the follower until told to stop or the connection drops."""
        # Listen first, then catch up: a commit in between still wakes us.
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        # Each write checks that this session still holds the follower.
        fence(conn, self.processor)
        self._take_over("processing")
        # What was recorded before LISTEN sent no notification here: chase it.
        self._catch_up(conn, chase=True)
        while not self.stopping.is_set():
            self._wait_for_news(conn)
            self._catch_up(conn)

    def _take_over(self, doing: str) -> None:
        """Say so, with where the follower stands, now that this process holds it."""
        self.holding.set()
        status = self.processor.status()
        logger.info(
            "%s: %s %s from position %d (lag %d)",
            self.processor.name,
            doing,
            status.leader,
            status.position,
            status.lag,
        )
        self.progress.observe(status.position, status.leader_position)

    def _wait_for_news(self, conn: psycopg.Connection[Any]) -> None:
        """Return on the leader's next notification, or after the poll interval."""
        woken = False
        for _ in conn.notifies(timeout=self.options.poll_interval, stop_after=1):
            woken = True
        if woken and self.options.gather_seconds:
            self.stopping.wait(self.options.gather_seconds)  # let more commits land
        # Drain the notifications already received: one pull covers them all.
        for _ in conn.notifies(timeout=0):
            pass

    def _catch_up(self, conn: psycopg.Connection[Any], *, chase: bool = False) -> None:
        """Process batches until the follower is at the leader's head.

        Or, unless ``chase``, until a pull comes back short (see below).
        """
        while not self.stopping.is_set():
            # Raises if the connection, and with it the lock, is gone.
            conn.execute("SELECT 1")
            before = self.processor.position()
            if not self.processor.process(limit=self.options.batch_size):
                return  # failing, and backing off: a later wake-up retries
            status = self.processor.status()
            self.progress.observe(status.position, status.leader_position)
            if status.lag == 0 or status.position == before:
                return
            # A short pull reached the head as it was: what is behind now
            # arrived while it ran. Under load that is always a few events,
            # and chasing them pays a pull's fixed cost (round trips, a
            # commit) for each few; going back to gathering makes the next
            # pull a long one. Their notifications are queued on this
            # connection, so the wait ends at once.
            if (
                not chase
                and self.options.gather_seconds
                and (status.position - before < self.options.batch_size)
            ):
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
        options: WorkerOptions = DEFAULTS,
        *,
        application_class: type[Application[Any]],
        env: Mapping[str, str],
    ) -> None:
        super().__init__(processor, database, stopping, options)
        self.projection = processor.projection
        self.application_class = application_class
        # The runner's own leader and view (connection_budget.py): its
        # subscription holds a connection to LISTEN while it reads on another;
        # its view writes from one thread.
        self.env = dict(env) | {
            connection_budget.pool_size_variable(name): str(size)
            for name, size in connection_budget.LIBRARY_RUNNER_POOLS.items()
        }

    def _lead(self, conn: psycopg.Connection[Any]) -> None:
        self._take_over("projecting")
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
                    # Raises the projection's errors.
                    runner.run_forever(timeout=self.options.poll_interval)
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


def run_processors(
    database: Mapping[str, Any],
    build_bank: Callable[[], FollowedBank],
    options: WorkerOptions = DEFAULTS,
    *,
    stopping: threading.Event,
) -> None:
    """Run the followers ``options`` names (all by default) until ``stopping``.

    ``build_bank`` builds the bank once the tables are there: the followers
    it has are the ones to run. With ``options.library_runner``, projections
    run under the library's ``ProjectionRunner`` rather than in pulls.
    """
    check_postgres(database)
    if not wait_for_tables(
        database,
        stopping,
        connect_timeout=options.connect_timeout,
        network_timeout=options.network_timeout,
    ):
        return
    bank = build_bank()
    try:
        # A wrong CIPHER_KEY stops the worker here, with one clear error.
        bank.check_events_are_readable()
        workers = [
            ProjectionWorker(
                processor,
                database,
                stopping,
                options,
                application_class=bank.system.get_app_cls(processor.leader.name),
                env=bank.env,
            )
            if options.library_runner and isinstance(processor, ProjectionProcessor)
            else FollowerWorker(processor, database, stopping, options)
            for processor in select_processors(bank, options.names)
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
