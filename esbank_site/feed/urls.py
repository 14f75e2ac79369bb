"""Routes of the staff notification feed, included at ``staff/notifications/``."""

from __future__ import annotations

from django.urls import path

from esbank_site.feed import views as feed

app_name = "feed"

urlpatterns = [
    path("", feed.notification_log, name="notification_log"),
    # str, not a stricter converter: a malformed id gets a JSON 400 that
    # says what a section id looks like, not the site's HTML 404 page.
    path("<str:section_id>/", feed.log_section, name="log_section"),
]
