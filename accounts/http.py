"""What every view can rely on: the request type, the staff-only guard, and
the names of the htmx events that keep panels up to date."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

P = ParamSpec("P")


@dataclass(frozen=True)
class HtmxEvents:
    """The htmx events the server announces when data changes.

    A command's response names what it changed in ``HX-Trigger``; each panel
    showing that data listens for it (``hx-trigger="balancesChanged
    from:body"``) and refreshes itself. Named once, here: views use these
    attributes, templates ``{{ htmx_events.balances_changed }}``
    (``accounts.context_processors``).
    """

    balances_changed: str = "balancesChanged"
    accounts_changed: str = "accountsChanged"
    ledger_changed: str = "ledgerChanged"
    transactions_changed: str = "transactionsChanged"

    @property
    def money_moved(self) -> tuple[str, ...]:
        """What a deposit, withdrawal or transfer changes."""
        return (
            self.balances_changed,
            self.ledger_changed,
            self.transactions_changed,
        )


HTMX_EVENTS = HtmxEvents()


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
