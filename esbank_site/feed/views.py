"""The Accounts notification log as a JSON feed, for staff and their machines.

Another process or machine follows the bank by reading the log in sections
(``/staff/notifications/1,10/``, then each section's ``next_id``), exactly
as the library's ``NotificationLogReader`` reads a local log. The body of a
section is what the library's ``NotificationLogJSONService`` makes of it,
so the library's ``NotificationLogJSONClient`` reads it back unchanged.

Staff signed in with a browser read it with their session. Machines send
HTTP Basic credentials of a staff user, checked by ``authenticate()``: no
token store to keep, and deactivating the user or changing the password
takes access away at once. A good password costs a deliberately slow hash
to check, so a successful Basic request also logs the client in (as
Django's ``RemoteUserMiddleware`` does): a client that keeps the session
cookie pays for one hash per run, not one per section. The site-wide login
redirect does not apply here: an API client is answered 401 with a Basic
challenge, a signed-in customer 403.
"""

from __future__ import annotations

import binascii
import functools
import re
from base64 import b64decode
from http import HTTPStatus
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from eventsourcing.application import LocalNotificationLog
from eventsourcing.interface import NotificationLogJSONService

from esbank_site import bank as site_bank

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest

P = ParamSpec("P")

REALM = "Event Sourced Bank staff feed"

# Notification ids are stored as 64-bit integers; a larger number in a
# section id would make the database driver fail instead of finding nothing.
MAX_NOTIFICATION_ID = 2**63 - 1

SECTION_ID = re.compile(r"(?P<first>[0-9]{1,19}),(?P<last>[0-9]{1,19})")


def staff_feed(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Let staff in by session or HTTP Basic; 401 or 403 as JSON otherwise."""

    @functools.wraps(view)
    def wrapper(
        request: HttpRequest, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        user = feed_user(request)
        if not user.is_authenticated:
            return unauthorized()
        if not user.is_staff:
            return json_error(HTTPStatus.FORBIDDEN, "The feed is for staff only.")
        return view(request, *args, **kwargs)

    # The feed answers anonymous clients itself, with a Basic challenge.
    return login_not_required(wrapper)


def feed_user(request: HttpRequest) -> User | AnonymousUser:
    """The staff session's user, else whoever the Basic credentials name."""
    if request.user.is_authenticated and request.user.is_staff:
        return request.user
    credentials = basic_credentials(request)
    if credentials is None:
        return request.user
    username, password = credentials
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        # Wrong credentials are refused even if a customer is signed in.
        return AnonymousUser()
    if user.is_staff:
        login(request, user)
    return user


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """The username and password of an HTTP Basic header, if well formed."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    # NUL is refused before any view (web/input_guard.py); were it not, it
    # must still never reach authenticate(): PostgreSQL cannot compare it.
    if not colon or "\x00" in decoded:
        return None
    return username, password


def unauthorized() -> JsonResponse:
    """401 with the challenge that makes clients send Basic credentials."""
    response = json_error(
        HTTPStatus.UNAUTHORIZED,
        "Sign in as staff, or send a staff user's credentials with HTTP Basic.",
    )
    response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


def json_error(status: HTTPStatus, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def parse_section_id(section_id: str) -> tuple[int, int] | None:
    """The first and last notification ids a section id asks for, if valid."""
    match = SECTION_ID.fullmatch(section_id)
    if match is None:
        return None
    first, last = int(match["first"]), int(match["last"])
    if not 1 <= first <= last <= MAX_NOTIFICATION_ID:
        return None
    return first, last


@require_GET
@never_cache
@staff_feed
def notification_log(request: HttpRequest) -> HttpResponse:
    """The start of the log: a redirect to its first section."""
    size = site_bank.get_bank().accounts.notification_log.section_size
    first_section = LocalNotificationLog.format_section_id(1, size)
    return redirect("feed:log_section", section_id=first_section)


@require_GET
@never_cache
@staff_feed
def log_section(request: HttpRequest, section_id: str) -> HttpResponse:
    """One section of the Accounts notification log, as the library's JSON."""
    if parse_section_id(section_id) is None:
        return json_error(
            HTTPStatus.BAD_REQUEST,
            f"{section_id!r} is not a section id: give the first and last "
            "notification ids, such as '1,10' (1 <= first <= last).",
        )
    service = NotificationLogJSONService(site_bank.get_bank().accounts)
    body = service.get_log_section(section_id)
    return HttpResponse(body, content_type="application/json")
