"""URL routes for the whole site."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from esbank_site.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("", include("ledger.urls")),
    path("staff/notifications/", include("esbank_site.feed.urls")),
    path("health/", views.health, name="health"),
]

handler500 = "esbank_site.web.views.server_error"
