"""The accounts list in PostgreSQL: balances in NUMERIC(14,2)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Composed

from esbank_site.persistence.fencing import FencedTracking
from esbank_site.persistence.read_models.dialects import POSTGRES
from esbank_site.persistence.read_models.tables import INDEXES, AccountsListTables

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from psycopg import Cursor
    from psycopg.rows import DictRow


class PostgresAccountsListView(
    FencedTracking, AccountsListTables, PostgresTrackingRecorder
):
    """The accounts list in PostgreSQL; fenced by a worker (``fencing.py``)."""

    dialect = POSTGRES

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "accountslist_tracking",
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self._name_tables(tracking_table_name, schema=datastore.schema)
        self.check_identifier_length(self.rows_table_name + "_activity_idx")
        self.check_identifier_length(self.summary_table_name + "_pkey")
        self.sql_create_statements.extend(
            Composed([SQL(statement)]) for statement in self._create_statements()
        )

    def _execute(
        self, c: Cursor[DictRow], statement: str, params: Mapping[str, Any]
    ) -> None:
        c.execute(statement, params, prepare=True)

    @contextmanager
    def _reading(self) -> Iterator[Cursor[DictRow]]:
        """A read-only transaction that sees one state of all the tables.

        The tables are locked before the first query, which is when a
        REPEATABLE READ snapshot is taken: a rebuild's swap then either
        commits before this snapshot or waits for it to end, and a reader
        never looks at the new tables through an older snapshot.
        """
        with self.datastore.transaction(commit=False) as c:
            c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            c.execute(f"LOCK TABLE {', '.join(self._tables)} IN ACCESS SHARE MODE")
            yield c

    def _hold_off_writers(self, c: Cursor[DictRow]) -> None:
        # Writers change rows (ROW EXCLUSIVE): SHARE makes them wait.
        c.execute(f"LOCK TABLE {self._rows} IN SHARE MODE")

    def swap_into(self, live: PostgresAccountsListView) -> None:
        """Replace ``live``'s tables with this view's, in one transaction.

        Readers of the live tables finish first (the drop waits for their
        locks) and later ones wait for the commit, then read the new tables.
        Indexes keep their names through a table rename, so they are
        renamed too: a later rebuild can then create its own again.
        """
        schema = self.dialect.index(self.datastore.schema)
        tables = list(zip(self.table_names, live.table_names, strict=True))
        renames = [
            *(("TABLE", old, new) for old, new in tables),
            *(("INDEX", f"{old}_pkey", f"{new}_pkey") for old, new in tables),
            *(
                ("INDEX", f"{self.rows_table_name}_{s}", f"{live.rows_table_name}_{s}")
                for s, _ in INDEXES
            ),
        ]
        with self.datastore.transaction(commit=True) as c:
            # Give up rather than queue every reader behind a long wait.
            timeout = int(self.datastore.lock_timeout or 5)
            c.execute(f"SET LOCAL lock_timeout = '{timeout}s'")
            c.execute(f"DROP TABLE {', '.join(live._tables)}")
            for kind, old, new in renames:
                c.execute(
                    f"ALTER {kind} {schema}.{self.dialect.index(old)} "
                    f"RENAME TO {self.dialect.index(new)}"
                )
