"""A request id on every request, on its response, and in its access log line.

An id is what ties a complaint ("my payment failed at 14:02") to the lines
the site logged for it. A proxy in front (a load balancer) may have given
the request one already in ``X-Request-ID``: a well-formed one (1 to 64
characters of letters, digits, ``.``, ``_`` and ``-``) is kept, so the
proxy's logs and the site's agree; anything else, which could forge or
split a log line, is replaced by a new uuid4 hex. The view sees it as
``request.id``; the response carries it back in ``X-Request-ID``, errors
included, since this middleware comes before every other.

Each request then logs one access line on ``esbank_site.access``: the
client's address as the site knows it (``addresses.client_address``,
through the site's own proxies), the method and path, the status, the time
taken and the id. gunicorn is run without its own access log, whose
address would be the proxy's.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING

from esbank_site.web.addresses import client_address

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

REQUEST_ID_HEADER = "X-Request-ID"
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("esbank_site.access")


def request_id_of(request: HttpRequest) -> str:
    """The id the request came with, if well formed; else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if WELL_FORMED_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request its id, send it back, and log the request's line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.monotonic()
        request_id = request_id_of(request)
        request.id = request_id  # type: ignore[attr-defined]
        # Django turns whatever the layers below raise into a response
        # (a 500 included), so every answer passes back through here.
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        access_log.info(
            '%s "%s %s" %s %.1fms id=%s',
            client_address(request),
            request.method,
            request.get_full_path(),
            response.status_code,
            (time.monotonic() - started) * 1000,
            request_id,
            extra={"request_id": request_id, "status_code": response.status_code},
        )
        return response
