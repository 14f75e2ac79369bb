"""Input no field of the bank can hold, refused at the edge: the NUL character.

PostgreSQL's text values cannot contain NUL (U+0000). Sent in a search
(``/accounts/panel/?q=%00``), a form value, a cookie or the username of
HTTP Basic credentials, one reached the driver, which refused the whole
query: the page answered 503 "cannot reach its records" and logged database
trouble, and an HTTP Basic login to the feed was a 500, before anyone had
signed in. No name, reference, search, token or password of the bank has a
use for NUL, so ``NulCharacterGuardMiddleware`` answers any request carrying
one 400 with a sentence saying so, before any view or database sees it.

It looks at the query string, the cookies and HTTP Basic credentials as the
request arrives, and at a POSTed form only once ``LoginRequiredMiddleware``
has let the request through (so it stands after that middleware): an
anonymous visitor is sent to log in before the body is read, as before.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.http import JsonResponse
from django.shortcuts import render

from esbank_site.web.guards import Guard

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest, HttpResponse, QueryDict

NUL = "\x00"
MESSAGE = (
    "The request contains a NUL character (U+0000), which no field of the bank "
    "accepts. Nothing was changed."
)


class NulCharacterGuardMiddleware(Guard):
    """Answer 400 to a request whose query, cookies, credentials or form hold NUL."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = nul_before_the_body(request)
        if where is not None:
            return refusal(request, where)
        return self.get_response(request)

    def before_view(self, request: HttpRequest) -> HttpResponse | None:
        if request.method == "POST" and holds_nul(request.POST):
            return refusal(request, "form")
        return None


def nul_before_the_body(request: HttpRequest) -> str | None:
    """Where NUL is in the query string, cookies or Basic credentials; or None."""
    if holds_nul(request.GET):
        return "query string"
    if any(NUL in name or NUL in value for name, value in request.COOKIES.items()):
        return "cookies"
    if NUL in basic_credentials(request):
        return "credentials"
    return None


def holds_nul(data: QueryDict) -> bool:
    """Whether any name or value of a query string or form holds NUL."""
    return any(NUL in name or _any_nul(values) for name, values in data.lists())


def _any_nul(values: Iterable[object]) -> bool:
    return any(isinstance(value, str) and NUL in value for value in values)


def basic_credentials(request: HttpRequest) -> str:
    """The decoded ``user:password`` of an HTTP Basic header ('' if none)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def refusal(request: HttpRequest, where: str) -> HttpResponse:
    """The 400: JSON for a machine sending credentials, else a page or a notice."""
    status = HTTPStatus.BAD_REQUEST
    response: HttpResponse
    if "Authorization" in request.headers:
        response = JsonResponse({"error": MESSAGE}, status=status)
    else:
        is_htmx = request.headers.get("HX-Request") == "true"
        template = "_trouble.html" if is_htmx else "400.html"
        context = {"status": status, "message": MESSAGE}
        response = render(request, template, context, status=status)
    return response
