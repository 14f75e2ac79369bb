"""``manage.py follow_notifications URL``: follow a bank's log over HTTP."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)

from esbank_site.feed.client import FeedError, RemoteNotificationLog
from esbank_site.feed.follower import (
    Mirror,
    MirrorError,
    Progress,
    accounts_mapper,
    describe,
    follow_log,
)
from esbank_site.runtime.signals import stopping_on_signals

if TYPE_CHECKING:
    from collections.abc import Iterator

    from eventsourcing.persistence import Notification

# The name of an environment variable, not a password.
DEFAULT_PASSWORD_ENV = "ESBANK_FEED_PASSWORD"  # noqa: S105

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


EXAMPLES = """\
examples:
  read the whole log once (the password of the staff user in the environment):
    export ESBANK_FEED_PASSWORD
    manage.py follow_notifications https://bank.example/staff/notifications/ \\
        --user staff

  keep a copy up to date until Ctrl-C or SIGTERM; run again to resume it:
    manage.py follow_notifications https://bank.example/staff/notifications/ \\
        --user staff --follow --mirror accounts.jsonl

  from notification 500 on, the password in another variable:
    manage.py follow_notifications https://bank.example/staff/notifications/ \\
        --user staff --password-env BANK_FEED_PW --from 500

Exits 0 at the end of the log or when stopped; 1 with a message on any error
(unreachable URL, refused credentials, not staff, not a notification log).
"""


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the help's own line breaks kept."""


class Command(BaseCommand):
    help = (
        "Follow the Accounts notification log of a bank over HTTP, from another\n"
        "process or machine. Print each event: its position in the log, topic,\n"
        "account id and version, and its state decoded as JSON; with --mirror,\n"
        "also append it to a JSON-lines file.\n\n"
        "URL is the bank's staff feed (/staff/notifications/). --user names a\n"
        "staff user; the password is read from an environment variable, never\n"
        "from the command line, where any process list would show it. Events\n"
        "encrypted or compressed at rest are decoded with this process's\n"
        "CIPHER_KEY and ESBANK_COMPRESS_EVENTS, which must match the bank's."
    )

    def create_parser(
        self, prog_name: str, subcommand: str, **kwargs: Any
    ) -> CommandParser:
        parser = super().create_parser(
            prog_name, subcommand, formatter_class=HelpFormatter, **kwargs
        )
        parser.epilog = EXAMPLES
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url",
            metavar="URL",
            help="the staff feed: https://HOST/staff/notifications/",
        )
        parser.add_argument("--user", required=True, help="a staff user's username")
        parser.add_argument(
            "--password-env",
            default=DEFAULT_PASSWORD_ENV,
            metavar="VAR",
            help="environment variable holding the password (default: %(default)s)",
        )
        parser.add_argument(
            "--from",
            dest="start",
            type=int,
            metavar="N",
            help="first notification to read (default: 1, or after the mirror's last)",
        )
        parser.add_argument(
            "--follow",
            action="store_true",
            help="at the end of the log, poll for new events until Ctrl-C or SIGTERM",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="with --follow, seconds between polls (default: %(default)s)",
        )
        parser.add_argument(
            "--mirror",
            type=Path,
            metavar="PATH",
            help="also append each notification to this JSON-lines file, as the feed "
            "serialises it; run again to resume from its last line",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="seconds to wait for each answer from the bank (default: 10)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = self.password(options["password_env"], options["user"])
        self.warn_if_unencrypted(options["url"])
        try:
            log = RemoteNotificationLog.over_http(
                options["url"], options["user"], password, timeout=options["timeout"]
            )
        except FeedError as error:
            raise CommandError(str(error)) from error
        with self.opened_mirror(options["mirror"]) as mirror:
            start = self.start(options["start"], mirror)
            progress = self.follow(log, start, mirror, options)
        self.stdout.write(self.style.SUCCESS(summary(progress, mirror)))

    def password(self, variable: str, user: str) -> str:
        """The password, from the environment only, so no process list shows it."""
        password = os.environ.get(variable, "")
        if not password:
            msg = (
                f"Set the environment variable {variable} to the password of "
                f"{user!r} (or name another one with --password-env)."
            )
            raise CommandError(msg)
        return password

    def warn_if_unencrypted(self, url: str) -> None:
        """Basic credentials over plain HTTP are readable on the network."""
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            self.stderr.write(
                self.style.WARNING(
                    f"{url} is not HTTPS: the password crosses the network in clear."
                )
            )

    @contextlib.contextmanager
    def opened_mirror(self, path: Path | None) -> Iterator[Mirror | None]:
        """The mirror file, if asked for, its torn last line cut and reported."""
        if path is None:
            yield None
            return
        try:
            mirror = Mirror.open(path)
        except (MirrorError, OSError) as error:
            raise CommandError(str(error)) from error
        if mirror.discarded_bytes:
            self.stderr.write(
                self.style.WARNING(
                    f"Cut a torn last line ({mirror.discarded_bytes} bytes) from "
                    f"{path}; that notification is read again."
                )
            )
        try:
            yield mirror
        finally:
            mirror.close()

    def start(self, start: int | None, mirror: Mirror | None) -> int:
        """Where to read from: after the mirror's last line, else --from, else 1."""
        if start is not None and start < 1:
            msg = "--from counts notifications from 1."
            raise CommandError(msg)
        if mirror is None or mirror.last_id is None:
            return start or 1
        resume = mirror.last_id + 1
        if start is not None and start != resume:
            msg = (
                f"{mirror.path} ends at notification {mirror.last_id}, so it "
                f"resumes from {resume}, not {start}: leave out --from."
            )
            raise CommandError(msg)
        return resume

    def follow(
        self,
        log: RemoteNotificationLog,
        start: int,
        mirror: Mirror | None,
        options: dict[str, Any],
    ) -> Progress:
        """Print (and mirror) every notification from ``start``."""
        mapper = accounts_mapper(
            cipher_key=settings.ESBANK_CIPHER_KEY,
            compress=settings.ESBANK_COMPRESS_EVENTS,
        )

        def on_notification(notification: Notification) -> None:
            if mirror is not None:
                mirror.append(notification)
            self.stdout.write(describe(notification, mapper))
            self.stdout.flush()

        def on_retry(error: FeedError) -> None:
            self.stderr.write(
                self.style.WARNING(
                    f"{error} Trying again in {options['poll_interval']} s."
                )
            )

        with stopping_on_signals() as stopping:
            try:
                return follow_log(
                    log,
                    start=start,
                    on_notification=on_notification,
                    stopping=stopping,
                    follow=options["follow"],
                    poll_interval=options["poll_interval"],
                    on_retry=on_retry,
                )
            except (FeedError, MirrorError) as error:
                raise CommandError(str(error)) from error


def summary(progress: Progress, mirror: Mirror | None) -> str:
    """What the run read, where it stopped, and where the mirror ends."""
    if progress.count:
        noun = "notification" if progress.count == 1 else "notifications"
        text = f"Read {progress.count} {noun}, up to {progress.last_id}."
    else:
        text = "No new notifications."
    if progress.stopped:
        text = f"Stopped. {text}"
    if mirror is not None:
        text += f" {mirror.path} ends at notification {mirror.last_id or 0}."
    return text
