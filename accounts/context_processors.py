"""What every template can read: the htmx event names (``accounts/http.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.http import HTMX_EVENTS, HtmxEvents

if TYPE_CHECKING:
    from django.http import HttpRequest


def htmx_events(request: HttpRequest) -> dict[str, HtmxEvents]:
    """``{{ htmx_events.balances_changed }}`` and the others, in any template."""
    return {"htmx_events": HTMX_EVENTS}
