"""The Django project's own app: holds the migration that creates event tables."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.core import checks

from esbank_site.web.addresses import check_proxy_count


class EsbankSiteConfig(AppConfig):
    name = "esbank_site"
    verbose_name = "Event Sourced Bank"

    def ready(self) -> None:
        # migrate, check and run_processors refuse to go on behind an HTTPS
        # proxy whose count was never given (esbank_site/web/addresses.py).
        checks.register(check_proxy_count, checks.Tags.security)
        # A new session's idle clock starts at login. Imported here: the
        # module reads the auth models, which are loaded only by now.
        from esbank_site.web.sessions import start_the_clock  # noqa: PLC0415

        user_logged_in.connect(start_the_clock, dispatch_uid="esbank-idle-clock")
