"""The site's URLs, and the conventional bank's beside them."""

from __future__ import annotations

from django.urls import include, path

from esbank_site.urls import handler500
from esbank_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("conventional/", include("bench.conventional.urls")),
]

__all__ = ["handler500", "urlpatterns"]
