"""The feed's page for people: what the JSON feed is, and where it starts.

The feed itself (``views.py``) is for machines and answers JSON only; this
page, in the site's frame, says what it serves and links to its first
section and to the one holding the newest notification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.shortcuts import render
from django.views.decorators.http import require_GET
from eventsourcing.application import LocalNotificationLog

from accounts.http import staff_required
from esbank_site import bank as site_bank

if TYPE_CHECKING:
    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest


@require_GET
@staff_required
def feed_page(request: HtmxHttpRequest) -> HttpResponse:
    """Staff: the feed explained, with links to its first and current sections."""
    accounts = site_bank.get_bank().accounts
    size = accounts.notification_log.section_size
    head = accounts.recorder.max_notification_id() or 0
    # The section holding the newest notification (the first, if none yet).
    current_first = (max(head, 1) - 1) // size * size + 1
    context = {
        "section_size": size,
        "head": head,
        "first_section": LocalNotificationLog.format_section_id(1, size),
        "current_section": LocalNotificationLog.format_section_id(
            current_first, current_first + size - 1
        ),
    }
    return render(request, "feed.html", context)
