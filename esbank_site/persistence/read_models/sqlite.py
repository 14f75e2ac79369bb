"""The accounts list in SQLite: balances in whole pence, times as UTC text.

SQLite has no decimal type and would sort amounts stored as text wrongly,
so balances are INTEGER pence; timestamps are fixed-width UTC text, which
sorts as time does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from accounts.money import CENT
from accounts.projections import (
    LEADER_NAME,
    AccountRow,
    AccountsPage,
    AccountsQuery,
    AccountsSummary,
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
from esbank_site.persistence.sqlite_tables import NamedSQLiteTrackingRecorder

if TYPE_CHECKING:
    from collections.abc import Mapping

    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore


class SQLiteAccountsListView(AccountRows, NamedSQLiteTrackingRecorder):
    """The accounts list in SQLite, balances in whole pence."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        tracking_table_name: str = "accountslist_tracking",
        **kwargs: Any,
    ) -> None:
        self.rows_table_name = rows_table_name(tracking_table_name)
        self.summary_table_name = summary_table_name(tracking_table_name)
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        rows = self.rows_table_name
        self._insert_row_statement = (
            f"INSERT INTO {rows} VALUES "  # noqa: S608 (our table)
            "(:id, :owner, :name, :owner_key, :name_key, :currency, :balance, "
            ":overdraft_limit, :is_closed, :opened_at, :last_activity_at, "
            ":version, :sealed)"
        )
        self._update_row_statement = (
            f"UPDATE {rows} SET "  # noqa: S608 (our table)
            "balance = :balance, overdraft_limit = :overdraft_limit, "
            "is_closed = :is_closed, last_activity_at = :last_activity_at, "
            "version = :version, sealed = :sealed WHERE account_id = :id"
        )
        self._store_summary_statement = (
            f"INSERT INTO {self.summary_table_name} "  # noqa: S608 (our table)
            "VALUES (1, :account_count, :total_balance, :sealed) "
            "ON CONFLICT (id) DO UPDATE SET account_count = :account_count, "
            "total_balance = :total_balance, sealed = :sealed"
        )

    @property
    def table_names(self) -> tuple[str, ...]:
        return self.rows_table_name, self.summary_table_name, self.tracking_table_name

    def construct_create_table_statements(self) -> list[str]:
        rows = self.rows_table_name
        return [
            *super().construct_create_table_statements(),
            # Plain columns, or NULLs beside a sealed row.
            f"CREATE TABLE IF NOT EXISTS {rows} ("
            "account_id TEXT PRIMARY KEY, "
            "owner TEXT, "
            "name TEXT, "
            "owner_key TEXT, "
            "name_key TEXT, "
            "currency TEXT, "
            "balance INTEGER, "  # pence
            "overdraft_limit INTEGER, "  # pence
            "is_closed INTEGER, "
            "opened_at TEXT, "  # UTC, fixed width: sorts as text
            "last_activity_at TEXT, "
            "version INTEGER NOT NULL, "
            "sealed BLOB) "
            "WITHOUT ROWID",
            *self._create_index_statements(rows),
            # One row: the rows added up (or NULLs beside a sealed summary).
            f"CREATE TABLE IF NOT EXISTS {self.summary_table_name} ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), "
            "account_count INTEGER, "
            "total_balance INTEGER, "  # pence
            "sealed BLOB)",
        ]

    @staticmethod
    def _create_index_statements(rows: str) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {rows}_{suffix} ON {rows} ({columns})"
            for suffix, columns in INDEXES
        ]

    # Writing.

    def _transaction(self) -> Any:
        return self.datastore.transaction(commit=True)

    def _select_row(self, c: SQLiteCursor, account_id: UUID) -> AccountRow | None:
        c.execute(
            f"SELECT * FROM {self.rows_table_name} WHERE account_id = ?",  # noqa: S608
            (str(account_id),),
        )
        r = c.fetchone()
        return None if r is None else self._decode(account_id, r)

    def _insert_row(self, c: SQLiteCursor, row: AccountRow) -> None:
        c.execute(self._insert_row_statement, self._params(row))

    def _update_row(self, c: SQLiteCursor, row: AccountRow) -> None:
        c.execute(self._update_row_statement, self._params(row))

    def _hold_off_writers(self, c: SQLiteCursor) -> None:
        # A first write takes SQLite's one write lock.
        c.execute(f"DELETE FROM {self.summary_table_name}")  # noqa: S608

    def _fetch_summary(self, c: SQLiteCursor) -> Any:
        c.execute(f"SELECT * FROM {self.summary_table_name}")  # noqa: S608
        return c.fetchone()

    def _store_summary(self, c: SQLiteCursor, summary: AccountsSummary) -> None:
        c.execute(self._store_summary_statement, self._summary_params(summary))

    def _plain_summary(self, r: Mapping[str, Any]) -> AccountsSummary:
        return AccountsSummary(r["account_count"], _from_pence(r["total_balance"]))

    @staticmethod
    def _stored_amount(amount: Decimal) -> int:
        return _to_pence(amount)

    def _params(self, row: AccountRow) -> dict[str, Any]:
        if self.seal is not None:
            return dict.fromkeys(COLUMNS) | {
                "id": str(row.id),
                "version": row.version,
                "sealed": self.seal.seal(row),
            }
        return {
            "id": str(row.id),
            "owner": row.owner,
            "name": row.name,
            "owner_key": row.owner.casefold(),
            "name_key": row.name.casefold(),
            "currency": row.currency,
            "balance": _to_pence(row.balance),
            "overdraft_limit": _to_pence(row.overdraft_limit),
            "is_closed": int(row.is_closed),
            "opened_at": _to_text(row.opened_at),
            "last_activity_at": _to_text(row.last_activity_at),
            "version": row.version,
            "sealed": None,
        }

    # Reading: one transaction, so the page, count, total and position agree.

    def _page_in_sql(self, query: AccountsQuery) -> AccountsPage:
        rows = self.rows_table_name
        where, params = self._where(query)
        column = SORT_COLUMNS[query.sort]
        direction = "DESC" if query.descending else "ASC"
        select_page = (
            f"SELECT * FROM {rows}{where} "  # noqa: S608 (whitelisted names)
            f"ORDER BY {column} {direction}, account_id {direction} "
            "LIMIT ? OFFSET ?"
        )
        select_matched = f"SELECT COUNT(*), SUM(balance) FROM {rows}{where}"  # noqa: S608
        with self.datastore.transaction(commit=False) as c:
            c.execute(select_page, (*params, query.per_page, query.offset))
            page_rows = [self._decode(UUID(r["account_id"]), r) for r in c.fetchall()]
            summary = self._select_summary(c)
            matched = summary
            if query.is_filtered:
                c.execute(select_matched, params)
                count, total = c.fetchone()
                matched = AccountsSummary(count, _from_pence(total or 0))
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return AccountsPage(
            query=query,
            rows=page_rows,
            count=matched.account_count,
            total_balance=matched.total_balance,
            all_count=summary.account_count,
            position=position,
        )

    def get_all_rows(self) -> tuple[int, list[AccountRow], AccountsSummary]:
        with self.datastore.transaction(commit=False) as c:
            rows = self._select_all_rows(c)
            summary = self._select_summary(c)
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return position, rows, summary

    def _select_all_rows(self, c: SQLiteCursor) -> list[AccountRow]:
        c.execute(f"SELECT * FROM {self.rows_table_name}")  # noqa: S608
        return [self._decode(UUID(r["account_id"]), r) for r in c.fetchall()]

    @staticmethod
    def _where(query: AccountsQuery) -> tuple[str, tuple[str, ...]]:
        conditions, params = [], []
        if query.owner is not None:
            conditions.append("owner_key = ? AND owner = ?")  # the index, then exact
            params += [query.owner.casefold(), query.owner]
        if query.search:
            conditions.append(
                "(owner_key LIKE ? ESCAPE '\\' OR name_key LIKE ? ESCAPE '\\')"
            )
            params += [like_pattern(query.search)] * 2
        if not conditions:
            return "", ()
        return " WHERE " + " AND ".join(conditions), tuple(params)

    def _plain_row(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow:
        return AccountRow(
            id=account_id,
            owner=r["owner"],
            name=r["name"],
            currency=r["currency"],
            balance=_from_pence(r["balance"]),
            overdraft_limit=_from_pence(r["overdraft_limit"]),
            is_closed=bool(r["is_closed"]),
            opened_at=datetime.fromisoformat(r["opened_at"]),
            last_activity_at=datetime.fromisoformat(r["last_activity_at"]),
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
        with self.datastore.transaction(commit=True) as c:
            for table in self.table_names:
                c.execute(f"DROP TABLE IF EXISTS {table}")

    def swap_into(self, live: SQLiteAccountsListView) -> None:
        """Replace ``live``'s tables with this view's, in one transaction.

        Readers in WAL mode keep reading the old tables until it commits.
        SQLite cannot rename an index, so the moved table's indexes are
        made again under the live table's names.
        """
        with self.datastore.transaction(commit=True) as c:
            for table in live.table_names:
                c.execute(f"DROP TABLE {table}")
            for old, new in zip(self.table_names, live.table_names, strict=True):
                c.execute(f"ALTER TABLE {old} RENAME TO {new}")
            for suffix, _ in INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {self.rows_table_name}_{suffix}")
            for statement in self._create_index_statements(live.rows_table_name):
                c.execute(statement)


def _to_pence(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def _from_pence(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(CENT)


def _to_text(moment: datetime) -> str:
    """UTC, always with microseconds: equal widths sort as text does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
