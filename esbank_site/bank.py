"""The one bridge between Django and eventsourcing.

``DATABASES["default"]`` is translated into an eventsourcing environment, so
the events live in the very database Django is configured with: the SQLite
file (through ``esbank_site.persistence.sqlite_tables``, eventsourcing's SQLite module
with a table set per application) or the PostgreSQL database (through
``esbank_site.persistence.postgres_recorders``, eventsourcing's PostgreSQL module giving
up on a lock after the lock timeout). The running bank is built lazily, on first use,
because in tests the database's real name is only known once pytest-django
has created the test database.
"""

from __future__ import annotations

import functools
import os
import time
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.system import (
    Follower,
    Leader,
    RecordingEvent,
    RecordingEventReceiver,
)
from eventsourcing.utils import Environment

from accounts.projections import AccountsListProjection, AccountsListView
from esbank_site.persistence import postgres_recorders
from esbank_site.persistence.read_models import accounts_list_view_class
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
    from ledger.application import LedgerProcess, TransactionLogProcess
    from ledger.batches import BatchProcessApplication

# How long a command waits for a locked table before the request gives up
# (answered with 503), and how long to wait for a PostgreSQL connection.
# The library's defaults are to wait forever and 30 seconds.
DEFAULT_LOCK_TIMEOUT_SECONDS = 5
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5

SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRES_ENGINE = "django.db.backends.postgresql"


def eventsourcing_env(
    database: Mapping[str, Any],
    *,
    create_tables: bool = False,
    cipher_key: str = "",
    compress: bool = False,
) -> dict[str, str]:
    """The eventsourcing environment for one of Django's ``DATABASES`` entries.

    With ``cipher_key``, the state of every stored event and snapshot is
    encrypted with AES-GCM (topics, ids and versions stay readable); with
    ``compress``, it is zlib-compressed first. Both are always set, so a
    stray CIPHER_KEY in the process environment cannot switch them on.
    """
    lock_timeout = os.environ.get(
        "ESBANK_DB_LOCK_TIMEOUT", str(DEFAULT_LOCK_TIMEOUT_SECONDS)
    )
    env = {
        "CREATE_TABLE": "yes" if create_tables else "no",
        # Seal each event's state to its row (see persistence/row_binding.py).
        "MAPPER_TOPIC": "esbank_site.persistence.row_binding:RowBindingMapper",
        "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher" if cipher_key else "",
        "CIPHER_KEY": cipher_key,
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"
        if compress
        else "",
    }
    if database["ENGINE"] == SQLITE_ENGINE:
        env |= {
            "PERSISTENCE_MODULE": "esbank_site.persistence.sqlite_tables:Factory",
            "SQLITE_DBNAME": str(database["NAME"]),
            "SQLITE_LOCK_TIMEOUT": lock_timeout,
        }
    elif database["ENGINE"] == POSTGRES_ENGINE:
        env |= {
            "PERSISTENCE_MODULE": postgres_recorders.TOPIC,
            "POSTGRES_DBNAME": str(database["NAME"]),
            "POSTGRES_HOST": str(database.get("HOST") or "localhost"),
            "POSTGRES_PORT": str(database.get("PORT") or "5432"),
            "POSTGRES_USER": str(database.get("USER") or ""),
            "POSTGRES_PASSWORD": str(database.get("PASSWORD") or ""),
            "POSTGRES_LOCK_TIMEOUT": lock_timeout,
            "POSTGRES_CONNECT_TIMEOUT": os.environ.get(
                "ESBANK_DB_CONNECT_TIMEOUT", str(DEFAULT_CONNECT_TIMEOUT_SECONDS)
            ),
        }
    else:
        msg = f"The bank runs on SQLite or PostgreSQL, not {database['ENGINE']}."
        raise ImproperlyConfigured(msg)
    return env


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
            self._construct_applications(env)
        except ValueError as error:  # e.g. a CIPHER_KEY of the wrong size
            msg = f"The bank cannot start: {error}"
            raise ImproperlyConfigured(msg) from error
        self._view_factory, self.accounts_list_projection = construct_projection(
            AccountsListProjection, env
        )
        self.projections: dict[str, Projection[Any]] = {
            AccountsListProjection.name: self.accounts_list_projection
        }
        self.processors: list[BaseProcessor] = [
            *(
                Processor(self.followers[follower], self.accounts)
                for leader, follower in self.system.edges
            ),
            *(
                ProjectionProcessor(projection, self.accounts)
                for projection in self.projections.values()
            ),
        ]
        self.process_inline = process_inline
        self.poll_interval = poll_interval
        self._poller: PollingThread | None = None

    def _construct_applications(self, env: Mapping[str, str]) -> None:
        # The system wraps Accounts in the library's Leader class, which
        # calls back after each commit (see receive_recording_event).
        self._leader: Leader[Any] = self.system.leader_cls("Accounts")(env=dict(env))
        self.accounts = cast("Accounts", self._leader)
        # Each records a pull of notifications in one transaction.
        self.followers: dict[str, BatchProcessApplication] = {
            name: cast(
                "BatchProcessApplication", self.system.follower_cls(name)(env=dict(env))
            )
            for name in self.system.followers
        }

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
        """Decode each application's latest event, or refuse to start.

        A wrong CIPHER_KEY (or encrypted events read without one, or the
        other way round) is then one clear error when the process starts,
        not a failure on every page.
        """
        for app in [self.accounts, *self.followers.values()]:
            head = app.recorder.max_notification_id()
            if not head:
                continue
            [latest] = app.recorder.select_notifications(head, 1)
            try:
                app.mapper.to_domain_event(latest)
            except Exception as error:
                msg = (
                    f"The stored events of {app.name} cannot be read with this "
                    "configuration: check CIPHER_KEY and ESBANK_COMPRESS_EVENTS "
                    f"({type(error).__name__}: {error})."
                )
                raise ImproperlyConfigured(msg) from error

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
    bank = Bank(eventsourcing_env(database, create_tables=True), process_inline=False)
    bank.close()


