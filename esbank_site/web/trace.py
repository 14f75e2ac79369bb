"""One transaction's events in every application, oldest first: its trace.

A transaction id is a random uuid4 that no index maps to anything, so the
trace is found by reading the logs, and the cost is bounded by a window:
it reads at most the newest ``TRACE_WINDOW`` notification ids of each
application's log (Accounts, the Ledger, the transaction log), backwards
from its head, only the topics of the events that carry a
``transaction_id`` (``select_notifications(..., topics=...)``), and stops
as soon as it has what one transaction can have:

- Accounts: its events (both legs of a transfer, or the deposit or
  withdrawal, and the receipt when an idempotency key was used) are saved
  in one transaction, so their notification ids are next to each other:
  once one is found, reading goes on only ``SAVE_SPAN`` ids further back.
  A reversal carried out after approval is the exception: its request
  (``Reversal.Requested`` or ``RequestedAgain``, with the reversal's
  transaction id) was saved alone, earlier. Once a ``Reversed`` is found,
  reading goes on back until the request is found too (within the window).
- The Ledger and the transaction log: one event each per transaction, so
  reading stops at the first found (a transfer's reversal, like the
  transfer, is one event each: they follow its sending leg only).

A transaction older than the window (more than ``TRACE_WINDOW``
notifications ago in Accounts) is not found: a 404, like an unknown id.
The cost does not grow with the bank's history, only with the window.

A trace also says what it knows of reversals: the transaction a reversal
reverses (its events name it), and the reversal asked for of this one
(``reversals.of_transaction``, one read of one small aggregate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from accounts.domain import Reversed
from accounts.reversal import Reversal, ReversalRequested, ReversalRequestedAgain
from esbank_site.web.event_stream import Log, account_of, bank_logs

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from accounts.reversal_desk import ReversalSummary
    from esbank_site.bank import Bank

# Notification ids of each log the trace reads back from its head, at most.
TRACE_WINDOW = 5000
# Ids read at once, back from the head: one save's worth and then some.
READ_SIZE = 100
# How far apart the events of one save can be in the Accounts log.
SAVE_SPAN = 4


@dataclass(frozen=True)
class TraceEvent:
    """One event of a transaction, with its envelope."""

    log: str
    application: str
    notification_id: int
    type: str
    recorded_at: datetime
    account_id: UUID | None
    actor: str
    correlation_id: str
    causation: str
    # The transaction a reversal's event says it reverses (None: no reversal).
    reverses: UUID | None = None
    # A Reversal aggregate's event: the reversal it belongs to.
    reversal_id: UUID | None = None


@dataclass(frozen=True)
class FollowerPosition:
    """Whether one follower has processed an Accounts event yet."""

    name: str
    processed: bool


@dataclass(frozen=True)
class TraceRow:
    """A row of the trace: the event and, for an Accounts event, the followers."""

    event: TraceEvent
    followers: tuple[FollowerPosition, ...] = ()


@dataclass(frozen=True)
class Trace:
    """The rows of one transaction, oldest first, and whether any waits.

    ``reverses``: the transaction this one reverses (None: it is no
    reversal). ``reversal``: the reversal asked for of this transaction, if
    any (its status says whether it was carried out).
    """

    transaction_id: UUID
    rows: list[TraceRow]
    reverses: UUID | None = None
    reversal: ReversalSummary | None = None

    @property
    def pending(self) -> bool:
        """Whether some follower has still to process one of its events."""
        return any(
            not follower.processed for row in self.rows for follower in row.followers
        )


def transaction_topics(log: Log) -> list[str]:
    """The topics of the log's event classes that carry a transaction id."""
    return sorted(
        get_topic(cls)
        for cls in log.event_classes
        if "transaction_id" in getattr(cls, "__annotations__", {})
        or "transaction_id" in _init_arguments(cls)
    )


