"""``manage.py rebuild_projection NAME``: replay one read model from the events."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from esbank_site import bank as site_bank
from esbank_site.operations.rebuild import UnknownProjectionError, rebuild_projection
from esbank_site.runtime.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Drop one projection's read model (e.g. AccountsList) and replay it "
        "from every Accounts event, while the site keeps serving: the replay "
        "fills fresh tables, which replace the live ones in one transaction "
        "at the end; until then pages read the old ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="the projection to rebuild")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="notifications read per query (default 500)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            msg = "--batch-size must be at least 1."
            raise CommandError(msg)
        bank = site_bank.get_bank()

        def progress(position: int, head: int) -> None:
            self.stdout.write(f"\r{progress_bar(position, head)}", ending="")

        try:
            result = rebuild_projection(
                bank,
                options["name"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except UnknownProjectionError as error:
            raise CommandError(str(error)) from error
        if result.events:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {result.name}: {result.events} events replayed in "
                f"{result.seconds:.1f}s ({result.events_per_second:,.0f} events/s); "
                f"it reflects position {result.position} and is live."
            )
        )
