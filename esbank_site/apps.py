"""The Django project's own app: holds the migration that creates event tables."""

from __future__ import annotations

from django.apps import AppConfig


class EsbankSiteConfig(AppConfig):
    name = "esbank_site"
    verbose_name = "Event Sourced Bank"
