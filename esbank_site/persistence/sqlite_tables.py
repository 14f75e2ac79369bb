"""eventsourcing's SQLite module, with a set of tables for each application.

Out of the box, ``eventsourcing.sqlite`` names its tables ``stored_events``
and ``tracking`` whatever the application. Two applications in one SQLite
file would then share one notification log (the ledger would follow its own
events) and one single-row tracking table (two followers of Accounts would
overwrite each other's position). ``eventsourcing.postgres`` already prefixes
every table with the application's name; this factory does the same for
SQLite, so both databases hold the same tables::

    accounts_events  accounts_snapshots
    ledger_events    ledger_snapshots    ledger_tracking
    ...

Departs from the library (9.5.6): the standard way is
``PERSISTENCE_MODULE=eventsourcing.sqlite``, whose fixed table names would
mix the applications up in one file. What would remove the need: the
SQLite module naming its tables after the application, as the PostgreSQL
module does.

It is selected with ``PERSISTENCE_MODULE=esbank_site.persistence.sqlite_tables:Factory``
(see ``esbank_site/bank.py``), the hook the library offers for this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)

if TYPE_CHECKING:
    from eventsourcing.persistence import (
        AggregateRecorder,
        ApplicationRecorder,
        ProcessRecorder,
    )


class NamedSQLiteTrackingRecorder(SQLiteTrackingRecorder):
    """A tracking recorder whose table name is given, not ``tracking``."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        tracking_table_name: str = "tracking",
        **kwargs: Any,
    ) -> None:
        self.tracking_table_name = tracking_table_name
        super().__init__(datastore, **kwargs)
        # The library writes "tracking" into these statements; the same
        # statements on our table (single-row tracking, as configured).
        table = self.tracking_table_name
        self.insert_tracking_statement = (
            f"INSERT INTO {table} "
            "VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {table}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {table} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        # The parent appends its "tracking" table; keep the others, then ours.
        statements = [
            s
            for s in super().construct_create_table_statements()
            if not s.startswith("CREATE TABLE IF NOT EXISTS tracking ")
        ]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table_name} ("
            "application_name TEXT, "
            "notification_id INTEGER, "
            "PRIMARY KEY (application_name)) "
            "WITHOUT ROWID"
        )
        return statements


class NamedSQLiteProcessRecorder(NamedSQLiteTrackingRecorder, SQLiteProcessRecorder):
    """Events and tracking in one SQLite transaction, in named tables."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )


class Factory(SQLiteFactory):
    """``SQLiteFactory`` naming tables after the application, like PostgreSQL."""

    def _prefix(self) -> str:
        return self.env.name.lower() or "stored"

    def _check_single_row_tracking(self) -> None:
        if not self.datastore.single_row_tracking:
            msg = "Per-application SQLite tables support single-row tracking only."
            raise OSError(msg)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = SQLiteAggregateRecorder(
            datastore=self.datastore,
            events_table_name=f"{self._prefix()}_{purpose}",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = SQLiteApplicationRecorder(
            datastore=self.datastore,
            events_table_name=f"{self._prefix()}_events",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[SQLiteTrackingRecorder] | None = None
    ) -> SQLiteTrackingRecorder:
        self._check_single_row_tracking()
        cls = tracking_recorder_class or NamedSQLiteTrackingRecorder
        if not issubclass(cls, NamedSQLiteTrackingRecorder):
            msg = f"{cls.__name__} must subclass NamedSQLiteTrackingRecorder."
            raise TypeError(msg)
        recorder = cls(
            datastore=self.datastore,
            tracking_table_name=f"{self._prefix()}_tracking",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        self._check_single_row_tracking()
        recorder = NamedSQLiteProcessRecorder(
            datastore=self.datastore,
            events_table_name=f"{self._prefix()}_events",
            tracking_table_name=f"{self._prefix()}_tracking",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder
