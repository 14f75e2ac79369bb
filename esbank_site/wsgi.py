"""WSGI entry point (runserver, gunicorn esbank_site.wsgi)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esbank_site.settings")

application = get_wsgi_application()

# Start the bank now rather than on the first request: a wrong CIPHER_KEY
# or an unreachable database then stops the server with one clear error,
# instead of failing every page.
from esbank_site.bank import get_bank  # noqa: E402

get_bank()
