"""The site's URLs, the conventional bank's beside them, and the fragment ceiling."""

from __future__ import annotations

from django.urls import include, path

from bench.ceiling import urlpatterns as ceiling_urlpatterns
from esbank_site.urls import handler500
from esbank_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("conventional/", include("bench.conventional.urls")),
    # A deposit's path through the site with no bank behind it (bench/ceiling.py).
    *ceiling_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
