"""Running followers safely: after commits, at start, on a timer.

Departs from the library (9.5.6). The standard way is a runner: the system
is given to ``SingleThreadedRunner`` or ``MultiThreadedRunner``, which
starts every application and drives each follower. Each falls short behind
a web server (docs/ARCHITECTURE.md, "Running the followers"): the
single-threaded one raises a follower's error inside the request whose
events already committed, and does not catch up at start on events recorded
while the process was down; the multi-threaded one stops a follower at its
first error without a word. What would remove the need: a runner that
catches up at start, logs a failing follower and retries it with backoff,
and reports each follower's position and last error.

The primitive that is always safe is the follower's own
``pull_and_process``: exactly once thanks to tracking records, as long as
one thread at a time runs it for a given follower (the bank's followers
record each pull in one transaction: ``ledger/batches.py``). ``Processor``
wraps it with that lock, with error capture and backoff, and with the
figures a health check needs. ``ProjectionProcessor`` does the same for a
projection into a read model (``accounts.projections``), which is no
follower application: it reads the leader's notifications itself and hands
each event to the projection, whose view records it with its tracking.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking

if TYPE_CHECKING:
    from collections.abc import Iterable
    from contextlib import AbstractContextManager

    from eventsourcing.application import Application
    from eventsourcing.projection import Projection

    from ledger.batches import BatchProcessApplication

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
# A directory, set by the benchmarks only (bench/followers.py): after each
# call to ``process`` every processor writes there what it has spent so far,
# as JSON, for a benchmark to read from outside the process.
METER_VARIABLE = "ESBANK_FOLLOWER_METER_DIR"


@dataclass(frozen=True)
class ProcessorStatus:
    """What a health check reports about one follower."""

    name: str
    leader: str
    leader_position: int
    position: int
    lag: int
    failing: bool
    failures: int
    last_error: str | None
    last_error_at: float | None


class BaseProcessor(ABC):
    """Processes one leader's new events, one thread at a time, never raising.

    Subclasses say what processing is (``_process``), how far it got
    (``position``) and what it is called (``name``); this class adds the
    lock, the error capture with backoff, and the status.
    """

    def __init__(self, leader: Application[Any]) -> None:
        self.leader = leader
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._retry_at = 0.0
        # CPU seconds of the threads that ran ``process``, inside it; and the
        # pulls that brought notifications, and how many they brought.
        self.cpu_seconds = 0.0
        self.pulls = 0
        self.pulled = 0
        self._meter_dir = os.environ.get(METER_VARIABLE) or None

    @property
    @abstractmethod
    def name(self) -> str:
        """The name health checks and ``run_processors`` know it by."""

    @abstractmethod
    def _process(self, limit: int | None) -> None:
        """Process new events (about ``limit`` at most); may raise."""

    @abstractmethod
    def position(self) -> int:
        """The last leader notification processed."""

    def process(
        self, *, wait: float = 5.0, force: bool = False, limit: int | None = None
    ) -> bool:
        """Process every event the follower has not seen yet.

        Returns False if another thread held the follower for longer than
        ``wait`` (it will process these events too), or if the follower is
        backing off after an error and ``force`` is not set. Never raises:
        a failing policy is logged, remembered for the health check and
        retried later, after a growing delay. ``limit`` stops after that
        many notifications, so a long catch-up can be interrupted between
        two calls (see ``esbank_site.runtime.workers``).
        """
        if not force and time.monotonic() < self._retry_at:
            return False
        if not self._lock.acquire(timeout=wait):
            return False
        started = time.thread_time()
        try:
            self._process(limit)
        except Exception as error:  # noqa: BLE001 (anything a policy may raise)
            self._record_failure(error)
            return False
        else:
            self.failures = 0
            self._retry_at = 0.0
            return True
        finally:
            self.cpu_seconds += time.thread_time() - started
            if self._meter_dir is not None:
                self._write_meter(self._meter_dir)
            self._lock.release()

    def pull_counts(self) -> tuple[int, int]:
        """Pulls that brought notifications so far, and how many they brought."""
        return self.pulls, self.pulled

    def _write_meter(self, directory: str) -> None:
        """What this processor has spent so far, for a benchmark to read.

        ``thread_cpu`` is all the CPU of the thread at hand (its waits for
        news and its status queries too), ``cpu`` only what it spent inside
        ``process``. Written whole, then renamed: a reader never sees half.
        """
        pulls, pulled = self.pull_counts()
        figures = {
            "name": self.name,
            "pid": os.getpid(),
            "thread": threading.current_thread().name,
            "thread_cpu": time.thread_time(),
            "cpu": self.cpu_seconds,
            "pulls": pulls,
            "pulled": pulled,
        }
        path = os.path.join(directory, f"{self.name}.json")
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as output:
            json.dump(figures, output)
        os.replace(temporary, path)

    def leader_position(self) -> int:
        """The last notification the leader has recorded."""
        return self.leader.recorder.max_notification_id() or 0

    def status(self) -> ProcessorStatus:
        leader_position = self.leader_position()
        position = self.position()
        return ProcessorStatus(
            name=self.name,
            leader=self.leader.name,
            leader_position=leader_position,
            position=position,
            lag=max(0, leader_position - position),
            failing=self.failures > 0,
            failures=self.failures,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )

    def _record_failure(self, error: Exception) -> None:
        self.failures += 1
        self.last_error = "".join(traceback.format_exception_only(error)).strip()
        self.last_error_at = time.time()
        backoff = min(MAX_BACKOFF_SECONDS, 0.1 * 2**self.failures)
        self._retry_at = time.monotonic() + backoff
        logger.exception(
            "%s failed to process %s events (failure %d, retrying in %.1fs)",
            self.name,
            self.leader.name,
            self.failures,
            backoff,
            exc_info=error,
        )


class Processor(BaseProcessor):
    """Pulls one leader's new events into one follower application."""

    def __init__(
        self, follower: BatchProcessApplication, leader: Application[Any]
    ) -> None:
        super().__init__(leader)
        self.follower = follower
        self.follower.follow(leader.name, leader.notification_log)

    @property
    def name(self) -> str:
        return self.follower.name

    def _process(self, limit: int | None) -> None:
        self.follower.pull_and_process(self.leader.name, limit=limit)

    def pull_counts(self) -> tuple[int, int]:
        return self.follower.pulls, self.follower.pulled

    def position(self) -> int:
        """The last leader notification this follower has processed."""
        return self.follower.recorder.max_tracking_id(self.leader.name) or 0


