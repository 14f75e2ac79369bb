"""``manage.py run_processors [NAME ...]``: the followers as a long-lived process."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from esbank_site.bank import Bank
from esbank_site.persistence.environment import ConnectionSettings
from esbank_site.runtime.signals import stopping_on_signals
from esbank_site.runtime.workers import (
    DEFAULTS,
    UnknownFollowerError,
    WorkerOptions,
    run_processors,
    worker_count,
    worker_env,
)

# The options that tune each worker: flag, WorkerOptions field, type, help.
TUNING: list[tuple[str, str, type, str]] = [
    (
        "--poll-interval",
        "poll_interval",
        float,
        "seconds between pulls when no notification arrives",
    ),
    (
        "--standby-interval",
        "standby_interval",
        float,
        "seconds between a standby's attempts to take a follower over",
    ),
    (
        "--batch-size",
        "batch_size",
        int,
        "events processed between two checks of the lock and of stop",
    ),
    (
        "--gather",
        "gather_seconds",
        float,
        "seconds to let more commits land after a notification, before pulling "
        "them in one transaction (0: pull at once)",
    ),
    (
        "--progress-interval",
        "progress_interval",
        float,
        "seconds between progress lines of a follower catching up (0: none)",
    ),
    (
        "--progress-threshold",
        "progress_threshold",
        int,
        "events behind its leader from which a follower is catching up",
    ),
]


class Command(BaseCommand):
    help = (
        "Run the followers (all, or those named: ledger, transactions, "
        "accountslist) "
        "until SIGTERM or Ctrl-C. Needs PostgreSQL. Only one process at a "
        "time processes a given follower; a second one waits as a standby."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "names", nargs="*", metavar="NAME", help="followers to run (default: all)"
        )
        for flag, field, kind, help_text in TUNING:
            parser.add_argument(
                flag,
                dest=field,
                type=kind,
                default=getattr(DEFAULTS, field),
                help=help_text,
            )
        parser.add_argument(
            "--library-runner",
            action="store_true",
            help="run projections under the library's ProjectionRunner (one "
            "transaction per event) instead of in pulls",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = connections["default"].settings_dict
        connection_settings = ConnectionSettings.from_django()
        worker_options = WorkerOptions(
            names=tuple(options["names"]),
            library_runner=options["library_runner"],
            connect_timeout=connection_settings.connect_timeout,
            network_timeout=connection_settings.network_timeout,
            **{field: options[field] for _, field, _, _ in TUNING},
        )

        def build_bank() -> Bank:
            env = worker_env(
                database,
                connection_settings,
                workers=worker_count(worker_options.names),
                cipher_key=settings.ESBANK_CIPHER_KEY,
                compress=settings.ESBANK_COMPRESS_EVENTS,
            )
            return Bank(env, process_inline=False)

        with stopping_on_signals() as stopping:
            try:
                run_processors(database, build_bank, worker_options, stopping=stopping)
            except (ImproperlyConfigured, UnknownFollowerError) as error:
                raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS("Processors stopped."))
