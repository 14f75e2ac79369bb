"""Saying how long work is going: a progress bar, and a follower's catch-up.

Skip on a first read.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

# A follower more than this many events behind its leader is catching up,
# and says how it is going this often; a follower that keeps up says
# nothing, however busy the bank.
DEFAULT_PROGRESS_THRESHOLD = 1_000
DEFAULT_PROGRESS_INTERVAL = 5.0


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """E.g. ``[###############---------------]  50% 500/1000``."""
    total = max(total, done, 1)
    filled = width * done // total
    percent = 100 * done // total
    return f"[{'#' * filled}{'-' * (width - filled)}] {percent:>3}% {done}/{total}"


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
