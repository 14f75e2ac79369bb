"""Every event a request records says who asked and which request it was.

The view runs inside ``acting_as`` (``accounts/provenance.py``) with the
signed-in user's username (``anonymous`` before signing in) as the actor
and the request's id (``request.id``, set by ``request_ids.py``) as the
correlation id: the same id the response carries in ``X-Request-ID`` and
the access log line records, so an event leads to its request's log line.
Placed after ``AuthenticationMiddleware`` (for ``request.user``) and
``RequestIdMiddleware`` (for ``request.id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DatabaseError
from eventsourcing.persistence import PersistenceError

from accounts.provenance import Provenance, acting_as

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

ANONYMOUS = "anonymous"


def provenance_of(request: HttpRequest) -> Provenance:
    """Who is asking, and the id of the request they asked in."""
    user = getattr(request, "user", None)
    try:
        signed_in = user is not None and user.is_authenticated
    except (DatabaseError, PersistenceError):
        # The session's user cannot be read: the database is down. No event
        # can be saved either; the request goes on to be answered as it
        # would be (503, or the health check's status), reading the user
        # again where it needs to and failing there.
        signed_in = False
    actor = user.get_username() if signed_in and user is not None else ANONYMOUS
    return Provenance(actor=actor, correlation_id=getattr(request, "id", ""))


class ProvenanceMiddleware:
    """Run the rest of the request acting as the signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting_as(provenance_of(request)):
            return self.get_response(request)
