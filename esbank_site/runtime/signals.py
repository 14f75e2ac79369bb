"""Stopping a long-running command cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM (a supervisor's stop) or SIGINT (Ctrl-C).

    The previous handlers are restored afterwards. Only the main thread may
    set signal handlers; elsewhere (a command called from a thread) the
    event is only set by whoever holds it.
    """
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Stopping on %s", signal.Signals(signum).name)
        stopping.set()

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
