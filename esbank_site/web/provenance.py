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

from accounts.provenance import Provenance, acting_as

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

ANONYMOUS = "anonymous"


def provenance_of(request: HttpRequest) -> Provenance:
    """Who is asking, and the id of the request they asked in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        actor = ANONYMOUS
    else:
        actor = user.get_username()
    return Provenance(actor=actor, correlation_id=getattr(request, "id", ""))


class ProvenanceMiddleware:
    """Run the rest of the request acting as the signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting_as(provenance_of(request)):
            return self.get_response(request)
