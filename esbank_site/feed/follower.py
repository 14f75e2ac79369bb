"""Follow a notification log from afar: read it in order, print it, mirror it.

``follow_log`` drives the library's ``NotificationLogReader`` over any
``NotificationLog`` (the remote one, in ``follow_notifications``) and hands
each notification on exactly once, in order; with ``follow`` it keeps
polling for new sections until told to stop. ``Mirror`` keeps a JSON-lines
copy of the notifications whose last line is its position, so a run that
stops, for any reason, resumes where the file ends.
"""

from __future__ import annotations

import json
import os
import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.system import NotificationLogReader
from eventsourcing.utils import TopicError

from accounts.application import Accounts
from esbank_site.feed.client import TRANSIENT_ERRORS, FeedError, FeedResponseError
from esbank_site.persistence.environment import SQLITE_ENGINE, eventsourcing_env
from esbank_site.persistence.row_binding import TamperedEventError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from eventsourcing.application import NotificationLog
    from eventsourcing.persistence import Mapper, Notification

# Longest explanation printed in place of a state that cannot be decoded.
MAX_REASON_LENGTH = 120


class MirrorError(Exception):
    """Raised when a mirror file does not end with a mirrored notification."""


@dataclass(frozen=True)
class Progress:
    """How far a run of ``follow_log`` got."""

    count: int
    last_id: int | None
    stopped: bool


def follow_log(
    log: NotificationLog,
    *,
    start: int,
    on_notification: Callable[[Notification], None],
    stopping: threading.Event,
    follow: bool = False,
    poll_interval: float = 2.0,
    on_retry: Callable[[FeedError], None] | None = None,
) -> Progress:
    """Hand on every notification from ``start``, in order and once each.

    Without ``follow``, stop at the end of the log. With it, poll for new
    notifications every ``poll_interval`` seconds until ``stopping`` is set;
    once the feed has answered, transient errors (server down, 5xx) are
    reported to ``on_retry`` and retried, since a follower should outlive a
    restart of the bank. A first answer that fails, and every other error,
    is raised.
    """
    reader = NotificationLogReader(log)
    next_id = start
    count = 0
    answered = False
    while not stopping.is_set():
        try:
            for notification in reader.read(start=next_id):
                if notification.id < next_id:
                    msg = (
                        f"The feed sent notification {notification.id} after "
                        f"{next_id - 1}: the log is out of order."
                    )
                    raise FeedResponseError(msg)
                on_notification(notification)
                next_id = notification.id + 1
                count += 1
                if stopping.is_set():
                    break
            answered = True
        except TRANSIENT_ERRORS as error:
            if not (follow and (answered or count)) or on_retry is None:
                raise
            on_retry(error)
        if not follow:
            break
        stopping.wait(poll_interval)
    last_id = next_id - 1 if next_id > start else None
    return Progress(count=count, last_id=last_id, stopped=stopping.is_set())


