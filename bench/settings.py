"""The site's settings, plus the conventional bank the benchmarks compare with.

``DJANGO_SETTINGS_MODULE=bench.settings`` serves both banks from the same
processes and database: the site's URLs unchanged, and the conventional
bank's under ``/conventional/``. The site itself never installs it.
"""

from __future__ import annotations

from esbank_site.settings import *  # noqa: F403
from esbank_site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.conventional.apps.ConventionalConfig"]
ROOT_URLCONF = "bench.urls"

# Benchmark users sign in through sessions made by the harness; their
# passwords are never checked, so the cheapest hasher will do.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
