"""Every event the bank records, newest first: its applications' logs merged.

Each application keeps a notification log of its own: Accounts (accounts,
number reservations, receipts, the lists of accounts, reversals), the
Ledger and the transaction log (Transactions). A log is read with its recorder's
``select_notifications``, which reads forwards from a notification id, and
decoded with its application's ``mapper``, so events encrypted or
compressed at rest read as they were recorded.

The three logs number their notifications separately, so their ids cannot
be compared; what the events share is the time each was created, just
before it was recorded. A page is a merge of the logs by that time: it
takes, again and again, the newest of the events at the head of each log,
so each log is read as a run in its own order, which no clock can upset. A
page's place is therefore a position in each log, and a cursor holds them
(``accounts:120,ledger:40,transactions:38``): ``before`` it for an older
page, ``after`` it for a newer one. Nothing is lost or repeated between
pages, and events recorded meanwhile do not move older pages.

Cost does not grow with the history: a page reads at most ``size`` events
of each log, from its position, and looks through at most ``SCAN_IDS``
notification ids of each (a filter on a rare type may need several pages
to find its events; a run cut short ends the page early, since what comes
next in that log is not known yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic

import accounts.domain
import accounts.reversal
from accounts.money import CENT
from ledger.domain import Ledger, TransactionLogged

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from eventsourcing.application import Application
    from eventsourcing.persistence import Notification

    from esbank_site.bank import Bank

# Notification ids a page looks through in each log, at most.
SCAN_IDS = 5000
# Notification ids are 64-bit integers: a larger position is no position.
MAX_POSITION = 2**63 - 1

# Every aggregate class gets its own copy of the library's base event
# classes (``Account.Event``, ``Account.Created``): templates, never stored.
_LIBRARY_BASES = frozenset(
    name for name, value in vars(Aggregate).items() if isinstance(value, type)
)
_POSITION = re.compile(r"(?P<key>[a-z]+):(?P<position>[0-9]{1,19})")
# Before any event: where an unreadable event with no readable neighbour sorts.
_DAWN = datetime.min.replace(tzinfo=UTC)


def aggregate_events(aggregate_class: type[Any]) -> set[type[DomainEvent]]:
    """The event classes an aggregate records: not the library's base classes."""
    return {
        value
        for name, value in vars(aggregate_class).items()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and name not in _LIBRARY_BASES
    }


def events_defined_in(module: ModuleType) -> set[type[DomainEvent]]:
    """Every event class of a domain module: its aggregates' and its own."""
    found: set[type[DomainEvent]] = set()
    for value in vars(module).values():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        if issubclass(value, Aggregate):
            found |= aggregate_events(value)
        elif issubclass(value, DomainEvent):
            found.add(value)
    return found


@dataclass(frozen=True)
class Log:
    """One application's notification log, and the event classes it holds."""

    application: Application[Any]
    event_classes: frozenset[type[DomainEvent]]

    @property
    def key(self) -> str:
        """Short and stable, for URLs: the application's name in lower case."""
        return self.application.name.lower()

    @property
    def name(self) -> str:
        return self.application.name

    def type_names(self) -> list[str]:
        """The class names of its events, sorted."""
        return sorted({cls.__name__ for cls in self.event_classes})

    def type_labels(self) -> list[tuple[str, str]]:
        """Each class name, and the classes it names (``Receipt.Issued``)."""
        named: dict[str, list[str]] = {}
        for cls in self.event_classes:
            named.setdefault(cls.__name__, []).append(cls.__qualname__)
        return [(name, ", ".join(sorted(named[name]))) for name in sorted(named)]

    def topics_of(self, type_name: str) -> list[str]:
        """The topics of its event classes named ``type_name`` (none: not here)."""
        return sorted(
            get_topic(cls) for cls in self.event_classes if cls.__name__ == type_name
        )

    def head(self) -> int:
        """The id of its newest notification (0: none yet)."""
        return self.application.recorder.max_notification_id() or 0


def bank_logs(bank: Bank) -> list[Log]:
    """The logs of every application of the bank, Accounts first."""
    return [
        Log(
            bank.accounts,
            frozenset(
                events_defined_in(accounts.domain)
                | events_defined_in(accounts.reversal)
            ),
        ),
        Log(bank.ledger(), frozenset(aggregate_events(Ledger))),
        Log(bank.transaction_log(), frozenset({TransactionLogged})),
    ]


@dataclass(frozen=True)
class StreamEvent:
    """One recorded event, as the stream shows it.

    ``account_id`` is the account it belongs to: an Account event's
    originator, or the account an event names (``account_id``). ``amount``
    is the event's own: positive for a movement, signed for a ``Reversed``
    (its change to its account's balance: negative when money is taken back).
    ``recorded_at`` is None for an event that cannot be decoded (a damaged
    row, say): it is still listed, by its topic, without its data.
    """

    log: str
    application: str
    notification_id: int
    type: str
    recorded_at: datetime | None
    account_id: UUID | None = None
    amount: Decimal | None = None
    # Where an unreadable event is merged (see _fill_times).
    merged_at: datetime | None = None

    @property
    def readable(self) -> bool:
        return self.recorded_at is not None


