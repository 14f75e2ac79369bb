"""The accounts list's SQL, for SQLite and for PostgreSQL.

Each view is a tracking recorder of the library (the pattern its
``ProjectionRunner`` expects) that also owns one table of rows. The tables
are named after the tracking table the factory gives it, so the projection
``AccountsList`` gets ``accountslist_tracking`` and ``accountslist_rows``,
and ``rebuild_projection`` can build a shadow pair beside them
(``accountslist_rebuild_*``) and swap it in, in one transaction.

Every change reads the account's row, changes it and writes it back in the
same transaction as the event's tracking record, which the single-row
tracking table refuses to repeat or move backwards: each event changes the
list exactly once, even with two processes at it.

Money is exact in both: NUMERIC(14,2) on PostgreSQL, whole pence in an
INTEGER on SQLite (which has no decimal type, and would sort text wrongly).
Searching and sorting by owner and name use case-folded copies of them, in
code point order on both databases, so both list accounts in the same order.
With a CIPHER_KEY, rows are sealed instead (see ``esbank_site.sealed_rows``).
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, cast
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.utils import Environment, resolve_topic
from psycopg.sql import SQL, Composable, Identifier

from accounts.money import CENT, ZERO
from accounts.projections import (
    LEADER_NAME,
    AccountRow,
    AccountsListView,
    AccountsPage,
    AccountsQuery,
    ReadModelError,
)
from esbank_site.sealed_rows import RowSeal, page_in_memory
from esbank_site.sqlite_tables import NamedSQLiteTrackingRecorder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from eventsourcing.cipher import Cipher
    from eventsourcing.persistence import Tracking
    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
    from psycopg import Cursor
    from psycopg.rows import DictRow

# Sort keys (see accounts.projections.SORTS) to columns: a whitelist, since
# column names cannot be query parameters.
SORT_COLUMNS = {
    "owner": "owner_key",
    "name": "name_key",
    "balance": "balance",
    "last_activity": "last_activity_at",
    "opened": "opened_at",
}
# Indexes, named after their table: (suffix, columns).
INDEXES = [
    ("owner_idx", "owner_key, account_id"),
    ("name_idx", "name_key, account_id"),
    ("balance_idx", "balance, account_id"),
    ("activity_idx", "last_activity_at, account_id"),
    ("opened_idx", "opened_at, account_id"),
]
REBUILD_INFIX = "_rebuild"


def rows_table_name(tracking_table_name: str) -> str:
    """``accountslist_tracking`` -> ``accountslist_rows``."""
    return tracking_table_name.removesuffix("_tracking") + "_rows"


def shadow_tracking_table_name(tracking_table_name: str) -> str:
    """Where a rebuild writes: ``accountslist_tracking`` -> ``..._rebuild_tracking``."""
    return tracking_table_name.removesuffix("_tracking") + REBUILD_INFIX + "_tracking"


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` anywhere, its own % and _ taken literally."""
    escaped = search.casefold().replace("\\", "\\\\").replace("%", "\\%")
    return "%" + escaped.replace("_", "\\_") + "%"


class RebuildableView(Protocol):
    """What ``rebuild_projection`` needs of a view, beyond the list itself."""

    tracking_table_name: str

    def shadow(self) -> RebuildableView: ...

    def create_table(self) -> None: ...

    def drop_tables(self) -> None: ...

    def swap_into(self, live: Any) -> None: ...


