"""The site's settings, with a password hasher fast enough for tests.

Everything else is ``esbank_site/settings.py`` as the site runs it. The
fixtures create users for nearly every view test, and PBKDF2 (Django's
default, deliberately slow) spent about a quarter of a second on each.
MD5 is unsafe for real passwords and fine for made-up ones; the default
hashers stay listed after it, so a hash made by the site itself still
verifies. Processes the suites start (gunicorn, run_processors) inherit
``DJANGO_SETTINGS_MODULE`` and use these settings too.
"""

import os
import secrets

from django.conf import global_settings

# A strong key when none is given (mypy's Django plugin loads these settings,
# pyproject.toml): the site refuses its public development key with DEBUG
# off. A test run's is set by tests/environment.py, before this.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

from esbank_site.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *global_settings.PASSWORD_HASHERS,
]
