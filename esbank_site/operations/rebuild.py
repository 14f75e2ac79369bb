"""Rebuild a projection's read model from the events, while the site serves.

The replay writes into a shadow set of tables beside the live ones
(``accountslist_rebuild_rows``, ``..._summary`` and ``..._tracking``),
through a second instance of the same projection, so pages keep reading the
live list and its processor keeps it current meanwhile. Once the shadow has caught up
with the log, one transaction drops the live tables and renames the shadow
ones in their place. The tracking position moves with the rows it
describes: whatever the live processor did meanwhile is simply replaced,
and it carries on from the shadow's position.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import OperationalError, Tracking

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventsourcing.projection import Projection

    from esbank_site.bank import Bank
    from esbank_site.persistence.read_models import AccountsListTables

SWAP_ATTEMPTS = 3


class UnknownProjectionError(LookupError):
    """Raised when asked to rebuild a projection the bank does not have."""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did."""

    name: str
    events: int
    position: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def find_projection(bank: Bank, name: str) -> Projection[Any]:
    """The bank's projection called ``name``, in any case."""
    by_name = {key.lower(): projection for key, projection in bank.projections.items()}
    try:
        return by_name[name.lower()]
    except KeyError:
        known = ", ".join(bank.projections)
        msg = f"No projection named {name!r}; the bank has: {known}."
        raise UnknownProjectionError(msg) from None


def rebuild_projection(
    bank: Bank,
    name: str,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Replay every Accounts event into fresh tables, then swap them in.

    ``progress`` is called after each batch with the position reached and
    the log's head. Any error leaves the live read model as it was.
    """
    projection = find_projection(bank, name)
    live = cast("AccountsListTables", projection.view)
    shadow = live.shadow()
    shadow.drop_tables()  # what an interrupted rebuild left behind
    shadow.create_table()
    replay = type(projection)(view=shadow)
    leader = bank.accounts
    started = time.monotonic()
    events = position = 0
    try:
        while notifications := leader.recorder.select_notifications(
            position, batch_size, inclusive_of_start=False
        ):
            with shadow.batch():  # one transaction per batch: a fast replay
                for notification in notifications:
                    domain_event = leader.mapper.to_domain_event(notification)
                    tracking = Tracking(leader.name, notification.id)
                    replay.process_event(domain_event, tracking)
            events += len(notifications)
            position = notifications[-1].id
            if progress is not None:
                head = leader.recorder.max_notification_id() or position
                progress(position, max(head, position))
        _swap(shadow, live)
    except BaseException:
        shadow.drop_tables()
        raise
    return RebuildResult(projection.name, events, position, time.monotonic() - started)


def _swap(shadow: AccountsListTables, live: AccountsListTables) -> None:
    """Swap, retrying when readers or the live processor held the tables too long."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            shadow.swap_into(live)
        except OperationalError:
            if attempt == SWAP_ATTEMPTS:
                raise
            time.sleep(0.5 * attempt)
        else:
            return
