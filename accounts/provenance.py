"""Who asked for an event, which request it came from, and what caused it.

These are an event's envelope, not its payload: an account does not care who
paid money in, but the bank's audit trail does. So they are not arguments of
``Account.deposit`` and the other commands (every method, and every test
calling one, would have to pass them on, and the domain would grow a concern
that is not its own). Instead the caller, a web request or a management
command, sets the current ``Provenance`` around the command with
``acting_as``, and the mapper that stores events
(``esbank_site/persistence/row_binding.py``) stamps every event saved while
it holds. A ``ContextVar`` keeps each thread's (and each task's) own.

- ``actor``: the signed-in user's username, ``anonymous``, or
  ``system:<command or follower>``.
- ``correlation_id``: one per HTTP request (its ``X-Request-ID``) or command
  run, carried on by followers to the events they record in answer.
- ``causation``: for a follower's event, the event it answers
  (``Accounts#<notification id> <originator id> v<version>``); empty for an
  event asked for directly.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

SYSTEM = "system"
# What an event stored before these fields existed is read back with.
UNKNOWN = "unknown"
FIELDS = ("actor", "correlation_id", "causation")


@dataclass(frozen=True)
class Provenance:
    """Who asked, in which request (or run), because of which event."""

    actor: str
    correlation_id: str = ""
    causation: str = ""


# Outside any request or command run: the system itself.
_current: ContextVar[Provenance] = ContextVar(
    "provenance",
    default=Provenance(actor=SYSTEM),  # noqa: B039 (frozen, so immutable)
)


def current() -> Provenance:
    """The provenance events saved now are stamped with."""
    return _current.get()


@contextmanager
def acting_as(provenance: Provenance) -> Iterator[Provenance]:
    """Stamp events saved inside the block with ``provenance``."""
    token = _current.set(provenance)
    try:
        yield provenance
    finally:
        _current.reset(token)


def command_run(name: str) -> Provenance:
    """A management command's run: ``system:<name>``, a fresh correlation id."""
    return Provenance(actor=f"{SYSTEM}:{name}", correlation_id=uuid.uuid4().hex)
