"""Guards around every request: security headers, throttles, honest errors.

Django 5.2 has no Content Security Policy of its own (6.0 adds one). The
bank's policy is one fixed header: no inline script or style anywhere, so
no nonce, nothing that varies by view. ``SecurityHeadersMiddleware`` reads
it from ``SECURE_CSP``, in the shape Django 6.0's setting takes, so the
upgrade swaps this middleware for Django's and keeps the setting; a
dependency such as django-csp would buy nonces and per-view decorators the
site does not need.

``MoneyPostThrottleMiddleware`` limits how often one user may move money:
a fixed one-minute window counted in the ``throttle`` cache with ``incr``,
which is atomic within a process (and in shared caches such as the
database's or Redis's), answered 429 with ``Retry-After``.
``PayeeCheckThrottleMiddleware`` limits the same way how often one user may
ask whose an account number is, so numbers cannot be tried one after
another to collect names.

The login lockout is django-axes's; ``lockout_response`` is the page it
shows, with ``Retry-After`` too. Floods of logins are refused before any
hashing by ``login_throttle.py``, which counts with ``seconds_to_wait``.

``SignedInNoStoreMiddleware`` keeps signed-in pages out of browsers' caches
and history, so Back after logout shows nothing of anyone's money.
"""

from __future__ import annotations

import math
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from esbank_site.web.guards import Guard

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse

# The views that move money, by URL name; each takes an ``account_id``.
MONEY_VIEWS = frozenset({"accounts:deposit", "accounts:withdraw", "accounts:transfer"})
# Confirmation of payee: whose account a typed number is.
PAYEE_VIEW = "accounts:payee"
WINDOW_SECONDS = 60


def content_security_policy(policy: dict[str, list[str]]) -> str:
    """The header value for a ``SECURE_CSP``-shaped dict."""
    return "; ".join(
        " ".join([directive, *sources]) for directive, sources in policy.items()
    )


class SecurityHeadersMiddleware:
    """Add the Content Security Policy and Permissions-Policy to every response.

    Django's own ``SecurityMiddleware`` sends HSTS, nosniff, Referrer-Policy
    and Cross-Origin-Opener-Policy, and ``XFrameOptionsMiddleware`` sends
    X-Frame-Options; these two it does not know.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = content_security_policy(settings.SECURE_CSP)
        self.permissions = settings.PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        if (
            response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
            and not response.content
        ):
            return _explained_405(request, response)
        return response


class SignedInNoStoreMiddleware:
    """``Cache-Control: no-store`` (and ``private``) on every signed-in response.

    Pages, htmx fragments, command answers, error pages and the feed alike:
    a browser then keeps none of them, in its cache or its history, once
    the user has logged out. Signed in means the request carries a session,
    or one was started while answering it (a login, the feed's HTTP Basic):
    the site starts a session only for a signed-in user, so telling needs no
    database read, and a 503 page while the database is down is covered too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key is not None:
            add_never_cache_headers(response)
        return response


def _explained_405(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``require_POST``'s empty 405, with a sentence for people; same headers.

    Not its Content-Length (CommonMiddleware's 0 for the empty body): a
    browser would read none of the page and show an error of its own.
    """
    page = render(request, "405.html", status=HTTPStatus.METHOD_NOT_ALLOWED)
    for header, value in response.headers.items():
        if header.lower() not in {"content-type", "content-length"}:
            page.headers[header] = value
    return page


class MoneyPostThrottleMiddleware(Guard):
    """Answer 429 to a user moving money more often than the bank allows.

    Only signed-in users reach these views (``LoginRequiredMiddleware``
    comes first); a POST counts whatever its outcome, so probing other
    people's account numbers is limited too.
    """

    def before_view(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.ESBANK_MONEY_POSTS_PER_MINUTE
        match = request.resolver_match
        if (
            limit <= 0
            or request.method != "POST"
            or match is None
            or match.view_name not in MONEY_VIEWS
            or not request.user.is_authenticated
        ):
            return None
        wait = seconds_to_wait(f"money-posts:{request.user.pk}", limit)
        if wait is None:
            return None
        return too_many_requests(request, wait, match.kwargs.get("account_id"))


class PayeeCheckThrottleMiddleware(Guard):
    """Answer 429 to a user asking whose account numbers are too often.

    The transfer form asks once a number is typed (and again as it is
    corrected): a person stays well within the limit, a script trying
    number after number to collect names does not. Every ask counts,
    found or not.
    """

    def before_view(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.ESBANK_PAYEE_CHECKS_PER_MINUTE
        match = request.resolver_match
        if (
            limit <= 0
            or match is None
            or match.view_name != PAYEE_VIEW
            or not request.user.is_authenticated
        ):
            return None
        wait = seconds_to_wait(f"payee-checks:{request.user.pk}", limit)
        if wait is None:
            return None
        return too_many_requests(request, wait, done="asked whose accounts are")


def seconds_to_wait(key: str, limit: int, now: float | None = None) -> int | None:
    """Count one more use of ``key`` this minute; None if within ``limit``.

    ``now`` is the time to count at, if not ``time.time()``.
    """
    cache = caches["throttle"]
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    window_key = f"{key}:{window}"
    # add() is a no-op when the key exists, so the first use starts at 0.
    cache.add(window_key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(window_key)
    except ValueError:  # expired between add() and incr()
        cache.set(window_key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def too_many_requests(
    request: HttpRequest,
    wait: int,
    account_id: object = None,
    done: str = "moved money",
) -> HttpResponse:
    """The 429: a toast for htmx (bank.js), a page with a way back otherwise."""
    message = (
        f"You have {done} too many times in the last minute. Nothing was "
        f"changed; please try again in {wait} second{'s' if wait != 1 else ''}."
    )
    is_htmx = bool(getattr(request, "htmx", False))
    back = (
        reverse("accounts:account_detail", args=[account_id])
        if account_id
        else reverse("dashboard")
    )
    template = "_trouble.html" if is_htmx else "too_many_requests.html"
    context = {"status": HTTPStatus.TOO_MANY_REQUESTS, "message": message, "back": back}
    response = render(request, template, context, status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = str(wait)
    return response


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    """django-axes's answer to a locked-out login: 429, how long to wait."""
    wait = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, math.ceil(wait / 60))
    message = (
        "Too many failed attempts to log in with this username from your "
        f"address. Please wait {minutes} minute{'s' if minutes != 1 else ''} "
        "and try again."
    )
    status = HTTPStatus.TOO_MANY_REQUESTS
    response: HttpResponse
    if "Authorization" in request.headers:
        # A machine reading the staff feed with HTTP Basic.
        response = JsonResponse({"error": message}, status=status)
    else:
        context = {"status": status, "message": message}
        response = render(
            request, "registration/locked_out.html", context, status=status
        )
    response["Retry-After"] = str(wait)
    return response
