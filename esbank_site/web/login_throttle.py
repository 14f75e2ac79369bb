"""Cheap refusals for password guessing, before any password is hashed.

Checking a password costs a deliberately slow hash (a few tenths of a second
of a core with Django's PBKDF2), and the hash is paid for made-up usernames
too, so that a wrong username takes as long as a wrong password. The
lockout (django-axes) counts failures per username and address, so guesses
at ever new usernames are never locked out: a flood of them kept the web
processes hashing, and signed-in customers waited seconds for their pages.

``LoginThrottleMiddleware`` stands in front of every password check: a
login form POST, and a request to the staff feed carrying HTTP Basic
credentials (a staff session's reads check none). It answers 429 with
``Retry-After``, without reaching the view, when

- the client's address (``addresses.client_address``) has tried more than
  ``ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE`` times this clock minute;
- or this turn's password check has been taken: the site checks one
  password per turn of ``60 / N`` seconds, ``N`` being
  ``ESBANK_LOGIN_ATTEMPTS_PER_MINUTE``, so the checks a flood gets are spread
  evenly over the minute rather than spent in a burst at its start.

Either limit is off at 0. An address over its limit takes no turn. Every
attempt counts, whatever its outcome: the decision comes before the password
is known to be right. The counts live in the ``throttle`` cache, like the
money-moving limit's (``security.py``): per web process by default (W
processes check up to W passwords per turn), shared by all with
``ESBANK_THROTTLE_CACHE``. A turn is taken with the cache's ``add``, which
only one caller wins, in the database's cache as in each process's memory;
each process starts its turns at a moment of its own (``turn_phase``), so
that W processes counting apart never all hash at once.
"""

from __future__ import annotations

import math
import os
import random
import time
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.shortcuts import render

from esbank_site.web.addresses import client_address
from esbank_site.web.guards import Guard
from esbank_site.web.security import WINDOW_SECONDS, seconds_to_wait

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

# The login form's URL name, and the namespace of the feed's views, which
# check HTTP Basic credentials.
LOGIN_VIEW = "login"
BASIC_AUTH_NAMESPACE = "feed"


class LoginThrottleMiddleware(Guard):
    """Answer 429 to a password check past the address's or the site's rate."""

    def before_view(self, request: HttpRequest) -> HttpResponse | None:
        if not checks_a_password(request):
            return None
        per_address = settings.ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE
        if per_address > 0:
            address = client_address(request)
            key = f"login-address:{address}"
            wait = seconds_to_wait(key, per_address, now=now())
            if wait is not None:
                return refused(
                    request,
                    wait,
                    "Too many attempts to log in from your address in the last "
                    f"minute. Please wait {_seconds(wait)} and try again.",
                )
        per_minute = settings.ESBANK_LOGIN_ATTEMPTS_PER_MINUTE
        if per_minute > 0:
            wait = seconds_to_next_turn("login-site", per_minute)
            if wait is not None:
                return refused(
                    request,
                    wait,
                    "The bank is answering too many attempts to log in just now. "
                    f"Please wait {_seconds(wait)} and try again.",
                )
        return None


def checks_a_password(request: HttpRequest) -> bool:
    """Whether the view will hash a password for ``request``."""
    match = request.resolver_match
    if match is None:
        return False
    if match.view_name == LOGIN_VIEW:
        return request.method == "POST"
    if match.namespace != BASIC_AUTH_NAMESPACE:
        return False
    scheme = request.headers.get("Authorization", "").partition(" ")[0]
    if scheme.lower() != "basic":
        return False
    # The feed lets a staff session in without looking at the credentials.
    user = request.user
    return not (user.is_authenticated and user.is_staff)


def seconds_to_next_turn(key: str, per_minute: int) -> int | None:
    """Take this moment's turn at ``key``, one every 60/``per_minute`` seconds.

    None if it was free (it is now taken); otherwise the whole seconds until
    the next turn begins. Each turn is one key, taken once, so a cache that
    every process shares gives one check per turn between them, whatever
    moment each takes its turns at.
    """
    interval = WINDOW_SECONDS / per_minute
    moment = now()
    phase = turn_phase()
    turn = math.floor(moment / interval - phase)
    turn_key = f"{key}:{per_minute}:{turn}"
    cache = caches["throttle"]
    if cache.add(turn_key, 1, timeout=math.ceil(interval) + 1):
        return None
    # Read it, which keeps it the most recently used: a flood from ever new
    # addresses fills a process's cache with their counts, and a full cache
    # drops its least recently used keys; this one must stay, or the turn
    # would open again.
    cache.get(turn_key)
    return max(1, math.ceil((turn + 1 + phase) * interval - moment))


def now() -> float:
    """The time, in seconds since the epoch (tests replace it)."""
    return time.time()


_phases: dict[int, float] = {}


def turn_phase() -> float:
    """Where this process's turns begin, as a fraction of a turn.

    A process of its own, a phase of its own: web processes counting in
    their own memory would otherwise all open a turn at the same moment,
    and a flood would have every one of them hashing at once, with none
    left to serve a page. By process id, since gunicorn may import the
    site before it forks its workers.
    """
    pid = os.getpid()
    if pid not in _phases:
        _phases[pid] = random.random()  # noqa: S311 (spreads load, guards nothing)
    return _phases[pid]


def refused(request: HttpRequest, wait: int, message: str) -> HttpResponse:
    """The 429: the login-paused page, or JSON for a machine reading the feed."""
    status = HTTPStatus.TOO_MANY_REQUESTS
    response: HttpResponse
    if request.resolver_match and request.resolver_match.view_name == LOGIN_VIEW:
        context = {"status": status, "message": message}
        response = render(
            request, "registration/locked_out.html", context, status=status
        )
    else:
        response = JsonResponse({"error": message}, status=status)
    response["Retry-After"] = str(wait)
    return response


def _seconds(wait: int) -> str:
    return f"{wait} second{'s' if wait != 1 else ''}"
