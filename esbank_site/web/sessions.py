"""A signed-in session ends after ``ESBANK_SESSION_IDLE_MINUTES`` without activity.

A bank's page left open on a shared or unattended computer must not stay
signed in for the two weeks Django's sessions last by default. Logging in
starts the clock; each later request of a signed-in user that is the user
doing something (a page, a form, a click that loads a fragment) moves it on.
The first request after more than the limit signs the user out and sends
them to the login page with ``?timed_out=1``, which says why: an htmx
request by ``HX-Redirect``; a command sent after the limit is not run.

A panel refreshing itself on a timer ("every 5s") is not activity: a page
left open would otherwise stay signed in for ever. ``static/js/bank.js``
marks those requests with the ``X-Esbank-Poll`` header (htmx gives a timer's
request no triggering event); they are checked against the limit, and move
nothing on. A client that leaves the header off only keeps its own session
alive, which any click would do too.

The time is written at most once a minute (``WRITE_EVERY_SECONDS``), so a
busy user costs one session write a minute, not one per request, and the
limit is kept to within that minute, never more. The write is this
middleware's own, after the view: a database that cannot take it (SQLite
locked by a writer) costs that one stamp, logged, never the answer. The
health check is left alone: it must answer without reading the session,
whose table may be the thing that is down.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import UpdateError
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from esbank_site.web.guards import Guard
from esbank_site.web.middleware import DATABASE_TROUBLE

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest, HttpResponse
    from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

# The session key holding the time (seconds since the epoch) of the last activity.
LAST_ACTIVITY = "esbank_last_activity"
WRITE_EVERY_SECONDS = 60
# What bank.js sends with a request a panel's timer made.
POLL_HEADER = "X-Esbank-Poll"
# The login page's query parameter: signed out for inactivity.
TIMED_OUT = "timed_out"
# Views that never read the session here, by URL name.
EXEMPT_VIEWS = frozenset({"health"})
# Set on a request whose activity is to be written once the view is done.
_ACTIVE_AT = "_esbank_active_at"
# What a session write the database refuses raises (UpdateError: Django's
# own wrapping of a failed save).
_WRITE_REFUSED: tuple[type[BaseException], ...] = (*DATABASE_TROUBLE, UpdateError)


# Bound once: a test that stops ``time.time`` for a throttle's window must
# not make every session look idle for a year.
_wall_clock = time.time


def now() -> float:
    """The time, in seconds since the epoch (tests replace it)."""
    return _wall_clock()


def start_the_clock(
    sender: type[AbstractBaseUser], request: HttpRequest, **kwargs: Any
) -> None:
    """On ``user_logged_in``: a new session's activity starts now.

    Saved with the login itself (``esbank_site/apps.py`` connects this).
    """
    request.session[LAST_ACTIVITY] = now()


class IdleSessionTimeoutMiddleware(Guard):
    """Sign out a user idle for longer than ``ESBANK_SESSION_IDLE_MINUTES``.

    Runs after ``LoginRequiredMiddleware``: anonymous visitors are sent to
    the login page before this sees them. Views open to everyone (the
    staff feed) carry on with an anonymous user after a timeout, and answer
    as they would any other. A session without a time (made before this
    guard existed) starts its clock at its next request.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        moment = getattr(request, _ACTIVE_AT, None)
        # Still signed in (the view may have logged the user out), and not
        # a 5xx, after which SessionMiddleware saves nothing either.
        if (
            moment is not None
            and response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
            and request.user.is_authenticated
        ):
            record_activity(request.session, moment)
        return response

    def before_view(self, request: HttpRequest) -> HttpResponseBase | None:
        limit = settings.ESBANK_SESSION_IDLE_MINUTES * 60
        match = request.resolver_match
        if (
            limit <= 0
            or (match is not None and match.view_name in EXEMPT_VIEWS)
            # No session cookie: no one is signed in, and nothing to read.
            or request.session.session_key is None
            or not request.user.is_authenticated
        ):
            return None
        moment = now()
        last = request.session.get(LAST_ACTIVITY)
        if isinstance(last, int | float) and moment - last > limit:
            logout(request)
            if match is None or getattr(match.func, "login_required", True):
                return timed_out(request)
            return None
        polled = request.headers.get(POLL_HEADER) == "true"
        if not isinstance(last, int | float) or (
            not polled and moment - last >= WRITE_EVERY_SECONDS
        ):
            setattr(request, _ACTIVE_AT, moment)
        return None


def record_activity(session: SessionBase, moment: float) -> None:
    """Write the time of the user's activity to their stored session, now.

    Saved here rather than by ``SessionMiddleware``, which would answer a
    failed write with a 400: a database that cannot take it costs the stamp
    (the user may then be signed out up to a minute early), not the answer.
    Whatever else the view changed in the session is saved with it.
    """
    session[LAST_ACTIVITY] = moment
    try:
        session.save()
    except _WRITE_REFUSED as error:
        logger.warning("Session activity not recorded: %r", error)
    # Saved, or not to be tried again by SessionMiddleware.
    session.modified = False


def timed_out(request: HttpRequest) -> HttpResponseBase:
    """To the login page, which says the user was signed out for inactivity.

    Back to the page they were on after logging in again: for htmx the page
    the fragment was part of, for a form sent after the limit the dashboard.
    """
    login_url = f"{resolve_url(settings.LOGIN_URL)}?{TIMED_OUT}=1"
    if getattr(request, "htmx", False):
        current = request.htmx.current_url_abs_path  # type: ignore[attr-defined]
        return HttpResponseClientRedirect(
            redirect_to_login(current or "/", login_url).url
        )
    if request.method in {"GET", "HEAD"}:
        return redirect_to_login(request.get_full_path(), login_url)
    return redirect_to_login("/", login_url)
