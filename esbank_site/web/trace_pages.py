"""Staff: one transaction's events in every application (``trace.py``).

``/staff/trace/<transaction_id>/`` lists them oldest first, each Accounts
event with whether each follower has processed it yet. While one has not,
the panel refreshes itself (htmx, every 2s); once all have, it stops.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import staff_required
from accounts.polling import polled
from accounts.reversal_views import reverse_panel
from esbank_site import bank as site_bank
from esbank_site.web.trace import read_trace

if TYPE_CHECKING:
    from uuid import UUID

    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest


@require_GET
@vary_on_headers("HX-Request")
@staff_required
@polled
def trace(request: HtmxHttpRequest, transaction_id: UUID) -> HttpResponse:
    """The transaction's trace; 404 saying so if no event of it is found."""
    found = read_trace(site_bank.get_bank(), transaction_id)
    if found is None:
        context = {"transaction_id": transaction_id}
        status = HTTPStatus.NOT_FOUND
        return render(request, "trace_not_found.html", context, status=status)
    fragment = request.htmx and not request.htmx.history_restore_request
    if fragment:
        return render(request, "_trace.html", {"trace": found})
    # The page, outside the panel that refreshes itself: the form to reverse it.
    movements = [
        (row.event.type, row.event.account_id)
        for row in found.rows
        if row.event.log == "accounts"
    ]
    panel = reverse_panel(transaction_id, movements)
    return render(request, "trace.html", {"trace": found, "reverse": panel})
