"""Panels that refresh themselves: a ``304 Not Modified`` when nothing changed.

A panel polls every few seconds (``hx-trigger="... every 3s"``). Swapping
in the same figures again would still replace the element that has focus,
throwing a keyboard user back to the top of the page, and make a screen
reader start over. So each polled fragment carries its ETag, a hash of its
own rendered bytes, in its root element's ``data-etag`` (``{% etag_slot %}``)
and in the ``ETag`` header; ``static/js/bank.js`` sends it back as
``If-None-Match`` when the panel refreshes itself, and an unchanged fragment
is answered with a 304 and no body, which htmx is configured not to swap
(``responseHandling`` in ``templates/base.html``).

The hash is taken with a placeholder where the ETag itself goes, then the
placeholder is replaced: the same bytes hash the same whether the fragment
is a view's whole answer (``polled``) or part of a page
(``{% polled_panel %}``), so a panel's first poll after the page loaded is
already a 304 if nothing changed. A request that does not ask (no
``If-None-Match``) always gets the fragment.
"""

from __future__ import annotations

import functools
import hashlib
from http import HTTPStatus
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from django.http import HttpRequest
from django.utils.cache import get_conditional_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpResponse

P = ParamSpec("P")
R = TypeVar("R", bound=HttpRequest)

# What a fragment holds where its ETag goes, until the ETag is known.
PLACEHOLDER = "etag-of-this-fragment"
# The attribute of a polled fragment's root element that holds its ETag.
ETAG_ATTRIBUTE = "data-etag"


def fragment_etag(content: bytes) -> str:
    """The ETag of a rendered fragment (with its placeholder), unquoted."""
    return hashlib.sha256(content).hexdigest()[:32]


def stamped(content: str) -> str:
    """A rendered fragment with its placeholder replaced by its ETag."""
    return content.replace(PLACEHOLDER, fragment_etag(content.encode()))


def polled(
    view: Callable[Concatenate[R, P], HttpResponse],
) -> Callable[Concatenate[R, P], HttpResponse]:
    """Give a view's 200 answers an ETag; a 304 to a request that has it.

    The view renders as always; its answer's ETag is the hash of what it
    rendered, placeholder included, so nothing is read twice to tell.
    """

    @functools.wraps(view)
    def wrapper(request: R, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != HTTPStatus.OK or response.streaming:
            return response
        etag = fragment_etag(response.content)
        response.content = response.content.replace(PLACEHOLDER.encode(), etag.encode())
        response["ETag"] = f'"{etag}"'
        # Django's own reading of If-None-Match (a list, weak or strong,
        # or *); its 304 keeps the caching headers and cookies of the 200.
        answer = get_conditional_response(
            request, etag=response["ETag"], response=response
        )
        return response if answer is None else answer

    return wrapper