def _init_arguments(cls: type[Any]) -> tuple[str, ...]:
    # Events made by ``@event`` take their fields from the method decorated.
    code = getattr(cls.__init__, "__code__", None)
    return code.co_varnames[: code.co_argcount] if code else ()


def find_in_log(log: Log, transaction_id: UUID, *, many: bool) -> list[TraceEvent]:
    """The log's events of the transaction, within the window, oldest first.

    ``many``: the log may hold several (Accounts); else one at most.
    """
    topics = transaction_topics(log)
    recorder = log.application.recorder
    high = recorder.max_notification_id() or 0
    floor = max(1, high - TRACE_WINDOW + 1)
    found: list[TraceEvent] = []
    # A reversal's Reversed found, its request not yet: it may be far back.
    awaiting_request = False
    while high >= floor:
        low = max(floor, high - READ_SIZE + 1)
        window = recorder.select_notifications(
            low, high - low + 1, stop=high, topics=topics
        )
        for notification in reversed(window):
            event = _decoded(log, notification)
            if (
                event is None
                or getattr(event, "transaction_id", None) != transaction_id
            ):
                continue
            found.append(_trace_event(log, notification.id, event))
            if not many:
                return found
            if isinstance(event, ReversalRequested | ReversalRequestedAgain):
                awaiting_request = False
            elif isinstance(event, Reversed):
                awaiting_request = True
            if not awaiting_request:
                floor = max(floor, notification.id - SAVE_SPAN)
        high = low - 1
    return found[::-1]


def _decoded(log: Log, notification: Any) -> Any:
    try:
        return log.application.mapper.to_domain_event(notification)
    except Exception:  # noqa: BLE001 (a damaged row is no part of any trace)
        return None


def _trace_event(log: Log, notification_id: int, event: Any) -> TraceEvent:
    return TraceEvent(
        log=log.key,
        application=log.name,
        notification_id=notification_id,
        type=type(event).__name__,
        recorded_at=event.timestamp,
        account_id=account_of(event),
        actor=getattr(event, "actor", ""),
        correlation_id=getattr(event, "correlation_id", ""),
        causation=getattr(event, "causation", ""),
        reverses=getattr(event, "reverses", None),
        reversal_id=event.originator_id if isinstance(event, Reversal.Event) else None,
    )


def read_trace(bank: Bank, transaction_id: UUID) -> Trace | None:
    """The transaction's trace, or None if Accounts has no event of it."""
    accounts_log, *follower_logs = bank_logs(bank)
    account_events = find_in_log(accounts_log, transaction_id, many=True)
    if not account_events:
        return None
    positions = [(s.name, s.position) for s in bank.processor_status()]
    rows = [TraceRow(event, _followers(event, positions)) for event in account_events]
    for log in follower_logs:
        rows += [
            TraceRow(event) for event in find_in_log(log, transaction_id, many=False)
        ]
    rows.sort(key=lambda row: row.event.recorded_at)
    reversals = bank.accounts.reversals
    return Trace(
        transaction_id,
        rows,
        reverses=_reverses(bank, account_events),
        reversal=reversals.of_transaction(transaction_id),
    )


def _reverses(bank: Bank, events: Sequence[TraceEvent]) -> UUID | None:
    """The transaction a reversal's events reverse (None: they are no reversal's).

    ``Reversed`` and ``Requested`` name it; a request made again after a
    rejection names only its reversal, which is read for it.
    """
    named = next((event.reverses for event in events if event.reverses), None)
    if named is not None:
        return named
    reversal_id = next((e.reversal_id for e in events if e.reversal_id), None)
    if reversal_id is None:
        return None
    return bank.accounts.reversals.get(reversal_id).reverses


def _followers(
    event: TraceEvent, positions: Sequence[tuple[str, int]]
) -> tuple[FollowerPosition, ...]:
    return tuple(
        FollowerPosition(name, position >= event.notification_id)
        for name, position in positions
    )
