"""Whose request is it: the client's address, as far as the site can know it.

Without proxies of the site's own in front of gunicorn, the address is the
connection's (``REMOTE_ADDR``): a header anyone can write says nothing. Behind
``PROXY_COUNT`` of them (``DJANGO_PROXY_COUNT``; a load balancer is 1), each
proxy appends the address it was reached from to ``X-Forwarded-For``, so the
client's is the ``PROXY_COUNT``-th entry from the right; entries further left
came from the client and are ignored. A request with fewer entries did not
pass through every proxy, and one whose entry is not an address came through
something else: both keep the connection's address.

The login lockout (django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and the
login throttle count failures by this address. Counted by the proxy's own
address instead, every client would share one count: anyone could lock any
username out, and one client's guesses would use up everyone's turns. HTTPS
on means something ends TLS in front of gunicorn, so ``check_proxy_count``
(a system check, run by ``migrate``, ``check``, ``run_processors`` and most
management commands) refuses to go on until ``DJANGO_PROXY_COUNT`` says how
many proxies there are, 0 included.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import checks

if TYPE_CHECKING:
    from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent ``request`` (see the module's text)."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    count = settings.PROXY_COUNT
    if count <= 0:
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < count:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-count].strip()))
    except ValueError:
        return peer


def check_proxy_count(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """With HTTPS on, ``DJANGO_PROXY_COUNT`` must be given, 0 included."""
    if not settings.SECURE_SSL_REDIRECT or settings.PROXY_COUNT_STATED:
        return []
    return [
        checks.Error(
            "DJANGO_PROXY_COUNT is not set, and HTTPS is on.",
            hint=(
                "Set DJANGO_PROXY_COUNT to the number of proxies of your own in "
                "front of gunicorn (1 for a load balancer that ends TLS), or to 0 "
                "if clients reach gunicorn directly. Left unset behind a proxy, "
                "every client has the proxy's address, and anyone can lock "
                "anyone's username out. See docs/DEPLOYMENT.md."
            ),
            id="esbank.E001",
        )
    ]
