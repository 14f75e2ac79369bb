"""Only accounts load as accounts: the projectors ``Accounts`` reads with.

Skip on a first read. The Accounts event store holds more than accounts:
the receipts of idempotent commands (``Receipt``) and the event-sourced
lists of account ids (every account, and each owner's), whose ids are
uuid5s in the bank's namespace that anyone can derive from the source
(``accounts/domain.py``). An account id comes from a URL or a form, so any
of those ids can be asked for as an account. The library's repository would
replay whatever it finds under the id: a list's entries are not aggregate
events, and its projector fails an ``assert`` on them (a 500); a receipt
would load as a receipt.

Departs from the library (9.5.6): the standard way is a plain
``repository.get(id)``. ``project_account`` is the projector the repository
is given instead (its public ``projector_func`` argument). It looks at every
event before applying it, the same events the library's own projector would
apply, so it costs no query of its own: an event that is not an Account's,
or a snapshot of anything but an Account, ends the read with
``AggregateNotFoundError``, which the application answers as a missing
account. Nothing is put in the aggregate cache. What would remove the need:
the repository checking the aggregate's class (an ``aggregate_cls``
argument to ``get``), or refusing events it cannot apply with
``AggregateNotFoundError`` rather than ``assert``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import TopicError, resolve_topic

from accounts.domain import Account
from accounts.reversal import Reversal

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from eventsourcing.domain import Aggregate


def project_account(account: Any, domain_events: Iterable[Any]) -> Any:
    """The library's projector, for an Account's events and snapshots only."""
    return project_aggregate(account, _only(Account, domain_events))


def project_reversal(reversal: Any, domain_events: Iterable[Any]) -> Any:
    """The same for a Reversal, whose id comes from a URL too."""
    return project_aggregate(reversal, _only(Reversal, domain_events))


def is_account_event(domain_event: object) -> bool:
    """Whether ``domain_event`` is an Account's event or a snapshot of one."""
    return _is_event_of(Account, domain_event)


def _is_event_of(aggregate_class: type[Aggregate], domain_event: object) -> bool:
    if isinstance(domain_event, Snapshot):
        try:
            topic_class = resolve_topic(domain_event.topic)
        except TopicError:
            return False
        return isinstance(topic_class, type) and issubclass(
            topic_class, aggregate_class
        )
    return isinstance(domain_event, aggregate_class.Event)


def _only(
    aggregate_class: type[Aggregate], domain_events: Iterable[Any]
) -> Iterator[Any]:
    for domain_event in domain_events:
        if not _is_event_of(aggregate_class, domain_event):
            what = aggregate_class.__name__.lower()
            msg = f"{domain_event.originator_id} is not a {what}."
            raise AggregateNotFoundError(msg)
        yield domain_event
