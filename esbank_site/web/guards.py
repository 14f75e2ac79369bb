"""The shape the site's guards share: middleware that may answer before the view.

Django calls a middleware's ``process_view`` once the URL is resolved
(``request.resolver_match`` names the view and its arguments) and before
the view runs; a response returned there is the answer, and the view never
runs. Each guard (the throttles, the NUL guard, the idle timeout) says
only when it answers, in ``before_view``; the guard against database
trouble answers in ``process_exception`` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse
    from django.http.response import HttpResponseBase


class Guard:
    """Middleware that answers in ``before_view``, or lets the view run (None)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, *view: object
    ) -> HttpResponseBase | None:
        """Django's hook; ``view`` is the view function and its arguments."""
        return self.before_view(request)

    def before_view(self, request: HttpRequest) -> HttpResponseBase | None:
        """An answer instead of the view's, or None to let the view run."""
        return None