class ProjectionProcessor(BaseProcessor):
    """Pulls one leader's new events into a projection's materialised view.

    The library's ``ProjectionRunner`` needs a subscription, which SQLite
    lacks, and runs in a thread of its own; this does the same work in the
    caller's thread, so a page rendered after a command already shows it.
    It starts from the view's own tracking position and hands each event to
    the projection, inside the view's ``batch()``: the changes of a whole
    pull and its tracking record in one transaction, exactly once.
    """

    def __init__(
        self,
        projection: Projection[Any],
        leader: Application[Any],
        *,
        batch_size: int = 500,
    ) -> None:
        super().__init__(leader)
        self.projection = projection
        self.batch_size = batch_size
        # Off: every notification decoded and handed to the projection.
        self.skip_position_only = True
        # Off: the view reads each row when it first needs it.
        self.read_rows_together = True

    @property
    def name(self) -> str:
        return self.projection.name

    def _process(self, limit: int | None) -> None:
        processed = 0
        start = self.position()
        while True:
            size = self.batch_size
            if limit is not None:
                size = min(size, limit - processed)
            if size <= 0:
                return
            notifications = self.leader.recorder.select_notifications(
                start, size, inclusive_of_start=False
            )
            skipped = self._position_only_topics()
            with self._one_transaction():
                self._expect(
                    n.originator_id for n in notifications if n.topic not in skipped
                )
                for notification in notifications:
                    tracking = Tracking(self.leader.name, notification.id)
                    if notification.topic in skipped:
                        self.projection.position_only(tracking)  # type: ignore[attr-defined]
                        continue
                    domain_event = self.leader.mapper.to_domain_event(notification)
                    self.projection.process_event(domain_event, tracking)
            if notifications:
                self.pulls += 1
                self.pulled += len(notifications)
            if len(notifications) < size:
                return
            processed += len(notifications)
            start = notifications[-1].id

    def _position_only_topics(self) -> frozenset[str]:
        """Topics whose events the projection need not see decoded.

        A projection may name them (``position_only_topics``) with a
        ``position_only(tracking)`` to call instead: decoding is most of
        what an event the projection ignores would cost.
        """
        if not self.skip_position_only:
            return frozenset()
        return frozenset(getattr(self.projection, "position_only_topics", ()))

    def _expect(self, ids: Iterable[Any]) -> None:
        """Tell the view which rows the pull will change, if it wants to know.

        The accounts list then reads them in one query, not one each
        (``AccountsListTables.expect``).
        """
        expect = getattr(self.projection.view, "expect", None)
        if expect is not None and self.read_rows_together:
            expect(i if isinstance(i, UUID) else UUID(str(i)) for i in ids)

    def _one_transaction(self) -> AbstractContextManager[Any]:
        """The view's ``batch()``, if it has one: a pull, one transaction.

        Safe here, where this processor's lock keeps other threads of this
        process out of the view, and the batch's first tracking record keeps
        other processes out of the same events.
        """
        batch = getattr(self.projection.view, "batch", None)
        return batch() if batch is not None else contextlib.nullcontext()

    def position(self) -> int:
        """The last leader notification the view reflects."""
        return self.projection.view.max_tracking_id(self.leader.name) or 0


class PollingThread(threading.Thread):
    """Runs every processor on a timer: catch-up, retries, other writers."""

    def __init__(self, processors: list[BaseProcessor], interval: float) -> None:
        super().__init__(name="esbank-processors", daemon=True)
        self.processors = processors
        self.interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            for processor in self.processors:
                processor.process()

    def stop(self) -> None:
        self._stopping.set()
        self.join()
