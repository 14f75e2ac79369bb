"""Which account a transaction moved money in, from its id alone.

A transaction id is a random uuid4 that no index maps to an account, so a
reversal asked for by transaction id only (no ``account`` with the form) is
found by reading the Accounts notification log: backwards from its head,
in chunks, only the topics of the events that move money (the movements a
reversal undoes, and reversals themselves, so that asking to reverse a
reversal is refused as such rather than as unknown), and at most the
newest ``LOOKUP_WINDOW`` notification ids. The cost does not grow with the
bank's history, only with the window; an older transaction is not found.
The staff's trace page reads the logs the same way
(``esbank_site/web/trace.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.utils import get_topic

from accounts.domain import REVERSIBLE, Reversed

if TYPE_CHECKING:
    from uuid import UUID

# Notification ids read back from the head of the Accounts log, at most.
LOOKUP_WINDOW = 5000
# Ids read at once, back from the head.
READ_SIZE = 100

MONEY_EVENTS: tuple[type[Any], ...] = (*REVERSIBLE, Reversed)
MONEY_TOPICS = sorted(get_topic(cls) for cls in MONEY_EVENTS)


class NotificationLog(Protocol):
    """What the lookup needs of the Accounts application."""

    @property
    def recorder(self) -> Any:
        """The application's recorder, with its notification log."""

    @property
    def mapper(self) -> Any:
        """Turns a stored notification back into its domain event."""


def account_of_transaction(app: NotificationLog, transaction_id: UUID) -> UUID | None:
    """The account of the newest money event of ``transaction_id``, if recent.

    For a transfer, either side: a reversal finds the other from it.
    """
    recorder = app.recorder
    high = recorder.max_notification_id() or 0
    floor = max(1, high - LOOKUP_WINDOW + 1)
    while high >= floor:
        low = max(floor, high - READ_SIZE + 1)
        window = recorder.select_notifications(
            low, high - low + 1, stop=high, topics=MONEY_TOPICS
        )
        for notification in reversed(window):
            event = app.mapper.to_domain_event(notification)
            if getattr(event, "transaction_id", None) == transaction_id:
                return event.originator_id
        high = low - 1
    return None
