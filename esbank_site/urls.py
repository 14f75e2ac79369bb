"""URL routes for the whole site."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from esbank_site.feed import page as feed_page
from esbank_site.web import event_pages, trace_pages, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("", include("ledger.urls")),
    path("staff/events/", event_pages.staff_events, name="staff_events"),
    path(
        "staff/events/latest/",
        event_pages.latest_events_hx,
        name="latest_events_hx",
    ),
    path(
        "staff/trace/<uuid:transaction_id>/",
        trace_pages.trace,
        name="trace",
    ),
    path("staff/feed/", feed_page.feed_page, name="feed_page"),
    path("staff/notifications/", include("esbank_site.feed.urls")),
    path("health/", views.health, name="health"),
]

handler500 = "esbank_site.web.views.server_error"
