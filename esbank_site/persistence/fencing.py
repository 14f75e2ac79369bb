"""Follower writes that stop when their worker no longer holds the follower.

``run_processors`` holds each follower with a session-level advisory lock,
on a connection of its own (``esbank_site/runtime/advisory_locks.py``), and
writes through the event store's pools, on other connections. A worker cut
off from the database can still be inside a batch when the server ends its
lock session and a standby takes over: the library retries a failed query
on a new connection for seconds, long enough for a link to come back, and
the batch reaches the database after the lock has gone. The tracking
records refuse it if the standby has processed those events already; if
not, the worker that lost the follower records them, and the standby's own
attempt is refused instead. Exactly once still, but by a worker that no
longer holds the follower.

A fenced recorder closes that gap. A worker that takes a follower sets
``fence`` on the follower's recorder, naming its lock session; every write
transaction then checks in ``pg_locks``, right after writing its tracking
record, that the session still holds the lock, and fails if it does not.
The tracking record holds the follower's tracking row until the transaction
ends, so a standby that has taken over waits for it: the old holder's
commits all come before the new holder's, and none is checked after the
server has ended the old holder's session.

Departs from the library (9.5.6), which has no notion of who may write.
What would remove the need: recorders that take a predicate to check
inside each write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Granted advisory locks with two int4 keys have objsubid 2.
FENCE_CHECK = """
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND classid::bigint = %s AND objid::bigint = %s AND pid = %s
"""


@dataclass(frozen=True)
class Fence:
    """The advisory lock (two keys) a worker's lock session must still hold."""

    namespace: int
    key: int
    pid: int  # the lock session's backend pid


class LostFollowerError(Exception):
    """A write by a worker whose lock session no longer holds the follower."""


class FencedTracking:
    """Mixin for the library's PostgreSQL tracking recorders: writes check ``fence``.

    Without a fence (the web processes, tests, the library's runner) it
    writes as the library does.
    """

    fence: Fence | None = None

    def _insert_tracking(self, curs: Any, tracking: Any) -> None:
        super()._insert_tracking(curs, tracking)  # type: ignore[misc]
        fence = self.fence
        if fence is None:
            return
        curs.execute(FENCE_CHECK, (fence.namespace, fence.key, fence.pid))
        if curs.fetchone() is None:
            msg = (
                f"Not recording {tracking.application_name} "
                f"{tracking.notification_id}: this worker's lock session "
                f"(backend {fence.pid}) no longer holds the follower."
            )
            raise LostFollowerError(msg)