def construct_projection(
    projection_class: type[AccountsListProjection], env: Mapping[str, str]
) -> tuple[InfrastructureFactory[AccountsListView], AccountsListProjection]:
    """A projection and the factory of its view, built as ``ProjectionRunner`` does.

    The factory's environment is named after the projection, so its tables
    are too (``accountslist_tracking``, ``accountslist_rows``), and so are
    settings meant for it alone (``ACCOUNTSLIST_POSTGRES_POOL_SIZE``). It
    creates the tables only when ``CREATE_TABLE`` says so. Close the factory
    to close the view's connections.
    """
    # One connection at a time is the view's usual need (its processor, or a
    # page); the pool still grows under load, up to POSTGRES_MAX_OVERFLOW.
    pool_size = {f"{projection_class.name.upper()}_POSTGRES_POOL_SIZE": "1"}
    factory = InfrastructureFactory[AccountsListView].construct(
        Environment(projection_class.name, pool_size | dict(env))
    )
    view = factory.tracking_recorder(accounts_list_view_class(env))
    return factory, projection_class(view=view)


def create_projection_tables(database: Mapping[str, Any]) -> None:
    """Create the projections' tables, once (called by a migration)."""
    factory, _ = construct_projection(
        AccountsListProjection, eventsourcing_env(database, create_tables=True)
    )
    factory.close()


@functools.cache
def get_bank() -> Bank:
    """The running bank of this process, built on first use."""
    from django.conf import settings  # noqa: PLC0415 (settings must be loaded)
    from django.db import connections  # noqa: PLC0415

    check_tables_are_migrated(connections["default"])
    bank = Bank(
        eventsourcing_env(
            connections["default"].settings_dict,
            cipher_key=settings.ESBANK_CIPHER_KEY,
            compress=settings.ESBANK_COMPRESS_EVENTS,
        ),
        process_inline=settings.ESBANK_PROCESS_INLINE,
        poll_interval=settings.ESBANK_POLL_INTERVAL,
    )
    bank.start()
    return bank


def check_tables_are_migrated(connection: Any) -> None:
    """Refuse to build the bank before ``manage.py migrate`` made its tables.

    Not only would the first command fail: the PostgreSQL module looks up
    its composite types once, when the bank is built, so a process started
    before the migration would fail every insert until it restarted.
    """
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415

    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes("esbank_site")
    if executor.migration_plan(targets):
        msg = "The bank's tables are not there yet: run `manage.py migrate` first."
        raise ImproperlyConfigured(msg)


def close_bank() -> None:
    """Close the running bank, if any; the next ``get_bank()`` builds anew."""
    if get_bank.cache_info().currsize:
        get_bank().close()
    get_bank.cache_clear()


def accounts() -> Accounts:
    return get_bank().accounts


def ledger() -> LedgerProcess:
    return get_bank().ledger()


def transaction_log() -> TransactionLogProcess:
    return get_bank().transaction_log()


def accounts_list() -> AccountsListView:
    return get_bank().accounts_list()
