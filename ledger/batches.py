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

Every event a policy records is stamped with where it came from: actor
``system:<follower name>``, the correlation id of the leader's event it
answers, and that event as its causation (``accounts/provenance.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.application import LocalNotificationLog, ProcessingEvent
from eventsourcing.system import ProcessApplication

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eventsourcing.application import NotificationLog
    from eventsourcing.domain import DomainEventProtocol
    from eventsourcing.persistence import Tracking
    from eventsourcing.system import ProcessingJob


class BatchProcessApplication(ProcessApplication):
    """A process application that records a pull of notifications at once."""

    # Notifications per pull, and so per transaction. More is faster to
    # catch up, and holds the leader's table lock no longer (a follower
    # writes to its own tables); 100 gave the ledger about 27 times the
    # events/s of a transaction per event (docs/BENCHMARKS.md, "Levers").
    pull_section_size = 100

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
        """
        if start is None:
            start = self.recorder.max_tracking_id(leader_name)
        pulled = 0
        for notifications in self.pull_notifications(
            leader_name, start=start, stop=stop, inclusive_of_start=False
        ):
            received = self.filter_received_notifications(notifications)
            self.process_batch(self.convert_notifications(leader_name, received))
            pulled += len(notifications)
            if limit is not None and pulled >= limit:
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

    def process_batch(self, jobs: Sequence[ProcessingJob[Any]]) -> None:
        """Run the policy on each event, then record them all in one go."""
        if not jobs:
            return
        with self.processing_lock:
            batch: ProcessingEvent[Any] = ProcessingEvent()
            for domain_event, tracking in jobs:
                batch.tracking = tracking  # recorded: the last one's
                already = len(batch.events)
                self.policy(domain_event, batch)
                self._stamp(batch.events[already:], domain_event, tracking)
            recordings = self._record(batch)
            self._take_snapshots(batch)
            self.notify(batch.events)
            self._notify(recordings)

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
