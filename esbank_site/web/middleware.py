"""Site-wide answers that no single view should have to give.

Anonymous visitors are sent to the login page (htmx requests by
``HX-Redirect``, since a redirected fragment would swap the login page into a
panel). Database trouble becomes a 503 with ``Retry-After`` and a conflict
that outlived the bank's retries a 409: both are worth trying again, and
neither is a bug that deserves a 500.
"""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import psycopg
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as BaseLoginRequiredMiddleware,
)
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect
from eventsourcing.persistence import IntegrityError, PersistenceError

from accounts.errors import ConflictError
from esbank_site.web.guards import Guard

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse
    from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

# Seconds a client should wait before trying again after a 503.
RETRY_AFTER_SECONDS = 5

# What an unreachable, restarting or locked database raises, through the
# event store (wrapped by eventsourcing), through Django, or raw from a driver.
DATABASE_TROUBLE: tuple[type[BaseException], ...] = (
    PersistenceError,
    DjangoOperationalError,
    DjangoInterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    TimeoutError,
)


class LoginRequiredMiddleware(BaseLoginRequiredMiddleware):
    """Send anonymous visitors to the login page, htmx ones by HX-Redirect."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        # Django looks the user up first, which reads the session and user
        # tables; views open to everyone (the health check above all) must
        # still answer when the database does not, so they are let through
        # before that lookup.
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponseBase:
        if not getattr(request, "htmx", False):
            return super().handle_no_permission(request, view_func)
        # Come back to the page the fragment was part of, not the fragment.
        current = request.htmx.current_url_abs_path  # type: ignore[attr-defined]
        next_path = current or "/"
        login = redirect_to_login(
            next_path, self.get_login_url(view_func), REDIRECT_FIELD_NAME
        )
        return HttpResponseClientRedirect(login.url)


class BankTroubleMiddleware(Guard):
    """Answer 503 (database trouble) or 409 (conflict) instead of a 500."""

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        return trouble_response(request, exception)


def trouble_response(
    request: HttpRequest, exception: BaseException | None
) -> HttpResponse | None:
    """The 409 or 503 page for ``exception``, or None if it is not trouble."""
    if isinstance(exception, ConflictError | IntegrityError):
        return _trouble_page(request, HTTPStatus.CONFLICT, str(ConflictError()))
    if isinstance(exception, DATABASE_TROUBLE):
        logger.warning("Database trouble on %s: %r", request.path, exception)
        response = _trouble_page(
            request,
            HTTPStatus.SERVICE_UNAVAILABLE,
            "The bank cannot reach its records right now. "
            "Nothing was changed; please try again in a few seconds.",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return None


def _trouble_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A short page (or, for htmx, a notice) saying what went wrong."""
    is_htmx = bool(getattr(request, "htmx", False))
    template = "_trouble.html" if is_htmx else "trouble.html"
    context = {"status": status, "message": message, "retry": True}
    return render(request, template, context, status=status)
