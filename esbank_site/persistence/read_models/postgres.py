"""The accounts list in PostgreSQL: balances in NUMERIC(14,2)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Composable, Identifier

from accounts.money import CENT, ZERO
from accounts.projections import (
    LEADER_NAME,
    AccountRow,
    AccountsPage,
    AccountsQuery,
    AccountsSummary,
    ReadModelError,
)
from esbank_site.persistence.read_models.rows import (
    COLUMNS,
    INDEXES,
    SORT_COLUMNS,
    AccountRows,
    like_pattern,
    rows_table_name,
    shadow_tracking_table_name,
    summary_table_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from psycopg import Cursor
    from psycopg.rows import DictRow


class PostgresAccountsListView(AccountRows, PostgresTrackingRecorder):
    """The accounts list in PostgreSQL, balances in NUMERIC(14,2)."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "accountslist_tracking",
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.rows_table_name = rows_table_name(tracking_table_name)
        self.summary_table_name = summary_table_name(tracking_table_name)
        self.check_identifier_length(self.rows_table_name + "_activity_idx")
        self.check_identifier_length(self.summary_table_name + "_pkey")
        self.sql_create_statements.append(
            SQL(
                # Plain columns, or NULLs beside a sealed row.
                "CREATE TABLE IF NOT EXISTS {0} ("
                "account_id uuid PRIMARY KEY, "
                "owner text, "
                "name text, "
                'owner_key text COLLATE "C", '
                'name_key text COLLATE "C", '
                "currency text, "
                "balance numeric(14, 2), "
                "overdraft_limit numeric(14, 2), "
                "is_closed boolean, "
                "opened_at timestamptz, "
                "last_activity_at timestamptz, "
                "version bigint NOT NULL, "
                "sealed bytea)"
            ).format(self._rows)
        )
        for suffix, columns in INDEXES:
            self.sql_create_statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} ({2})").format(
                    Identifier(f"{self.rows_table_name}_{suffix}"),
                    self._rows,
                    SQL(columns),
                )
            )
        self.sql_create_statements.append(
            SQL(
                # One row: the rows added up (or NULLs beside a sealed summary).
                # Unbounded NUMERIC: the total may outgrow any one balance.
                "CREATE TABLE IF NOT EXISTS {0} ("
                "id smallint PRIMARY KEY CHECK (id = 1), "
                "account_count bigint, "
                "total_balance numeric, "
                "sealed bytea)"
            ).format(self._summary)
        )
        self._insert_row_statement = SQL(
            "INSERT INTO {0} VALUES (%(id)s, %(owner)s, %(name)s, %(owner_key)s, "
            "%(name_key)s, %(currency)s, %(balance)s, %(overdraft_limit)s, "
            "%(is_closed)s, %(opened_at)s, %(last_activity_at)s, %(version)s, "
            "%(sealed)s)"
        ).format(self._rows)
        self._update_row_statement = SQL(
            "UPDATE {0} SET balance = %(balance)s, "
            "overdraft_limit = %(overdraft_limit)s, is_closed = %(is_closed)s, "
            "last_activity_at = %(last_activity_at)s, version = %(version)s, "
            "sealed = %(sealed)s WHERE account_id = %(id)s"
        ).format(self._rows)
        self._select_row_statement = SQL(
            "SELECT * FROM {0} WHERE account_id = %s"
        ).format(self._rows)
        self._select_summary_statement = SQL("SELECT * FROM {0}").format(self._summary)
        self._store_summary_statement = SQL(
            "INSERT INTO {0} VALUES (1, %(account_count)s, %(total_balance)s, "
            "%(sealed)s) ON CONFLICT (id) DO UPDATE SET "
            "account_count = EXCLUDED.account_count, "
            "total_balance = EXCLUDED.total_balance, sealed = EXCLUDED.sealed"
        ).format(self._summary)

    @property
    def table_names(self) -> tuple[str, ...]:
        return self.rows_table_name, self.summary_table_name, self.tracking_table_name

    @property
    def _rows(self) -> Composable:
        return Identifier(self.datastore.schema, self.rows_table_name)

    @property
    def _summary(self) -> Composable:
        return Identifier(self.datastore.schema, self.summary_table_name)

    @property
    def _tables(self) -> Composable:
        """Every table of this view, in ``table_names`` order."""
        return SQL(", ").join(
            Identifier(self.datastore.schema, name) for name in self.table_names
        )

    # Writing.

    def _transaction(self) -> Any:
        return self.datastore.transaction(commit=True)

    def _select_row(self, c: Cursor[DictRow], account_id: UUID) -> AccountRow | None:
        c.execute(self._select_row_statement, (account_id,), prepare=True)
        r = c.fetchone()
        return None if r is None else self._decode(account_id, r)

    def _insert_row(self, c: Cursor[DictRow], row: AccountRow) -> None:
        c.execute(self._insert_row_statement, self._params(row), prepare=True)

    def _update_row(self, c: Cursor[DictRow], row: AccountRow) -> None:
        c.execute(self._update_row_statement, self._params(row), prepare=True)

    def _hold_off_writers(self, c: Cursor[DictRow]) -> None:
        # Writers change rows (ROW EXCLUSIVE): SHARE makes them wait.
        c.execute(SQL("LOCK TABLE {0} IN SHARE MODE").format(self._rows))

    def _fetch_summary(self, c: Cursor[DictRow]) -> DictRow | None:
        c.execute(self._select_summary_statement, prepare=True)
        return c.fetchone()

    def _store_summary(self, c: Cursor[DictRow], summary: AccountsSummary) -> None:
        params = self._summary_params(summary)
        c.execute(self._store_summary_statement, params, prepare=True)

    def _plain_summary(self, r: Mapping[str, Any]) -> AccountsSummary:
        return AccountsSummary(r["account_count"], r["total_balance"].quantize(CENT))

    @staticmethod
    def _stored_amount(amount: Decimal) -> Decimal:
        return amount

    def _params(self, row: AccountRow) -> dict[str, Any]:
        if self.seal is not None:
            return dict.fromkeys(COLUMNS) | {
                "id": row.id,
                "version": row.version,
                "sealed": self.seal.seal(row),
            }
        return {
            "id": row.id,
            "owner": row.owner,
            "name": row.name,
            "owner_key": row.owner.casefold(),
            "name_key": row.name.casefold(),
            "currency": row.currency,
            "balance": row.balance,
            "overdraft_limit": row.overdraft_limit,
            "is_closed": row.is_closed,
            "opened_at": row.opened_at,
            "last_activity_at": row.last_activity_at,
            "version": row.version,
            "sealed": None,
        }

    # Reading: one snapshot, so the page, count, total and position agree.

    def _page_in_sql(self, query: AccountsQuery) -> AccountsPage:
        where, params = self._where(query)
        direction = SQL("DESC" if query.descending else "ASC")
        select_page = SQL(
            "SELECT * FROM {0}{1} ORDER BY {2} {3}, account_id {3} LIMIT %s OFFSET %s"
        ).format(self._rows, where, Identifier(SORT_COLUMNS[query.sort]), direction)
        select_matched = SQL(
            "SELECT COUNT(*) AS n, SUM(balance) AS total FROM {0}{1}"
        ).format(self._rows, where)
        with self._snapshot() as curs:
            curs.execute(select_page, (*params, query.per_page, query.offset))
            page_rows = [self._decode(r["account_id"], r) for r in curs.fetchall()]
            summary = self._select_summary(curs)
            matched = summary
            if query.is_filtered:
                curs.execute(select_matched, params)
                totals = _fetch_one(curs)
                matched = AccountsSummary(
                    totals["n"], (totals["total"] or ZERO).quantize(CENT)
                )
            position = self._max_tracking_id(LEADER_NAME, curs) or 0
        return AccountsPage(
            query=query,
            rows=page_rows,
            count=matched.account_count,
            total_balance=matched.total_balance,
            all_count=summary.account_count,
            position=position,
        )

    def get_all_rows(self) -> tuple[int, list[AccountRow], AccountsSummary]:
        with self._snapshot() as curs:
            rows = self._select_all_rows(curs)
            summary = self._select_summary(curs)
            position = self._max_tracking_id(LEADER_NAME, curs) or 0
        return position, rows, summary

    def _select_all_rows(self, c: Cursor[DictRow]) -> list[AccountRow]:
        c.execute(SQL("SELECT * FROM {0}").format(self._rows))
        return [self._decode(r["account_id"], r) for r in c.fetchall()]

    @contextmanager
    def _snapshot(self) -> Iterator[Cursor[DictRow]]:
        """A read-only transaction that sees one state of all the tables.

        The tables are locked before the first query, which is when a
        REPEATABLE READ snapshot is taken: a rebuild's swap then either
        commits before this snapshot or waits for it to end, and a reader
        never looks at the new tables through an older snapshot.
        """
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            curs.execute(
                SQL("LOCK TABLE {0} IN ACCESS SHARE MODE").format(self._tables)
            )
            yield curs

    @staticmethod
    def _where(query: AccountsQuery) -> tuple[Composable, tuple[str, ...]]:
        conditions, params = [], []
        if query.owner is not None:
            # The index, then the exact owner.
            conditions.append(SQL("owner_key = %s AND owner = %s"))
            params += [query.owner.casefold(), query.owner]
        if query.search:
            conditions.append(
                SQL("(owner_key LIKE %s ESCAPE '\\' OR name_key LIKE %s ESCAPE '\\')")
            )
            params += [like_pattern(query.search)] * 2
        if not conditions:
            return SQL(""), ()
        return SQL(" WHERE ") + SQL(" AND ").join(conditions), tuple(params)

    def _plain_row(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow:
        return AccountRow(
            id=account_id,
            owner=r["owner"],
            name=r["name"],
            currency=r["currency"],
            balance=r["balance"],
            overdraft_limit=r["overdraft_limit"],
            is_closed=r["is_closed"],
            opened_at=r["opened_at"].astimezone(UTC),
            last_activity_at=r["last_activity_at"].astimezone(UTC),
            version=r["version"],
        )

    # Rebuilding.

    def shadow(self) -> Self:
        """An empty twin of this view, in the rebuild's tables (not created)."""
        return type(self)(
            self.datastore,
            tracking_table_name=shadow_tracking_table_name(self.tracking_table_name),
        )

    def drop_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP TABLE IF EXISTS {0}").format(self._tables))

    def swap_into(self, live: PostgresAccountsListView) -> None:
        """Replace ``live``'s tables with this view's, in one transaction.

        Readers of the live tables finish first (the drop waits for their
        locks) and later ones wait for the commit, then read the new tables.
        Indexes keep their names through a table rename, so they are
        renamed too: a later rebuild can then create its own again.
        """
        schema = Identifier(self.datastore.schema)
        tables = list(zip(self.table_names, live.table_names, strict=True))
        renames = [
            *tables,
            *((f"{old}_pkey", f"{new}_pkey") for old, new in tables),
            *(
                (f"{self.rows_table_name}_{suffix}", f"{live.rows_table_name}_{suffix}")
                for suffix, _ in INDEXES
            ),
        ]
        with self.datastore.transaction(commit=True) as curs:
            # Give up rather than queue every reader behind a long wait.
            curs.execute(
                SQL("SET LOCAL lock_timeout = '{0}s'").format(
                    self.datastore.lock_timeout or 5
                )
            )
            curs.execute(SQL("DROP TABLE {0}").format(live._tables))
            for number, (old, new) in enumerate(renames):
                what = SQL("TABLE" if number < len(tables) else "INDEX")
                curs.execute(
                    SQL("ALTER {0} {1}.{2} RENAME TO {3}").format(
                        what, schema, Identifier(old), Identifier(new)
                    )
                )


def _fetch_one(curs: Cursor[DictRow]) -> DictRow:
    row = curs.fetchone()
    if row is None:  # an aggregate query always returns a row
        msg = "No row returned."
        raise ReadModelError(msg)
    return row
