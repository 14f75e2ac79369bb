"""Log lines for refused requests: one line each, no traceback.

Django logs every 4xx answer (``django.request``, and ``django.security``
for a suspicious one such as an oversized body), and when an exception made
the answer it attaches the exception: a ``BadRequest`` from a hand-edited
URL, a ``PermissionDenied``, a ``RequestDataTooBig`` each filled the log with
a traceback of Django's own code. A refused request is the client's
mistake, not the bank's; the traceback says nothing an operator needs, and
a flood of bad requests would bury the tracebacks that do (5xx, which keep
theirs). Logged with the request's own text, a line could also be split in
two by a newline in it.

``ClientErrorFormatter`` is the formatter of the site's console handler
(``LOGGING`` in ``esbank_site/settings.py``): for a record of a 4xx answer
(Django puts ``status_code`` on it) it leaves out the exception and any
stack, and escapes line breaks, on a copy, so other handlers still get the
record whole.
"""

from __future__ import annotations

import logging
from http import HTTPStatus


class ClientErrorFormatter(logging.Formatter):
    """Format 4xx records as one line without a traceback; others as usual."""

    def format(self, record: logging.LogRecord) -> str:
        if not is_client_error(record):
            return super().format(record)
        copy = logging.makeLogRecord(record.__dict__)
        copy.exc_info = None
        copy.exc_text = None
        copy.stack_info = None
        line = super().format(copy)
        return line.replace("\r", "\\r").replace("\n", "\\n")


def is_client_error(record: logging.LogRecord) -> bool:
    """Whether ``record`` reports a 4xx answer to a request."""
    status = getattr(record, "status_code", None)
    return isinstance(status, int) and (
        HTTPStatus.BAD_REQUEST <= status < HTTPStatus.INTERNAL_SERVER_ERROR
    )