def stream_event(log: Log, notification: Notification) -> StreamEvent:
    """A notification decoded with its application's mapper."""
    try:
        event = log.application.mapper.to_domain_event(notification)
    except Exception:  # noqa: BLE001 (a damaged row is listed, not a crash)
        type_name = notification.topic.rpartition(":")[2].rpartition(".")[2]
        return StreamEvent(log.key, log.name, notification.id, type_name, None)
    amount = getattr(event, "amount", None)
    return StreamEvent(
        log=log.key,
        application=log.name,
        notification_id=notification.id,
        type=type(event).__name__,
        recorded_at=event.timestamp,  # type: ignore[attr-defined]
        account_id=account_of(event),
        amount=amount.quantize(CENT) if isinstance(amount, Decimal) else None,
    )


def account_of(event: Any) -> UUID | None:
    """The account an event belongs to, if any."""
    if isinstance(event, accounts.domain.Account.Event):
        return event.originator_id
    account_id = getattr(event, "account_id", None)
    return account_id if isinstance(account_id, UUID) else None


class CursorError(ValueError):
    """A page position that is not one: says what one looks like."""


@dataclass(frozen=True)
class Cursor:
    """A page's place: a position in each log, before or after which it reads.

    ``newer`` false: the page holds each log's events before its position
    (ids below it); true: after it (ids above it).
    """

    positions: tuple[tuple[str, int], ...]
    newer: bool = False

    def __str__(self) -> str:
        return ",".join(f"{key}:{position}" for key, position in self.positions)

    def position(self, key: str) -> int:
        return dict(self.positions)[key]

    @classmethod
    def of(cls, positions: Mapping[str, int], *, newer: bool = False) -> Cursor:
        return cls(tuple(positions.items()), newer=newer)

    @classmethod
    def parse(cls, text: str, keys: Sequence[str], *, newer: bool = False) -> Cursor:
        """``key:position,...``, naming each of ``keys`` once, in any order."""
        example = ",".join(f"{key}:120" for key in keys)
        # Said back in the message, but never at any length.
        shown = repr(text if len(text) <= 80 else f"{text[:80]}…")
        positions: dict[str, int] = {}
        for part in text.split(","):
            match = _POSITION.fullmatch(part.strip())
            if match is None or match["key"] in positions:
                msg = f"{shown} is not a page position: it looks like {example}."
                raise CursorError(msg)
            positions[match["key"]] = int(match["position"])
        if sorted(positions) != sorted(keys):
            msg = (
                f"{shown} is not a page position of these events: it names "
                f"each of {', '.join(keys)} once, such as {example}."
            )
            raise CursorError(msg)
        lowest = 0 if newer else 1
        if not all(lowest <= p <= MAX_POSITION for p in positions.values()):
            msg = f"{shown} is not a page position: each is a notification id."
            raise CursorError(msg)
        return cls.of({key: positions[key] for key in keys}, newer=newer)


@dataclass(frozen=True)
class Run:
    """What a page read of one log, in the order the page walks it.

    ``reached`` is the log's position once every event of the run is taken
    (the last notification id looked at); ``complete``: nothing lies
    beyond it in that direction, as of the read.
    """

    log: Log
    events: list[StreamEvent]
    start: int
    reached: int
    complete: bool


@dataclass(frozen=True)
class EventPage:
    """A page of the stream, newest first, and the cursors of its neighbours.

    ``is_latest``: the newest events (no cursor given), the page that
    refreshes itself.
    """

    events: list[StreamEvent]
    older: Cursor | None
    newer: Cursor | None
    is_latest: bool


