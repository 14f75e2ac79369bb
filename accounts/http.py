"""What every view can rely on: the request type and the staff-only guard."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

P = ParamSpec("P")


class HtmxHttpRequest(HttpRequest):
    """A request as the middleware leaves it: htmx details, a signed-in user.

    ``LoginRequiredMiddleware`` turns anonymous visitors away before any
    view that takes this type runs, so ``user`` is always a real ``User``.
    """

    htmx: HtmxDetails
    user: User


def staff_required(
    view: Callable[Concatenate[HtmxHttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HtmxHttpRequest, P], HttpResponse]:
    """Answer 403 to anyone but staff; signing in is already required."""

    @functools.wraps(view)
    def wrapper(
        request: HtmxHttpRequest, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
