"""Reading the Accounts log from its start, as both audits do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from eventsourcing.application import Application
    from eventsourcing.persistence import Notification

PAGE_SIZE = 500


def read_log(
    app: Application[Any],
    *,
    stop: int | None = None,
    unreadable: Callable[[Notification, Exception], None] | None = None,
) -> Iterator[Any]:
    """Every event of ``app``'s notification log up to ``stop``, in order.

    An event that cannot be decoded (a damaged or tampered row) is handed to
    ``unreadable`` and left out: damage is a finding, not a crash.
    """
    start = 1
    while (stop is None or start <= stop) and (
        notifications := app.recorder.select_notifications(start, PAGE_SIZE, stop=stop)
    ):
        for notification in notifications:
            try:
                yield app.mapper.to_domain_event(notification)
            except Exception as error:  # noqa: BLE001 (damage is a finding)
                if unreadable is not None:
                    unreadable(notification, error)
        start = notifications[-1].id + 1