class EventStream:
    """The logs in view merged by recording time, a page at a time.

    ``type_name`` keeps only the events of that class name, read by topic,
    and leaves out the logs that hold none.
    """

    def __init__(self, logs: Iterable[Log], type_name: str = "") -> None:
        every = list(logs)
        # No topics: every event of the log.
        self.topics = {
            log.key: log.topics_of(type_name) if type_name else [] for log in every
        }
        self.logs = [log for log in every if self.topics[log.key] or not type_name]

    @property
    def keys(self) -> list[str]:
        return [log.key for log in self.logs]

    def page(self, cursor: Cursor | None = None, *, size: int) -> EventPage:
        """The page at ``cursor`` (None: the newest events), ``size`` at most."""
        heads = {log.key: log.head() for log in self.logs}
        if cursor is not None and cursor.newer:
            return self._newer_page(cursor, heads, size)
        before = cursor or Cursor.of({key: head + 1 for key, head in heads.items()})
        runs = [
            self._read_older(log, before.position(log.key), heads[log.key], size)
            for log in self.logs
        ]
        events, positions = merge(runs, size, pick=_newest)
        older = None if _exhausted(runs, positions) else Cursor.of(positions)
        newer = None
        if cursor is not None and any(
            before.position(key) <= head for key, head in heads.items()
        ):
            newer = Cursor.of({k: p - 1 for k, p in before.positions}, newer=True)
        return EventPage(events, older, newer, is_latest=cursor is None)

    def _newer_page(
        self, after: Cursor, heads: Mapping[str, int], size: int
    ) -> EventPage:
        runs = [
            self._read_newer(log, after.position(log.key), heads[log.key], size)
            for log in self.logs
        ]
        events, positions = merge(runs, size, pick=_oldest)
        newer = None
        if not _exhausted(runs, positions):
            newer = Cursor.of(positions, newer=True)
        older = None
        if any(position > 0 for _, position in after.positions):
            older = Cursor.of({k: p + 1 for k, p in after.positions})
        return EventPage(events[::-1], older, newer, is_latest=False)

    def _read_older(self, log: Log, before: int, head: int, size: int) -> Run:
        """Up to ``size`` events of ``log`` before id ``before``, newest first.

        ``select_notifications`` reads forwards only, so this reads windows
        of ids backwards, each twice as wide as the last: the first is one
        page wide, enough when nothing is filtered out.
        """
        found: list[StreamEvent] = []
        high = min(before - 1, head)
        floor = max(1, high - SCAN_IDS + 1)
        width = size
        while high >= floor and len(found) < size:
            low = max(floor, high - width + 1)
            window = log.application.recorder.select_notifications(
                low, high - low + 1, stop=high, topics=self.topics[log.key]
            )
            found += [stream_event(log, n) for n in reversed(window)]
            high, width = low - 1, width * 2
        if len(found) > size:
            del found[size:]
            reached, complete = found[-1].notification_id, False
        else:
            reached, complete = high + 1, high < 1
        return Run(log, _fill_times(found), before, reached, complete)

    def _read_newer(self, log: Log, after: int, head: int, size: int) -> Run:
        """Up to ``size`` events of ``log`` after id ``after``, oldest first."""
        ceiling = min(head, after + SCAN_IDS)
        found: list[StreamEvent] = []
        if ceiling > after:
            window = log.application.recorder.select_notifications(
                after + 1, size, stop=ceiling, topics=self.topics[log.key]
            )
            found = [stream_event(log, n) for n in window]
        if len(found) == size:
            reached, complete = found[-1].notification_id, False
        else:
            reached, complete = max(after, ceiling), ceiling >= head
        return Run(log, _fill_times(found), after, reached, complete)


def merge(
    runs: Sequence[Run],
    size: int,
    pick: Callable[[Sequence[tuple[int, StreamEvent]]], tuple[int, StreamEvent]],
) -> tuple[list[StreamEvent], dict[str, int]]:
    """Take events from the runs' heads in turn, ``pick`` choosing, ``size`` at most.

    Returns the events taken and each log's position after them. A run that
    runs out before it is complete ends the page: what comes next in its
    log is not known yet, and might come first.
    """
    taken: list[StreamEvent] = []
    heads = [0] * len(runs)
    while len(taken) < size:
        if any(
            heads[i] == len(run.events) and not run.complete
            for i, run in enumerate(runs)
        ):
            break
        candidates = [
            (i, run.events[heads[i]])
            for i, run in enumerate(runs)
            if heads[i] < len(run.events)
        ]
        if not candidates:
            break
        index, event = pick(candidates)
        taken.append(event)
        heads[index] += 1
    positions = {}
    for i, run in enumerate(runs):
        if heads[i] == len(run.events):
            positions[run.log.key] = run.reached
        else:
            positions[run.log.key] = (
                run.events[heads[i] - 1].notification_id if heads[i] else run.start
            )
    return taken, positions


def _exhausted(runs: Sequence[Run], positions: Mapping[str, int]) -> bool:
    """Whether the page took every event there is in its direction."""
    return all(run.complete and positions[run.log.key] == run.reached for run in runs)


def _when(candidate: tuple[int, StreamEvent]) -> tuple[datetime, int]:
    # Ties between logs go to the log listed first.
    index, event = candidate
    return event.recorded_at or event.merged_at or _DAWN, -index


def _newest(candidates: Sequence[tuple[int, StreamEvent]]) -> tuple[int, StreamEvent]:
    return max(candidates, key=_when)


def _oldest(candidates: Sequence[tuple[int, StreamEvent]]) -> tuple[int, StreamEvent]:
    return min(candidates, key=_when)


def _fill_times(run: list[StreamEvent]) -> list[StreamEvent]:
    """The run, each unreadable event merged at its neighbour's time.

    Its ``recorded_at`` stays None on the page; only its place is borrowed,
    from the event before it in the run, else the one after it, so one
    damaged row does not hold its log back behind every other.
    """
    known = [event.recorded_at for event in run if event.recorded_at is not None]
    if len(known) == len(run):
        return run
    filled: list[StreamEvent] = []
    borrowed = known[0] if known else _DAWN
    for event in run:
        borrowed = event.recorded_at or borrowed
        filled.append(replace(event, merged_at=borrowed))
    return filled