class _AccountRows(AccountsListView):
    """The writes, the same on both databases: load, change, store, track.

    Subclasses supply the SQL: a transaction that starts with the tracking
    record, and how a row is selected, inserted, updated and paged.
    """

    # Set on the sealed variants that ``accounts_list_view_class`` makes.
    cipher: ClassVar[Cipher | None] = None

    @property
    def seal(self) -> RowSeal | None:
        return RowSeal(self.cipher) if self.cipher is not None else None

    def record_opened(self, row: AccountRow, tracking: Tracking) -> None:
        with self._writing(tracking) as c:
            self._insert_row(c, row)

    def record_movement(
        self,
        account_id: UUID,
        amount: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(
            account_id,
            tracking,
            lambda row: dataclasses.replace(
                row, balance=row.balance + amount, version=version, last_activity_at=at
            ),
        )

    def record_overdraft_limit(
        self,
        account_id: UUID,
        limit: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(
            account_id,
            tracking,
            lambda row: dataclasses.replace(
                row, overdraft_limit=limit, version=version, last_activity_at=at
            ),
        )

    def record_closed(
        self, account_id: UUID, version: int, at: datetime, tracking: Tracking
    ) -> None:
        self._change(
            account_id,
            tracking,
            lambda row: dataclasses.replace(
                row, is_closed=True, version=version, last_activity_at=at
            ),
        )

    def _change(
        self,
        account_id: UUID,
        tracking: Tracking,
        change: Callable[[AccountRow], AccountRow],
    ) -> None:
        with self._writing(tracking) as c:
            row = self._select_row(c, account_id)
            if row is None:
                msg = (
                    f"Account {account_id} is not in the accounts list "
                    f"(notification {tracking.notification_id})."
                )
                raise ReadModelError(msg)
            self._update_row(c, change(row))

    def get_accounts_page(self, query: AccountsQuery) -> AccountsPage:
        if self.seal is not None:
            position, rows = self.get_all_rows()
            return page_in_memory(rows, query, position)
        return self._page_in_sql(query)

    def _decode(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow:
        if r["sealed"] is None:
            return self._plain_row(account_id, r)
        if self.seal is None:
            msg = "The accounts list is sealed: it needs the bank's CIPHER_KEY."
            raise ReadModelError(msg)
        return self.seal.open(account_id, r["version"], r["sealed"])

    @abstractmethod
    def _writing(self, tracking: Tracking) -> Any:
        """A write transaction that has recorded ``tracking`` first."""

    @abstractmethod
    def _select_row(self, c: Any, account_id: UUID) -> AccountRow | None: ...

    @abstractmethod
    def _insert_row(self, c: Any, row: AccountRow) -> None: ...

    @abstractmethod
    def _update_row(self, c: Any, row: AccountRow) -> None: ...

    @abstractmethod
    def _plain_row(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow: ...

    @abstractmethod
    def _page_in_sql(self, query: AccountsQuery) -> AccountsPage: ...


class SQLiteAccountsListView(_AccountRows, NamedSQLiteTrackingRecorder):
    """The accounts list in SQLite, balances in whole pence."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        tracking_table_name: str = "accountslist_tracking",
        **kwargs: Any,
    ) -> None:
        self.rows_table_name = rows_table_name(tracking_table_name)
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

    @property
    def table_names(self) -> tuple[str, str]:
        return self.rows_table_name, self.tracking_table_name

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
        ]

    @staticmethod
    def _create_index_statements(rows: str) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {rows}_{suffix} ON {rows} ({columns})"
            for suffix, columns in INDEXES
        ]

    # Writing.

    @contextmanager
    def _writing(self, tracking: Tracking) -> Iterator[SQLiteCursor]:
        # The tracking insert comes first: it takes the write lock at once
        # (waiting for it if need be), so the row read after it is current.
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            yield c

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

    def _params(self, row: AccountRow) -> dict[str, Any]:
        if self.seal is not None:
            return dict.fromkeys(_COLUMNS) | {
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
        where, params = self._where(query.search)
        column = SORT_COLUMNS[query.sort]
        direction = "DESC" if query.descending else "ASC"
        select_page = (
            f"SELECT * FROM {rows}{where} "  # noqa: S608 (whitelisted names)
            f"ORDER BY {column} {direction}, account_id {direction} "
            "LIMIT ? OFFSET ?"
        )
        select_totals = f"SELECT COUNT(*), SUM(balance) FROM {rows}{where}"  # noqa: S608
        with self.datastore.transaction(commit=False) as c:
            c.execute(select_page, (*params, query.per_page, query.offset))
            page_rows = [self._decode(UUID(r["account_id"]), r) for r in c.fetchall()]
            c.execute(select_totals, params)
            count, total = c.fetchone()
            c.execute(f"SELECT COUNT(*) FROM {rows}")  # noqa: S608 (our table)
            (all_count,) = c.fetchone()
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return AccountsPage(
            query=query,
            rows=page_rows,
            count=count,
            total_balance=_from_pence(total or 0),
            all_count=all_count,
            position=position,
        )

    def get_all_rows(self) -> tuple[int, list[AccountRow]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.rows_table_name}")  # noqa: S608
            rows = [self._decode(UUID(r["account_id"]), r) for r in c.fetchall()]
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return position, rows

    @staticmethod
    def _where(search: str) -> tuple[str, tuple[str, ...]]:
        if not search:
            return "", ()
        pattern = like_pattern(search)
        where = " WHERE owner_key LIKE ? ESCAPE '\\' OR name_key LIKE ? ESCAPE '\\'"
        return where, (pattern, pattern)

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


class PostgresAccountsListView(_AccountRows, PostgresTrackingRecorder):
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
        self.check_identifier_length(self.rows_table_name + "_activity_idx")
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

    @property
    def table_names(self) -> tuple[str, str]:
        return self.rows_table_name, self.tracking_table_name

    @property
    def _rows(self) -> Composable:
        return Identifier(self.datastore.schema, self.rows_table_name)

    @property
    def _tracking(self) -> Composable:
        return Identifier(self.datastore.schema, self.tracking_table_name)

    # Writing.

    @contextmanager
    def _writing(self, tracking: Tracking) -> Iterator[Cursor[DictRow]]:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            yield curs

    def _select_row(self, c: Cursor[DictRow], account_id: UUID) -> AccountRow | None:
        c.execute(self._select_row_statement, (account_id,), prepare=True)
        r = c.fetchone()
        return None if r is None else self._decode(account_id, r)

    def _insert_row(self, c: Cursor[DictRow], row: AccountRow) -> None:
        c.execute(self._insert_row_statement, self._params(row), prepare=True)

    def _update_row(self, c: Cursor[DictRow], row: AccountRow) -> None:
        c.execute(self._update_row_statement, self._params(row), prepare=True)

    def _params(self, row: AccountRow) -> dict[str, Any]:
        if self.seal is not None:
            return dict.fromkeys(_COLUMNS) | {
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
        where, params = self._where(query.search)
        direction = SQL("DESC" if query.descending else "ASC")
        select_page = SQL(
            "SELECT * FROM {0}{1} ORDER BY {2} {3}, account_id {3} LIMIT %s OFFSET %s"
        ).format(self._rows, where, Identifier(SORT_COLUMNS[query.sort]), direction)
        select_totals = SQL(
            "SELECT COUNT(*) AS n, SUM(balance) AS total FROM {0}{1}"
        ).format(self._rows, where)
        with self._snapshot() as curs:
            curs.execute(select_page, (*params, query.per_page, query.offset))
            page_rows = [self._decode(r["account_id"], r) for r in curs.fetchall()]
            curs.execute(select_totals, params)
            totals = _fetch_one(curs)
            curs.execute(SQL("SELECT COUNT(*) AS n FROM {0}").format(self._rows))
            all_count = _fetch_one(curs)
            position = self._max_tracking_id(LEADER_NAME, curs) or 0
        return AccountsPage(
            query=query,
            rows=page_rows,
            count=totals["n"],
            total_balance=(totals["total"] or ZERO).quantize(CENT),
            all_count=all_count["n"],
            position=position,
        )

    def get_all_rows(self) -> tuple[int, list[AccountRow]]:
        with self._snapshot() as curs:
            curs.execute(SQL("SELECT * FROM {0}").format(self._rows))
            rows = [self._decode(r["account_id"], r) for r in curs.fetchall()]
            position = self._max_tracking_id(LEADER_NAME, curs) or 0
        return position, rows

    @contextmanager
    def _snapshot(self) -> Iterator[Cursor[DictRow]]:
        """A read-only transaction that sees one state of both tables.

        Both tables are locked before the first query, which is when a
        REPEATABLE READ snapshot is taken: a rebuild's swap then either
        commits before this snapshot or waits for it to end, and a reader
        never looks at the new tables through an older snapshot.
        """
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            curs.execute(
                SQL("LOCK TABLE {0}, {1} IN ACCESS SHARE MODE").format(
                    self._rows, self._tracking
                )
            )
            yield curs

    @staticmethod
    def _where(search: str) -> tuple[Composable, tuple[str, ...]]:
        if not search:
            return SQL(""), ()
        pattern = like_pattern(search)
        where = SQL(
            " WHERE owner_key LIKE %s ESCAPE '\\' OR name_key LIKE %s ESCAPE '\\'"
        )
        return where, (pattern, pattern)

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
            curs.execute(
                SQL("DROP TABLE IF EXISTS {0}, {1}").format(self._rows, self._tracking)
            )

    def swap_into(self, live: PostgresAccountsListView) -> None:
        """Replace ``live``'s tables with this view's, in one transaction.

        Readers of the live tables finish first (the drop waits for their
        locks) and later ones wait for the commit, then read the new tables.
        Indexes keep their names through a table rename, so they are
        renamed too: a later rebuild can then create its own again.
        """
        schema = Identifier(self.datastore.schema)
        renames = [
            *zip(self.table_names, live.table_names, strict=True),
            (f"{self.rows_table_name}_pkey", f"{live.rows_table_name}_pkey"),
            (f"{self.tracking_table_name}_pkey", f"{live.tracking_table_name}_pkey"),
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
            curs.execute(SQL("DROP TABLE {0}, {1}").format(live._rows, live._tracking))
            for number, (old, new) in enumerate(renames):
                what = SQL("TABLE" if number < 2 else "INDEX")
                curs.execute(
                    SQL("ALTER {0} {1}.{2} RENAME TO {3}").format(
                        what, schema, Identifier(old), Identifier(new)
                    )
                )


# Every column a row has, for the sealed rows' NULLs.
_COLUMNS = [
    "id",
    "owner",
    "name",
    "owner_key",
    "name_key",
    "currency",
    "balance",
    "overdraft_limit",
    "is_closed",
    "opened_at",
    "last_activity_at",
    "version",
    "sealed",
]


def accounts_list_view_class(env: Mapping[str, str]) -> type[AccountsListView]:
    """The view class for the database and cipher ``env`` names.

    With a cipher, a subclass that seals its rows with it: the library's
    ``ProjectionRunner`` constructs views from a class alone, so the class
    is what carries the cipher.
    """
    view_class: type[_AccountRows] = (
        PostgresAccountsListView
        if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
        else SQLiteAccountsListView
    )
    cipher = _cipher(env)
    if cipher is None:
        return view_class
    sealed = type(f"Sealed{view_class.__name__}", (view_class,), {"cipher": cipher})
    return cast("type[AccountsListView]", sealed)


def _cipher(env: Mapping[str, str]) -> Cipher | None:
    """The cipher the events use, read from CIPHER_TOPIC and CIPHER_KEY as the
    library's factory reads them."""
    environment = Environment(env=dict(env))
    topic = environment.get("CIPHER_TOPIC") or (
        "eventsourcing.cipher:AESCipher" if environment.get("CIPHER_KEY") else ""
    )
    if not topic:
        return None
    cipher_class: type[Cipher] = resolve_topic(topic)
    return cipher_class(environment)


def _fetch_one(curs: Cursor[DictRow]) -> DictRow:
    row = curs.fetchone()
    if row is None:  # an aggregate query always returns a row
        msg = "No row returned."
        raise ReadModelError(msg)
    return row


def _to_pence(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def _from_pence(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(CENT)


def _to_text(moment: datetime) -> str:
    """UTC, always with microseconds: equal widths sort as text does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
