"""The accounts list in SQLite: balances in whole pence, times as UTC text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from esbank_site.persistence.read_models.dialects import SQLITE
from esbank_site.persistence.read_models.tables import INDEXES, AccountsListTables
from esbank_site.persistence.sqlite_tables import NamedSQLiteTrackingRecorder

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore


class SQLiteAccountsListView(AccountsListTables, NamedSQLiteTrackingRecorder):
    """The accounts list in SQLite."""

    dialect = SQLITE

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        tracking_table_name: str = "accountslist_tracking",
        **kwargs: Any,
    ) -> None:
        # Named first: the library's __init__ asks for the create statements.
        self._name_tables(tracking_table_name)
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *self._create_statements(),
        ]

    def _reading(self) -> AbstractContextManager[SQLiteCursor]:
        # One transaction; in WAL mode it reads one state of the file.
        return self.datastore.transaction(commit=False)

    def _hold_off_writers(self, c: SQLiteCursor) -> None:
        # A first write takes SQLite's one write lock.
        c.execute(f"DELETE FROM {self._summary}")

    def swap_into(self, live: SQLiteAccountsListView) -> None:
        """Replace ``live``'s tables with this view's, in one transaction.

        Readers in WAL mode keep reading the old tables until it commits.
        SQLite cannot rename an index, so the moved table's indexes are
        made again under the live table's names.
        """
        with self.datastore.transaction(commit=True) as c:
            for table in live._tables:
                c.execute(f"DROP TABLE {table}")
            for old, new in zip(self._tables, live.table_names, strict=True):
                c.execute(f"ALTER TABLE {old} RENAME TO {new}")
            for suffix, _ in INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {self.rows_table_name}_{suffix}")
            for statement in self._create_index_statements(live):
                c.execute(statement)
