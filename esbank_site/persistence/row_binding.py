"""A mapper that binds each stored event's state to the row that holds it.

The library's AES cipher authenticates the state it encrypts, but nothing
else: the aggregate id, version and topic live in columns beside it, and a
ciphertext copied from one row into another decrypts without complaint.
An attacker with write access to the table could replay Ada's deposit as
Bob's. This mapper writes the row's identity (``originator_id``, version and
topic) into the state before it is compressed and encrypted, and checks it
when the event is read back; with encryption on, the check is as strong as
the cipher's own authentication.

Events written before the binding existed (no ``_row`` field) are accepted
as they are: rejecting them would make old history unreadable.

The same mapper stamps each event with its provenance (``actor``,
``correlation_id``, ``causation``: ``accounts/provenance.py``) and upcasts
events stored before those existed. It is the one place every event of
every application passes through, so it covers every event class at once,
where an ``upcast_v1_v2`` would be needed on each class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic

from accounts import provenance

if TYPE_CHECKING:
    from uuid import UUID

    from eventsourcing.domain import DomainEventProtocol

ROW_FIELD = "_row"


class TamperedEventError(MapperDeserialisationError):
    """Raised when a stored event's state belongs to a different row."""


class RowBindingMapper(Mapper["UUID"]):
    """``Mapper`` that seals each event's state to its row."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        self.stamp(domain_event)
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        event_state[ROW_FIELD] = _row_identity(originator_id, originator_version, topic)
        stored_state = self.transcoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def stamp(self, domain_event: DomainEventProtocol[UUID]) -> None:
        """Give the event its provenance (``_stamp``).

        A method, so that a mapper which skips it can measure what the
        provenance costs (``bench/metadata.py``).
        """
        _stamp(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        row = domain_event.__dict__.pop(ROW_FIELD, None)
        expected = _row_identity(
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
        )
        if row is not None and row != expected:
            msg = (
                f"The stored event at {stored_event.originator_id} version "
                f"{stored_event.originator_version} holds the state of another "
                f"event ({row}): the event store has been tampered with."
            )
            raise TamperedEventError(msg)
        _upcast_provenance(domain_event)
        return domain_event


def _stamp(domain_event: DomainEventProtocol[UUID]) -> None:
    """Give an event not stamped yet the current provenance.

    An Accounts command is saved in the thread that asked for it (a request,
    a command run), so the provenance current at save time is its own. A
    follower stamps its events before they get here (``ledger/batches.py``),
    and those are left as they are. Set on the event object too (frozen, so
    through ``object.__setattr__``): followers in the same process are handed
    this object, not the stored row.
    """
    if hasattr(domain_event, "actor"):
        return
    stamp = provenance.current()
    for field in provenance.FIELDS:
        object.__setattr__(domain_event, field, getattr(stamp, field))


def _upcast_provenance(domain_event: DomainEventProtocol[UUID]) -> None:
    """Upcast an event stored before provenance existed: actor ``unknown``.

    The library's aggregates are rebuilt calling ``__init__`` and ``@event``
    methods with only the attributes they name, so these extra ones do not
    disturb replay, old events or new.
    """
    state = domain_event.__dict__
    if "actor" not in state:
        state["actor"] = provenance.UNKNOWN
        state.setdefault("correlation_id", "")
        state.setdefault("causation", "")


def _row_identity(originator_id: Any, originator_version: int, topic: str) -> str:
    hex_id = originator_id.hex if hasattr(originator_id, "hex") else str(originator_id)
    return f"{hex_id}:{originator_version}:{topic}"
