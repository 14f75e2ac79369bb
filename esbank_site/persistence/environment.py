"""Django's database settings, turned into an eventsourcing environment.

The library configures an application from an environment: a mapping of
names such as ``PERSISTENCE_MODULE`` and ``POSTGRES_DBNAME`` to strings.
``eventsourcing_env`` builds one from an entry of Django's ``DATABASES``, so
the events live in the very database Django is configured with: the SQLite
file, through ``sqlite_tables`` (eventsourcing's SQLite module with a table
set per application), or the PostgreSQL database, through
``postgres_recorders`` (eventsourcing's PostgreSQL module, giving up on a
lock after the lock timeout).

Timeouts and pool sizes come from Django's settings (``ConnectionSettings``),
which read them once from the process environment: Django's own
connections, the event store and ``run_processors`` all use the same values.
Each pool's size and overflow is always written, so the library's defaults
never apply unseen; ``connection_budget.py`` says what each process holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from esbank_site.persistence import postgres_recorders

if TYPE_CHECKING:
    from collections.abc import Mapping

    from eventsourcing.application import Application

SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRES_ENGINE = "django.db.backends.postgresql"

SQLITE_TABLES_TOPIC = "esbank_site.persistence.sqlite_tables:Factory"
ROW_BINDING_MAPPER_TOPIC = "esbank_site.persistence.row_binding:RowBindingMapper"
# The library's AES-GCM cipher on the cryptography package (OpenSSL): 15 to
# 25 times faster per call than its pycryptodome one (bench/encryption.py).
# Both store nonce, tag and ciphertext in the same order, so events written
# with either read with either: switching needs no migration.
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"

# Each field of ConnectionSettings, and the setting that gives it.
SETTINGS = {
    "lock_timeout": "ESBANK_DB_LOCK_TIMEOUT",
    "connect_timeout": "ESBANK_DB_CONNECT_TIMEOUT",
    "network_timeout": "ESBANK_DB_NETWORK_TIMEOUT",
    "pool_size": "ESBANK_POSTGRES_POOL_SIZE",
    "max_overflow": "ESBANK_POSTGRES_MAX_OVERFLOW",
}


@dataclass(frozen=True)
class ConnectionSettings:
    """How long to wait for the database, and how many connections to keep.

    The library's defaults are to wait forever for a lock and 30 seconds for
    a connection; a web request held that long is one its user gave up on.
    """

    # Whole seconds: the library's PostgreSQL module reads integers.
    lock_timeout: int = 5
    connect_timeout: int = 5
    # Give up on a connection whose network went silent (network.py).
    network_timeout: int = 15
    # Connections each application's pool keeps, and may open beyond them
    # while all are in use. Django's settings give 1 and 0 (a sync worker);
    # a bank built without them (the benchmarks', driven from many threads)
    # gets the library's own sizes, stated here.
    pool_size: int = 5
    max_overflow: int = 10

    @classmethod
    def from_django(cls) -> ConnectionSettings:
        """The values ``esbank_site/settings.py`` read from the environment.

        Code that runs the bank without Django's settings (the benchmarks'
        banks) gets the same timeouts, and the library's pool sizes.
        """
        from django.conf import settings  # noqa: PLC0415 (settings must be loaded)

        if not settings.configured:
            return cls()
        return cls(
            **{field: getattr(settings, name) for field, name in SETTINGS.items()}
        )


def eventsourcing_env(
    database: Mapping[str, Any],
    *,
    connections: ConnectionSettings | None = None,
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
    connections = connections or ConnectionSettings.from_django()
    lock_timeout = str(connections.lock_timeout)
    env = {
        "CREATE_TABLE": "yes" if create_tables else "no",
        # Seal each event's state to its row (see row_binding.py).
        "MAPPER_TOPIC": ROW_BINDING_MAPPER_TOPIC,
        "CIPHER_TOPIC": CIPHER_TOPIC if cipher_key else "",
        "CIPHER_KEY": cipher_key,
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"
        if compress
        else "",
    }
    if database["ENGINE"] == SQLITE_ENGINE:
        return env | {
            "PERSISTENCE_MODULE": SQLITE_TABLES_TOPIC,
            "SQLITE_DBNAME": str(database["NAME"]),
            "SQLITE_LOCK_TIMEOUT": lock_timeout,
        }
    if database["ENGINE"] == POSTGRES_ENGINE:
        env |= {
            "PERSISTENCE_MODULE": postgres_recorders.TOPIC,
            "POSTGRES_DBNAME": str(database["NAME"]),
            "POSTGRES_HOST": str(database.get("HOST") or "localhost"),
            "POSTGRES_PORT": str(database.get("PORT") or "5432"),
            "POSTGRES_USER": str(database.get("USER") or ""),
            "POSTGRES_PASSWORD": str(database.get("PASSWORD") or ""),
            "POSTGRES_LOCK_TIMEOUT": lock_timeout,
            "POSTGRES_CONNECT_TIMEOUT": str(connections.connect_timeout),
            postgres_recorders.NETWORK_TIMEOUT: str(connections.network_timeout),
            # Always stated, for every pool (the accounts list's view too):
            # never the library's defaults unseen (connection_budget.py).
            "POSTGRES_POOL_SIZE": str(connections.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(connections.max_overflow),
        }
        return env
    msg = f"The bank runs on SQLite or PostgreSQL, not {database['ENGINE']}."
    raise ImproperlyConfigured(msg)


def check_events_are_readable(app: Application[Any]) -> None:
    """Decode the application's latest event, or refuse to start.

    A wrong CIPHER_KEY (or encrypted events read without one, or the other
    way round) is then one clear error when a process starts, not a failure
    on every page.
    """
    head = app.recorder.max_notification_id()
    if not head:
        return
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
