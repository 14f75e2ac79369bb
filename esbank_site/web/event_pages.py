"""Staff: every event the bank records, as it is recorded.

``/staff/events/`` pages through every application's notification log
merged, newest first (``event_stream.py``), filtered by application
(``?app=``) and by event type (``?type=``). The newest page refreshes itself
by polling; ``?before=`` and ``?after=`` (cursors) name older and newer
pages, which stay as they are. The staff dashboard shows the latest few.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import staff_required
from accounts.polling import polled
from esbank_site import bank as site_bank
from esbank_site.web.event_stream import (
    Cursor,
    CursorError,
    EventStream,
    Log,
    bank_logs,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest

EVENTS_PER_PAGE = 50
# Events on the staff dashboard's panel.
LATEST_EVENTS = 10
# What a cursor is written with in a URL, left as it is for reading.
CURSOR_SAFE = ":,"


class EventFilterForm(forms.Form):
    """Which application's events, and which type, the stream shows (all if none)."""

    app = forms.ChoiceField(
        required=False,
        label="Application",
        error_messages={
            "invalid_choice": "%(value)s is not one of the bank's applications."
        },
    )
    type = forms.ChoiceField(
        required=False,
        label="Event type",
        error_messages={
            "invalid_choice": "No application of the bank records %(value)s events."
        },
    )

    def __init__(self, data: Any, logs: Sequence[Log]) -> None:
        super().__init__(data)
        self.logs = {log.key: log for log in logs}
        self.fields["app"].choices = [  # type: ignore[attr-defined]
            ("", "All applications"),
            *((log.key, log.name) for log in logs),
        ]
        self.fields["type"].choices = [  # type: ignore[attr-defined]
            ("", "All types"),
            *((log.name, log.type_labels()) for log in logs),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        app, type_name = cleaned.get("app"), cleaned.get("type")
        if app and type_name and not self.logs[app].topics_of(type_name):
            name = self.logs[app].name
            self.add_error("type", f"{name} records no {type_name} events.")
        return cleaned

    def chosen(self) -> tuple[list[Log], str]:
        """The logs in view and the type asked for, leaving out what was refused."""
        app = self.cleaned_data.get("app") or ""
        logs = [self.logs[app]] if app else list(self.logs.values())
        return logs, self.cleaned_data.get("type") or ""

    def query(self) -> dict[str, str]:
        """The accepted filters, as query parameters."""
        return {
            name: self.cleaned_data[name]
            for name in ("app", "type")
            if self.cleaned_data.get(name)
        }


@require_GET
@vary_on_headers("HX-Request")
@staff_required
@polled
def staff_events(request: HtmxHttpRequest) -> HttpResponse:
    """Every recorded event, newest first, filtered and a page at a time.

    A refused filter is 422, saying why, with the events the rest of the
    filters allow; a malformed cursor is 400, with a link to the newest.
    """
    form = EventFilterForm(request.GET, bank_logs(site_bank.get_bank()))
    valid = form.is_valid()
    logs, type_name = form.chosen()
    stream = EventStream(logs, type_name)
    query = form.query()
    try:
        cursor = page_cursor(request, stream.keys) if valid else None
    except CursorError as error:
        return bad_cursor(request, str(error), query)
    page = stream.page(cursor, size=EVENTS_PER_PAGE)
    context = {
        "form": form,
        "page": page,
        "events_url": events_url(query),
        "older_url": page.older and events_url(query, before=page.older),
        "newer_url": page.newer and events_url(query, after=page.newer),
        "filtered": bool(query),
    }
    status = HTTPStatus.OK if valid else HTTPStatus.UNPROCESSABLE_ENTITY
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "_event_stream.html" if fragment else "event_stream.html"
    return render(request, template, context, status=status)


@require_GET
@staff_required
@polled
def latest_events_hx(request: HtmxHttpRequest) -> HttpResponse:
    """The staff dashboard's panel of the latest events, refreshed in place."""
    return render(request, "_latest_events.html", latest_events_context())


def latest_events_context() -> dict[str, Any]:
    """The newest events of every application, for the staff dashboard."""
    stream = EventStream(bank_logs(site_bank.get_bank()))
    return {"latest_events": stream.page(size=LATEST_EVENTS).events}


def page_cursor(request: HtmxHttpRequest, keys: Sequence[str]) -> Cursor | None:
    """The cursor of ``?before=`` or ``?after=``, if one is given."""
    before, after = request.GET.get("before"), request.GET.get("after")
    if before is not None and after is not None:
        msg = "A page starts before a page position or after one, not both."
        raise CursorError(msg)
    if before is not None:
        return Cursor.parse(before, keys)
    if after is not None:
        return Cursor.parse(after, keys, newer=True)
    return None


def events_url(
    query: dict[str, str],
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> str:
    """The stream's URL with these filters, at this cursor (if any)."""
    params = dict(query)
    if before is not None:
        params["before"] = str(before)
    if after is not None:
        params["after"] = str(after)
    url = reverse("staff_events")
    return f"{url}?{urlencode(params, safe=CURSOR_SAFE)}" if params else url


def bad_cursor(
    request: HtmxHttpRequest, message: str, query: dict[str, str]
) -> HttpResponse:
    """400: the page position given is not one; a link to the newest events."""
    status = HTTPStatus.BAD_REQUEST
    context = {"status": status, "message": message}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "_trouble.html", context, status=status)
    context["events_url"] = events_url(query)
    return render(request, "event_stream_bad_cursor.html", context, status=status)
