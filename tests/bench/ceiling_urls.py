"""The site's URLs and the fragment ceiling's, without the conventional bank.

``bench/urls.py`` adds the conventional bank too, whose models only
``bench.settings`` installs; the tests run under the site's settings.
"""

from __future__ import annotations

from bench.ceiling import urlpatterns as ceiling_urlpatterns
from esbank_site.urls import handler500
from esbank_site.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, *ceiling_urlpatterns]

__all__ = ["handler500", "urlpatterns"]