def accounts_mapper(*, cipher_key: str = "", compress: bool = False) -> Mapper[UUID]:
    """The mapper the Accounts application decodes its stored events with.

    Built by the application itself, in memory, from the bank's own
    environment, so the mapper class, transcodings, cipher and compressor
    stay the bank's; ``cipher_key`` and ``compress`` must match the bank's,
    as for any process that reads its events.
    """
    # The database only decides where events are stored; nothing is stored
    # here, so the in-memory module replaces it.
    env = eventsourcing_env(
        {"ENGINE": SQLITE_ENGINE, "NAME": ":memory:"},
        cipher_key=cipher_key,
        compress=compress,
    )
    accounts = Accounts(env=env | {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        return accounts.mapper
    finally:
        accounts.close()


def describe(notification: Notification, mapper: Mapper[UUID]) -> str:
    """One line: position, topic, originator and version, then the state."""
    return (
        f"{notification.id:>6}  {notification.topic}  "
        f"{notification.originator_id} v{notification.originator_version}  "
        f"{decoded_state(notification, mapper)}"
    )


def decoded_state(notification: Notification, mapper: Mapper[UUID]) -> str:
    """The event's state as JSON, or why this process cannot decode it."""
    try:
        domain_event = mapper.to_domain_event(notification)
    except TopicError:
        return "(not decoded: this code does not know the topic)"
    except TamperedEventError:
        return "(not decoded: the state belongs to another event: tampered with)"
    except MapperDeserialisationError:
        return "(not decoded: check CIPHER_KEY and ESBANK_COMPRESS_EVENTS)"
    except Exception as error:  # noqa: BLE001
        # An upcaster or an event class can fail on bytes from another
        # version of the code; the line is still worth printing.
        reason = f"{type(error).__name__}: {error}"[:MAX_REASON_LENGTH]
        return f"(not decoded: {reason})"
    state = {
        name: value
        for name, value in vars(domain_event).items()
        if name not in {"originator_id", "originator_version"}
    }
    return json.dumps(state, default=_json_default, sort_keys=True)


def _json_default(value: object) -> str:
    """Dates as ISO 8601; ids, amounts and the rest as their strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def notification_to_json(notification: Notification) -> dict[str, Any]:
    """A notification as the library's JSON service serialises it."""
    originator_id = notification.originator_id
    return {
        "id": notification.id,
        "originator_id": originator_id.hex
        if isinstance(originator_id, UUID)
        else originator_id,
        "originator_version": notification.originator_version,
        "topic": notification.topic,
        "state": b64encode(notification.state).decode("ascii"),
    }


class Mirror:
    """A JSON-lines copy of a notification log, one notification a line.

    The file is its own position: the id on its last line. Each line is
    flushed as it is written, so a run stopped at any point leaves whole
    lines, except perhaps a torn last one, which ``open`` cuts off (that
    notification is then read again). The file is synced to disk on close.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last_id: int | None = None
        self.discarded_bytes = 0
        self._file: Any = None

    @classmethod
    def open(cls, path: Path) -> Mirror:
        """Open ``path`` for appending, creating it, after finding its last id."""
        mirror = cls(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab+") as file:
            mirror.last_id, mirror.discarded_bytes = _last_id(file, path)
        mirror._file = path.open("a", encoding="utf-8")
        return mirror

    def append(self, notification: Notification) -> None:
        """Write one notification after the last, refusing to go backwards."""
        if self.last_id is not None and notification.id <= self.last_id:
            msg = (
                f"{self.path} already ends at notification {self.last_id}; "
                f"{notification.id} would repeat or reorder it."
            )
            raise MirrorError(msg)
        self._file.write(json.dumps(notification_to_json(notification)) + "\n")
        self._file.flush()
        self.last_id = notification.id

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _last_id(file: Any, path: Path) -> tuple[int | None, int]:
    """The id on the last whole line, and how many bytes of a torn one were cut."""
    size = file.seek(0, os.SEEK_END)
    end = _after_last_newline(file, size)
    discarded = size - end
    if discarded:
        file.truncate(end)
    if end == 0:
        return None, discarded
    start = _after_last_newline(file, end - 1)
    file.seek(start)
    line = file.read(end - start)
    try:
        last_id = json.loads(line)["id"]
    except (ValueError, KeyError, TypeError) as error:
        msg = f"{path} does not end with a mirrored notification: is it a mirror?"
        raise MirrorError(msg) from error
    if not isinstance(last_id, int):
        msg = f"{path} does not end with a mirrored notification: is it a mirror?"
        raise MirrorError(msg)
    return last_id, discarded


def _after_last_newline(file: Any, limit: int, chunk_size: int = 8192) -> int:
    """The offset just after the last newline before ``limit``, or 0."""
    position = limit
    while position > 0:
        size = min(chunk_size, position)
        position -= size
        file.seek(position)
        index = file.read(size).rfind(b"\n")
        if index >= 0:
            return position + index + 1
    return 0
