from __future__ import annotations

from django.apps import AppConfig


class ConventionalConfig(AppConfig):
    name = "bench.conventional"
    label = "conventional"
    default_auto_field = "django.db.models.BigAutoField"
