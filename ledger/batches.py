"""Followers that record each pull of their leader's log in one transaction.

The library's ``ProcessApplication`` processes one notification at a time:
the policy's new events and the notification's tracking record are stored
in a transaction of their own. That is exactly-once, and it commits once per
event the leader recorded, so a follower can never go faster than the
database commits: it fell behind a busy bank, and catching up on 100,000
events took minutes.

``BatchProcessApplication`` keeps the exactly-once and commits once per
pull (up to ``pull_section_size`` notifications): the policy runs on each
event of the pull in turn, collecting into one ``ProcessingEvent``, and the
events of the whole pull are recorded with the tracking record of its last
notification. They commit together or not at all, so a crash in the middle
loses the whole pull and the follower processes it again, never half of it.

Departs from the library (9.5.6). The standard way is the library's own
``ProcessApplication.pull_and_process``, one transaction per notification.
Recording a pull at once has no public hook: ``process_batch`` below calls
what the library's ``process_event`` calls, its private ``_record``,
``_take_snapshots`` and ``_notify``, and so depends on them staying as they
are. What would remove the need: a public way to process a sequence of
notifications in one transaction (say, a pull size on ``pull_and_process``).

Policies written for it find what earlier events of the same pull changed in
the processing event itself, not in the database (it is not committed yet):
an aggregate in ``processing_event.aggregates``, a logged event in
``processing_event.events``. ``processing_event.tracking`` is the position
of the event at hand while the policy runs.

Three costs of the library's way are spared (docs/BENCHMARKS.md, "Levers").
A pull that reaches the head ends the call (``pull_and_process``).
A notification whose topic is one of ``ignored_events`` (receipts, index
entries, a reversal's own progress: most of what a deposit records) is
never decoded, since its policy would do nothing with it; the pull's
tracking record is still its last notification's, so the position reaches
the log's head. And a snapshot due at a version the pull reaches is taken
from the aggregate the pull holds at that version, not rebuilt from the
database after the pull is recorded.

Every event a policy records is stamped with where it came from: actor
``system:<follower name>``, the correlation id of the leader's event it
answers, and that event as its causation (``accounts/provenance.py``).
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.application import LocalNotificationLog, ProcessingEvent
from eventsourcing.persistence import Tracking
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eventsourcing.application import NotificationLog
    from eventsourcing.domain import DomainEventProtocol
    from eventsourcing.persistence import Notification, StoredEvent
    from eventsourcing.system import ProcessingJob


# Stands for the event of a notification left undecoded, in a job that only
# carries the pull's last tracking record (``pull_and_process``).
NOT_DECODED: Any = object()


class BatchProcessApplication(ProcessApplication):
    """A process application that records a pull of notifications at once."""

    # Notifications per pull, and so per transaction. More is faster to
    # catch up, and holds the leader's table lock no longer (a follower
    # writes to its own tables); 100 gave the ledger about 27 times the
    # events/s of a transaction per event (docs/BENCHMARKS.md, "Levers").
    pull_section_size = 100
    # The leader's events the policy does nothing with (a union of event
    # classes, as the policy registers them): their notifications are not
    # decoded. Decoding is most of what a follower spends on an event it
    # ignores, and under deposits half the log is receipts.
    ignored_events: ClassVar[Any] = ()
    # Off: decode and hand every notification to the policy, the library's
    # way (bench/followers.py compares both).
    skip_ignored: ClassVar[bool] = True
    # Off: every snapshot rebuilt from the database, the library's way.
    snapshot_from_pull: ClassVar[bool] = True
    # Off: pull again after a short pull, until one comes back empty.
    stop_at_short_pull: ClassVar[bool] = True

    def __init__(self, env: Any = None) -> None:
        super().__init__(env)
        self.ignored_topics = frozenset(
            get_topic(cls) for cls in _classes(self.ignored_events)
        )
        # Pulls that brought notifications, and how many: the mean pull size
        # under load (bench/followers.py).
        self.pulls = 0
        self.pulled = 0

    def follow(self, name: str, log: NotificationLog) -> None:
        """Follow ``log``, read in sections as long as this follower's pulls.

        The leader's own log serves sections of 10 (over HTTP too), and the
        library's reader refuses to pull more than a section at once; a log
        on the same recorder with longer sections lets one pull hold
        ``pull_section_size`` notifications.
        """
        if isinstance(log, LocalNotificationLog):
            log = LocalNotificationLog(
                log.recorder, section_size=self.pull_section_size
            )
        super().follow(name, log)

    def pull_and_process(
        self,
        leader_name: str,
        start: int | None = None,
        stop: int | None = None,
        *,
        limit: int | None = None,
    ) -> None:
        """The library's ``pull_and_process``, one transaction per pull.

        With ``limit``, it stops after the pull that reaches that many
        notifications, so a long catch-up can be interrupted between pulls
        (a range of notification ids would not do: a follower with topics
        skips some).

        It stops after a short pull, one that reached the head as it was,
        where the library's reads again until a pull comes back empty.
        Under load, what arrived meanwhile is always a few events, and a
        pull and a transaction for each few cost more than the events
        (docs/BENCHMARKS.md, "Levers"); a caller that must reach the head
        calls again, as ``run_processors`` does after gathering commits.
        """
        if start is None:
            start = self.recorder.max_tracking_id(leader_name)
        pulled = 0
        for notifications in self.pull_notifications(
            leader_name, start=start, stop=stop, inclusive_of_start=False
        ):
            if not notifications:
                continue
            received = self._worth_decoding(
                self.filter_received_notifications(notifications)
            )
            jobs = self.convert_notifications(leader_name, received)
            last = notifications[-1].id
            if not jobs or jobs[-1][1].notification_id != last:
                # Not decoded, but the pull's tracking record is its.
                jobs.append((NOT_DECODED, Tracking(leader_name, last)))
            self.process_batch(jobs)
            self.pulls += 1
            self.pulled += len(notifications)
            pulled += len(notifications)
            if limit is not None and pulled >= limit:
                return
            if self.stop_at_short_pull and len(notifications) < self.pull_section_size:
                return

    def process_event(
        self, domain_event: DomainEventProtocol[Any], tracking: Tracking
    ) -> None:
        """One notification, one transaction, as the library's does.

        The library's runs the policy, records, snapshots and notifies for
        one notification: ``process_batch`` of one job does the same, and
        stamps the policy's events as every pull does.
        """
        self.process_batch([(domain_event, tracking)])

    def _worth_decoding(
        self, notifications: Sequence[Notification]
    ) -> Sequence[Notification]:
        """The notifications whose events the policy does something with."""
        if not (self.skip_ignored and self.ignored_topics):
            return notifications
        ignored = self.ignored_topics
        return [n for n in notifications if n.topic not in ignored]

    def process_batch(self, jobs: Sequence[ProcessingJob[Any]]) -> None:
        """Run the policy on each event, then record them all in one go.

        A job whose event is ``NOT_DECODED`` (the pull's last notification,
        one the policy ignores) only gives the tracking record.
        """
        if not jobs:
            return
        with self.processing_lock:
            batch: ProcessingEvent[Any] = ProcessingEvent()
            taken: list[StoredEvent] = []
            for domain_event, tracking in jobs:
                batch.tracking = tracking  # recorded: the last one's
                if domain_event is NOT_DECODED:
                    continue
                already = len(batch.events)
                self.policy(domain_event, batch)
                new_events = batch.events[already:]
                self._stamp(new_events, domain_event, tracking)
                if self.snapshot_from_pull:
                    taken += self._snapshots_due(new_events, batch)
            recordings = self._record(batch)
            if self.snapshot_from_pull:
                if taken:
                    self.snapshots.recorder.insert_events(taken)  # type: ignore[union-attr]
                self._take_snapshots(_not_taken(batch, taken))
            else:
                self._take_snapshots(batch)
            self.notify(batch.events)
            self._notify(recordings)

    def _snapshots_due(
        self, new_events: Sequence[Any], batch: ProcessingEvent[Any]
    ) -> list[StoredEvent]:
        """Snapshots due at the versions one policy call just reached.

        Taken from the aggregate the pull holds, when it stands at that
        version (its policy recorded no later event), and encoded at once:
        later events of the pull change the aggregate, not the snapshot.
        Any other due snapshot is left to the library's ``_take_snapshots``,
        which rebuilds it from the database once the pull is recorded.
        """
        if not (self.snapshots and self.snapshotting_intervals):
            return []
        taken = []
        for event in new_events:
            aggregate = batch.aggregates.get(event.originator_id)
            if aggregate is None or aggregate.version != event.originator_version:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            if type(aggregate) in self.snapshotting_projectors:
                continue  # a projector of its own: the library's way
            snapshot_class = getattr(
                type(aggregate), "Snapshot", type(self).snapshot_class
            )
            if snapshot_class is None:
                continue  # the library's way, which says what is missing
            snapshot = snapshot_class.take(aggregate)
            taken.append(self.snapshots.mapper.to_stored_event(snapshot))
        return taken

    def _stamp(
        self,
        new_events: Sequence[Any],
        cause: DomainEventProtocol[Any],
        tracking: Tracking,
    ) -> None:
        """Mark the events a policy recorded as answering ``cause``.

        Events are frozen dataclasses: the attributes are set as the
        library's mapper reads them back, through ``object.__setattr__``.
        """
        causation = (
            f"{tracking.application_name}#{tracking.notification_id} "
            f"{cause.originator_id} v{cause.originator_version}"
        )
        correlation_id = getattr(cause, "correlation_id", "")
        for new_event in new_events:
            object.__setattr__(new_event, "actor", f"system:{self.name}")
            object.__setattr__(new_event, "correlation_id", correlation_id)
            object.__setattr__(new_event, "causation", causation)


def _classes(events: Any) -> tuple[type, ...]:
    """The classes of a union of classes (or of one class, or of none)."""
    if isinstance(events, types.UnionType) or typing.get_origin(events) is typing.Union:
        return typing.get_args(events)
    if isinstance(events, type):
        return (events,)
    return tuple(events)


def _not_taken(
    batch: ProcessingEvent[Any], taken: Sequence[StoredEvent]
) -> ProcessingEvent[Any]:
    """``batch`` for the library's ``_take_snapshots``, less the snapshots
    already taken from the pull (same aggregate, same version)."""
    if not taken:
        return batch
    done = {(str(s.originator_id), s.originator_version) for s in taken}
    rest: ProcessingEvent[Any] = ProcessingEvent(batch.tracking)
    rest.aggregates = batch.aggregates
    rest.events = [
        e
        for e in batch.events
        if (str(e.originator_id), e.originator_version) not in done
    ]
    return rest
