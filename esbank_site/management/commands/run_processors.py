"""``manage.py run_processors [NAME ...]``: the followers as a long-lived process."""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from esbank_site.runtime import workers


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
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=workers.DEFAULT_POLL_INTERVAL,
            help="seconds between pulls when no notification arrives",
        )
        parser.add_argument(
            "--standby-interval",
            type=float,
            default=workers.DEFAULT_STANDBY_INTERVAL,
            help="seconds between a standby's attempts to take a follower over",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=workers.DEFAULT_BATCH_SIZE,
            help="events processed between two checks of the lock and of stop",
        )
        parser.add_argument(
            "--gather",
            type=float,
            default=workers.DEFAULT_GATHER_SECONDS,
            help="seconds to let more commits land after a notification, before "
            "pulling them in one transaction (0: pull at once)",
        )
        parser.add_argument(
            "--library-runner",
            action="store_true",
            help="run projections under the library's ProjectionRunner (one "
            "transaction per event) instead of in pulls",
        )
        parser.add_argument(
            "--progress-interval",
            type=float,
            default=workers.DEFAULT_PROGRESS_INTERVAL,
            help="seconds between progress lines of a follower catching up (0: none)",
        )
        parser.add_argument(
            "--progress-threshold",
            type=int,
            default=workers.DEFAULT_PROGRESS_THRESHOLD,
            help="events behind its leader from which a follower is catching up",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()
        workers.stop_on_signals(stopping)
        try:
            workers.run_processors(
                connections["default"].settings_dict,
                options["names"],
                stopping=stopping,
                poll_interval=options["poll_interval"],
                standby_interval=options["standby_interval"],
                batch_size=options["batch_size"],
                gather_seconds=options["gather"],
                library_runner=options["library_runner"],
                progress_interval=options["progress_interval"],
                progress_threshold=options["progress_threshold"],
            )
        except (ImproperlyConfigured, workers.UnknownFollowerError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS("Processors stopped."))
