"""URL routes for the whole site."""

from __future__ import annotations

from django.urls import path

from esbank_site import views

urlpatterns = [
    path("health/", views.health, name="health"),
]
