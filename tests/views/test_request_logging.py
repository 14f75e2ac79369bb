"""A refused request logs one line, without a traceback; a 500 keeps its own.

Django logs 4xx answers on ``django.request`` and ``django.security``, with
the exception that made them attached. The site's console handler (as
``LOGGING`` configures it) formats those records: each must come out as a
single line with no traceback.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus

import pytest

from esbank_site.web.request_logging import ClientErrorFormatter


def console() -> logging.Handler:
    """The handler ``LOGGING`` names "console"."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    return handler


def test_the_console_handler_formats_refused_requests_as_one_line():
    assert isinstance(console().formatter, ClientErrorFormatter)


def test_refused_requests_log_one_line_without_a_traceback(
    alice_client, bob_client, alice_account, caplog
):
    caplog.set_level(logging.WARNING)
    asked = {
        # BadRequest from a view: a statement page that is not a number.
        f"/accounts/{alice_account}/?before=x": HTTPStatus.BAD_REQUEST,
        # PermissionDenied: a customer at a staff page.
        f"/staff/accounts/{alice_account}/events/": HTTPStatus.FORBIDDEN,
        # Http404: another customer's account.
        f"/accounts/{alice_account}/summary/": HTTPStatus.NOT_FOUND,
    }
    for path, status in asked.items():
        client = bob_client if "summary" in path else alice_client
        assert client.get(path).status_code == status, path
    # RequestDataTooBig, logged on django.security.
    too_big = alice_client.post(
        f"/accounts/{alice_account}/deposit/",
        b"amount=1.00&description=" + b"x" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert too_big.status_code == HTTPStatus.BAD_REQUEST
    records = [
        r
        for r in caplog.records
        if r.name == "django.request" or r.name.startswith("django.security.")
    ]
    assert {r.status_code for r in records} == {400, 403, 404}  # type: ignore[attr-defined]
    assert any(r.exc_info for r in records)  # Django did attach exceptions
    lines = [console().format(record) for record in records]
    for line in lines:
        assert "\n" not in line, line
        assert "Traceback" not in line, line
    print("\n".join(f"logged: {line[:100]}" for line in lines))


def test_a_server_error_keeps_its_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/",),
            sys.exc_info(),
            extra={"status_code": 500},
        )
    text = console().format(record)
    assert "Traceback" in text
    assert "ValueError: boom" in text


@pytest.mark.parametrize("status", [400, 404, 429])
def test_line_breaks_in_a_refused_requests_message_are_escaped(status):
    record = logging.makeLogRecord(
        {"msg": "Invalid HTTP_HOST header: 'a\nb\r\nc'", "status_code": status}
    )
    assert console().format(record) == ("Invalid HTTP_HOST header: 'a\\nb\\r\\nc'")
