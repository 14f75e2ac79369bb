"""The wiring: the bank's applications, their followers and projection, running.

``Bank`` builds the system (``system.py``) on the environment Django's
database gives (``persistence/environment.py``), and runs the followers and
the accounts list's projection through ``runtime/processing.py``: right
after each commit, at start, and on a timer.

The running bank of a process is built lazily, on first use (``get_bank``),
because in tests the database's real name is only known once pytest-django
has created the test database. Views and commands reach it through the
apps' own accessors (``accounts/services.py``, ``ledger/services.py``),
which ``settings.ESBANK_BANK`` points here.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured
from eventsourcing.system import (
    Follower,
    Leader,
    RecordingEvent,
    RecordingEventReceiver,
)

from esbank_site.persistence.environment import (
    check_events_are_readable,
    eventsourcing_env,
)
from esbank_site.persistence.read_models import construct_accounts_list
from esbank_site.persistence.schema import check_tables_are_migrated
from esbank_site.runtime.processing import (
    BaseProcessor,
    PollingThread,
    Processor,
    ProcessorStatus,
    ProjectionProcessor,
)
from esbank_site.system import BankSystem

if TYPE_CHECKING:
    from collections.abc import Mapping

    from eventsourcing.projection import Projection

    from accounts.application import Accounts
    from accounts.projections import AccountsListView
    from ledger.application import LedgerProcess, TransactionLogProcess
    from ledger.batches import BatchProcessApplication


class Bank(RecordingEventReceiver[Any]):
    """The running system: Accounts, its followers, and what runs them.

    ``process_inline`` runs the followers in the thread that saved, right
    after the commit, so a page rendered after a command already shows its
    effect on the ledger; any error there is caught and reported, never
    raised into the request. ``poll_interval`` adds a background thread that
    catches up on events written by other processes and retries failures.
    With both off (web processes beside ``run_processors``), this process
    only records commands and reads.

    The projections (read models such as the accounts list) are processed
    the same way, by a ``ProjectionProcessor`` each, beside the followers.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        process_inline: bool = True,
        poll_interval: float | None = None,
    ) -> None:
        self.env = dict(env)
        self.system = BankSystem()
        try:
            # The system wraps Accounts in the library's Leader class, which
            # calls back after each commit (see receive_recording_event).
            self._leader: Leader[Any] = self.system.leader_cls("Accounts")(env=env)
            self.followers: dict[str, BatchProcessApplication] = {
                name: cast(
                    "BatchProcessApplication", self.system.follower_cls(name)(env=env)
                )
                for name in self.system.followers
            }
        except ValueError as error:  # e.g. a CIPHER_KEY of the wrong size
            msg = f"The bank cannot start: {error}"
            raise ImproperlyConfigured(msg) from error
        self.accounts = cast("Accounts", self._leader)
        self._view_factory, self.accounts_list_projection = construct_accounts_list(env)
        self.projections: dict[str, Projection[Any]] = {
            self.accounts_list_projection.name: self.accounts_list_projection
        }
        self.processors: list[BaseProcessor] = [
            *(
                Processor(self.followers[follower], self.accounts)
                for _, follower in self.system.edges
            ),
            *(
                ProjectionProcessor(projection, self.accounts)
                for projection in self.projections.values()
            ),
        ]
        self.process_inline = process_inline
        self.poll_interval = poll_interval
        self._poller: PollingThread | None = None

    def start(self) -> None:
        """Check the stored events can be read, catch up on them, then follow."""
        self.check_events_are_readable()
        self._leader.lead(self)
        if self.process_inline or self.poll_interval:
            self.process_all()
        if self.poll_interval:
            self._poller = PollingThread(self.processors, self.poll_interval)
            self._poller.start()

    def check_events_are_readable(self) -> None:
        """Refuse to start with a CIPHER_KEY the stored events do not fit."""
        for app in [self.accounts, *self.followers.values()]:
            check_events_are_readable(app)

    def receive_recording_event(self, new_recording_event: RecordingEvent[Any]) -> None:
        """Called by Accounts after each commit."""
        if self.process_inline:
            self.process_all()

    def process_all(self, *, force: bool = False) -> None:
        """Bring every follower up to date (errors are reported, not raised)."""
        for processor in self.processors:
            processor.process(force=force)

    def wait_until_processed(self, timeout: float = 10.0) -> None:
        """Block until every follower is at the leader's head (for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process_all(force=True)
            if all(p.status().lag == 0 for p in self.processors):
                return
            time.sleep(0.01)
        statuses = ", ".join(f"{s.name} lag {s.lag}" for s in self.processor_status())
        msg = f"Followers did not catch up within {timeout}s: {statuses}"
        raise TimeoutError(msg)

    def processor_status(self) -> list[ProcessorStatus]:
        return [processor.status() for processor in self.processors]

    def ledger(self) -> LedgerProcess:
        return self.followers["Ledger"]  # type: ignore[return-value]

    def transaction_log(self) -> TransactionLogProcess:
        return self.followers["Transactions"]  # type: ignore[return-value]

    def accounts_list(self) -> AccountsListView:
        """The accounts list read model (see ``accounts.projections``)."""
        return self.accounts_list_projection.view

    def table_names(self) -> list[str]:
        """The tables the applications keep their events and positions in."""
        names = []
        for app in [self.accounts, *self.followers.values()]:
            names.append(app.recorder.events_table_name)  # type: ignore[attr-defined]
            if app.snapshots is not None:
                names.append(app.snapshots.recorder.events_table_name)  # type: ignore[attr-defined]
            if isinstance(app, Follower):
                names.append(app.recorder.tracking_table_name)  # type: ignore[attr-defined]
        return names

    def close(self) -> None:
        """Stop processing and close every database connection."""
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        for follower in self.followers.values():
            follower.close()
        self.accounts.close()
        self._view_factory.close()


def create_tables(database: Mapping[str, Any]) -> None:
    """Create every application's tables, once (called by a migration)."""
    Bank(eventsourcing_env(database, create_tables=True), process_inline=False).close()


def create_projection_tables(database: Mapping[str, Any]) -> None:
    """Create the projections' tables, once (called by a migration)."""
    factory, _ = construct_accounts_list(
        eventsourcing_env(database, create_tables=True)
    )
    factory.close()


@functools.cache
def get_bank() -> Bank:
    """The running bank of this process, built on first use."""
    from django.conf import settings  # noqa: PLC0415 (settings must be loaded)
    from django.db import connections  # noqa: PLC0415

    check_tables_are_migrated(connections["default"])
    env = eventsourcing_env(
        connections["default"].settings_dict,
        cipher_key=settings.ESBANK_CIPHER_KEY,
        compress=settings.ESBANK_COMPRESS_EVENTS,
    )
    # Read by Accounts, as the library's applications read their settings.
    env["MAX_OPEN_ACCOUNTS"] = str(settings.ESBANK_MAX_OPEN_ACCOUNTS)
    bank = Bank(
        env,
        process_inline=settings.ESBANK_PROCESS_INLINE,
        poll_interval=settings.ESBANK_POLL_INTERVAL,
    )
    bank.start()
    return bank


def close_bank() -> None:
    """Close the running bank, if any; the next ``get_bank()`` builds anew."""
    if get_bank.cache_info().currsize:
        get_bank().close()
    get_bank.cache_clear()
