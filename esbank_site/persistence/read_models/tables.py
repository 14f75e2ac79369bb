"""The accounts list's tables and SQL, written once for both databases.

Each view is one of the library's tracking recorders (the pattern its
``ProjectionRunner`` expects) that also owns a table of rows and a one-row
summary of them, named after its tracking table: ``accountslist_tracking``,
``accountslist_rows`` and ``accountslist_summary``.

Every change reads the account's row, changes it and writes it back in the
same transaction as the event's tracking record, which the single-row
tracking table refuses to repeat or move backwards: each event changes the
list exactly once, even with two processes at it. A change of balance or a
new account changes the summary in the same transaction, so the summary is
exactly the rows added up, and a page reads it instead of adding up every
row.

What differs between SQLite and PostgreSQL is in ``dialects.py`` (values,
types, names) and in the two small subclasses in ``sqlite.py`` and
``postgres.py`` (how to read one consistent state, and how to swap a
rebuild in). With a CIPHER_KEY the rows are sealed (``sealed.py``).
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, PersistenceError

from accounts.account_numbers import number_search
from accounts.money import ZERO
from accounts.projections import (
    LEADER_NAME,
    AccountsListContents,
    AccountsListView,
    AccountsPage,
    AccountsQuery,
    AccountsSummary,
    ReadModelError,
)
from accounts.summaries import AccountSummary
from esbank_site.persistence.read_models.sealed import RowSeal, page_in_memory

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from eventsourcing.cipher import Cipher
    from eventsourcing.persistence import Tracking

    from esbank_site.persistence.read_models.dialects import Dialect

# Sort keys (see accounts.projections.SORTS) to columns: a whitelist, since
# column names cannot be query parameters.
SORT_COLUMNS = {
    "owner": "owner_key",
    "name": "name_key",
    "balance": "balance",
    "last_activity": "last_activity_at",
    "opened": "opened_at",
}
# Indexes, named after their table: (suffix, columns). Every sort has one.
INDEXES = [
    ("owner_idx", "owner_key, account_id"),
    ("name_idx", "name_key, account_id"),
    ("balance_idx", "balance, account_id"),
    ("activity_idx", "last_activity_at, account_id"),
    ("opened_idx", "opened_at, account_id"),
]
# Every column a row has, in order; a sealed row leaves all but three NULL.
COLUMNS = [
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
    "number",  # added to existing tables by migration 0004
    "frozen",  # added to existing tables by migration 0005
]
REBUILD_INFIX = "_rebuild"


def rows_table_name(tracking_table_name: str) -> str:
    """``accountslist_tracking`` -> ``accountslist_rows``."""
    return tracking_table_name.removesuffix("_tracking") + "_rows"


def summary_table_name(tracking_table_name: str) -> str:
    """``accountslist_tracking`` -> ``accountslist_summary``."""
    return tracking_table_name.removesuffix("_tracking") + "_summary"


def shadow_tracking_table_name(tracking_table_name: str) -> str:
    """Where a rebuild writes: ``accountslist_tracking`` -> ``..._rebuild_tracking``."""
    return tracking_table_name.removesuffix("_tracking") + REBUILD_INFIX + "_tracking"


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` anywhere, its own % and _ taken literally."""
    escaped = search.casefold().replace("\\", "\\\\").replace("%", "\\%")
    return "%" + escaped.replace("_", "\\_") + "%"


@dataclasses.dataclass
class _Batch:
    """A ``batch()`` in progress: its transaction and what it holds back."""

    cursor: Any
    rows: dict[UUID, AccountSummary] = dataclasses.field(default_factory=dict)
    # Accounts the batch's events name (``expect``), read together the first
    # time one is needed; and rows read but not (yet) changed.
    expected: set[UUID] = dataclasses.field(default_factory=set)
    loaded: dict[UUID, AccountSummary] = dataclasses.field(default_factory=dict)
    opened: set[UUID] = dataclasses.field(default_factory=set)
    first: Tracking | None = None
    last: Tracking | None = None
    # What the batch adds to the summary: accounts opened, money moved.
    accounts: int = 0
    balance: Decimal = ZERO


class AccountsListTables(AccountsListView):
    """The accounts list in SQL tables: load, change, store, track.

    Subclasses name their ``dialect`` and say how to read one consistent
    state of the tables, how to hold writers off, and how to swap a rebuilt
    set of tables in; the rest is here.
    """

    dialect: ClassVar[Dialect]
    # Set on the sealed variants that ``accounts_list_view_class`` makes.
    cipher: ClassVar[Cipher | None] = None
    # What ``batch()`` holds back until it ends, if one is open.
    _batch: _Batch | None = None

    if TYPE_CHECKING:  # the library's recorders define these, later in the MRO
        datastore: Any
        tracking_table_name: str

        def _insert_tracking(self, c: Any, tracking: Tracking) -> None: ...

        def _max_tracking_id(self, application_name: str, c: Any) -> int | None: ...

        def create_table(self) -> None: ...

    def _name_tables(self, tracking_table_name: str, schema: str = "") -> None:
        """Name the tables after the tracking table, and write the statements."""
        self.rows_table_name = rows_table_name(tracking_table_name)
        self.summary_table_name = summary_table_name(tracking_table_name)
        self._rows = self.dialect.table(self.rows_table_name, schema)
        self._summary = self.dialect.table(self.summary_table_name, schema)
        self._tables = [
            self.dialect.table(name, schema)
            for name in (self.rows_table_name, self.summary_table_name)
        ] + [self.dialect.table(tracking_table_name, schema)]
        self._select_row_sql = self._sql("SELECT * FROM {rows} WHERE account_id = :id")
        self._select_rows_sql = self._sql(
            "SELECT * FROM {rows} WHERE " + self.dialect.one_of("account_id", "ids")
        )
        # Columns named: those added by a migration may sit in another order.
        names = ", ".join("account_id" if c == "id" else c for c in COLUMNS)
        self._insert_row_sql = self._sql(
            f"INSERT INTO {{rows}} ({names}) VALUES ("
            + ", ".join(f":{c}" for c in COLUMNS)
            + ")"
        )
        self._update_row_sql = self._sql(
            "UPDATE {rows} SET balance = :balance, "
            "overdraft_limit = :overdraft_limit, is_closed = :is_closed, "
            "last_activity_at = :last_activity_at, version = :version, "
            "sealed = :sealed, number = :number, frozen = :frozen "
            "WHERE account_id = :id"
        )
        self._select_summary_sql = self._sql("SELECT * FROM {summary}")
        self._store_summary_sql = self._sql(
            "INSERT INTO {summary} VALUES (1, :account_count, :total_balance, "
            ":sealed) ON CONFLICT (id) DO UPDATE SET "
            "account_count = :account_count, total_balance = :total_balance, "
            "sealed = :sealed"
        )

    def _sql(self, template: str) -> str:
        """A statement on this view's tables, in this database's style."""
        return self.dialect.statement(
            template.format(rows=self._rows, summary=self._summary)
        )

    def _create_statements(self) -> list[str]:
        """The rows table, its indexes and the summary (tracking: the library's)."""
        t = self.dialect.types
        return [
            # Plain columns, or NULLs beside a sealed row.
            f"CREATE TABLE IF NOT EXISTS {self._rows} ("
            f"account_id {t.id} PRIMARY KEY, owner {t.text}, name {t.text}, "
            f"owner_key {t.sort_key}, name_key {t.sort_key}, currency {t.text}, "
            f"balance {t.money}, overdraft_limit {t.money}, is_closed {t.flag}, "
            f"opened_at {t.time}, last_activity_at {t.time}, "
            f"version {t.count} NOT NULL, sealed {t.sealed}, number {t.text}, "
            f"frozen {t.flag})"
            f"{t.rows_table_options}",
            *self._create_index_statements(self),
            # One row: the rows added up (or NULLs beside a sealed summary).
            f"CREATE TABLE IF NOT EXISTS {self._summary} ("
            f"id {t.small} PRIMARY KEY CHECK (id = 1), "
            f"account_count {t.count}, total_balance {t.total}, sealed {t.sealed})",
        ]

    def _create_index_statements(self, view: AccountsListTables) -> list[str]:
        """The indexes of ``view``'s rows table (this one's, or a swap's target)."""
        return [
            "CREATE INDEX IF NOT EXISTS "
            f"{self.dialect.index(f'{view.rows_table_name}_{suffix}')} "
            f"ON {view._rows} ({columns})"
            for suffix, columns in INDEXES
        ]

    @property
    def table_names(self) -> tuple[str, ...]:
        return self.rows_table_name, self.summary_table_name, self.tracking_table_name

    @property
    def seal(self) -> RowSeal | None:
        return RowSeal(self.cipher) if self.cipher is not None else None

    # Writing.

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Record the events inside in one transaction: a pull, or a replay.

        Rows are read once, changed in memory and written at the end, with
        the batch's last tracking record; its first one is written at once,
        so an event the view has already seen still fails, before any work,
        and another process processing the same events waits for this
        transaction and then fails the same way. The whole batch is applied
        exactly once, or not at all. One thread at a time per view object
        (the batch in progress is the object's): ``ProjectionProcessor``
        holds its lock, a rebuild owns its shadow. A batch inside a batch
        joins it.
        """
        if self._batch is not None:
            yield
            return
        with self.datastore.transaction(commit=True) as c:
            self._batch = _Batch(c)
            try:
                yield
                self._flush(self._batch)
            finally:
                self._batch = None

    def expect(self, account_ids: Iterable[UUID]) -> None:
        """Inside a batch: the accounts its events will change, if they exist.

        Their rows are then read in one query, the first time one is needed
        (after the batch's first tracking record, so they are current),
        rather than one query each.
        """
        if self._batch is not None:
            self._batch.expected.update(account_ids)

    def _flush(self, batch: _Batch) -> None:
        """Every row the batch changed, in one statement per kind of write."""
        inserts: list[Mapping[str, Any]] = []
        updates: list[Mapping[str, Any]] = []
        for account_id, row in batch.rows.items():
            params = self._params(row)
            (inserts if account_id in batch.opened else updates).append(params)
        if inserts:
            self._execute_many(batch.cursor, self._insert_row_sql, inserts)
        if updates:
            self._execute_many(batch.cursor, self._update_row_sql, updates)
        self._add_to_summary(batch.cursor, batch.accounts, batch.balance)
        if batch.last is not batch.first and batch.last is not None:
            self._insert_tracking(batch.cursor, batch.last)

    def insert_tracking(self, tracking: Tracking) -> None:
        """An event that changes no row: only the position moves."""
        with self._writing(tracking):
            pass

    def record_opened(self, row: AccountSummary, tracking: Tracking) -> None:
        with self._writing(tracking) as c:
            batch = self._batch
            if batch is None:
                self._execute(c, self._insert_row_sql, self._params(row))
                self._add_to_summary(c, 1, row.balance)
            elif row.id in batch.rows:
                msg = f"Account {row.id} was opened twice."
                raise IntegrityError(msg)
            else:
                batch.rows[row.id] = row
                batch.opened.add(row.id)
                batch.accounts += 1
                batch.balance += row.balance

    def record_movement(
        self,
        account_id: UUID,
        amount: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(account_id, tracking, version, at, amount=amount)

    def record_overdraft_limit(
        self,
        account_id: UUID,
        limit: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(account_id, tracking, version, at, overdraft_limit=limit)

    def record_closed(
        self, account_id: UUID, version: int, at: datetime, tracking: Tracking
    ) -> None:
        self._change(account_id, tracking, version, at, is_closed=True)

    def record_number(
        self,
        account_id: UUID,
        number: str,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(account_id, tracking, version, at, number=number)

    def record_frozen(
        self,
        account_id: UUID,
        frozen: bool,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        self._change(account_id, tracking, version, at, frozen=frozen)

    def _change(
        self,
        account_id: UUID,
        tracking: Tracking,
        version: int,
        at: datetime,
        *,
        amount: Decimal = ZERO,
        **changes: Any,
    ) -> None:
        """Change the account's row: ``amount`` added, ``changes`` set."""
        with self._writing(tracking) as c:
            batch = self._batch
            row = self._held_row(c, batch, account_id) if batch else None
            if row is None:
                id_param = {"id": self.dialect.encode_id(account_id)}
                self._execute(c, self._select_row_sql, id_param)
                found = c.fetchone()
                row = None if found is None else self._decode(account_id, found)
            if row is None:
                msg = (
                    f"Account {account_id} is not in the accounts list "
                    f"(notification {tracking.notification_id})."
                )
                raise ReadModelError(msg)
            changed = dataclasses.replace(
                row,
                balance=row.balance + amount,
                version=version,
                last_activity_at=at,
                **changes,
            )
            if batch is None:
                self._execute(c, self._update_row_sql, self._params(changed))
                self._add_to_summary(c, 0, amount)
            else:
                batch.rows[account_id] = changed
                batch.balance += amount

    def _held_row(
        self, c: Any, batch: _Batch, account_id: UUID
    ) -> AccountSummary | None:
        """The row as the batch holds it, reading the expected ones if due."""
        row = batch.rows.get(account_id) or batch.loaded.get(account_id)
        if row is None and account_id in batch.expected:
            wanted = batch.expected - batch.rows.keys() - batch.loaded.keys()
            batch.expected = set()
            self._execute(
                c, self._select_rows_sql, {"ids": self.dialect.encode_ids(wanted)}
            )
            for found in c.fetchall():
                loaded = self._decode_row(found)
                batch.loaded[loaded.id] = loaded
            row = batch.loaded.get(account_id)
        return row

    @contextmanager
    def _writing(self, tracking: Tracking) -> Iterator[Any]:
        """A write transaction (the batch's, if any) that has recorded ``tracking``.

        The tracking record comes first: on SQLite its insert takes the
        write lock at once (waiting for it if need be), so the row read
        after it is current; and a repeated event fails before any work.
        """
        batch = self._batch
        if batch is not None:
            if batch.first is None:
                self._insert_tracking(batch.cursor, tracking)
                batch.first = tracking
            elif batch.last and tracking.notification_id <= batch.last.notification_id:
                msg = f"Notification {tracking.notification_id} came out of order."
                raise IntegrityError(msg)
            batch.last = tracking
            yield batch.cursor
            return
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            yield c

    def _add_to_summary(self, c: Any, accounts: int, balance: Decimal) -> None:
        """Add to the summary, in the transaction that changes the rows.

        Read, then written back, as rows are: the tracking record written
        first holds off every other writer until this one commits (on SQLite
        the write lock, on PostgreSQL the tracking row's lock), and the
        summary is read after it, so it is the latest.
        """
        if accounts or balance:
            self._store_summary(c, self._read_summary(c).plus(accounts, balance))

    def add_number_column(self) -> None:
        """Give a rows table made before account numbers its ``number`` column.

        Tables made since have it (``_create_statements``); so this only
        adds it where it is missing (migration 0004).
        """
        self._add_missing_column("number", self.dialect.types.text)

    def add_frozen_column(self) -> None:
        """Give a rows table made before freezes its ``frozen`` column (0005).

        Left NULL on the rows already there, which reads as not frozen: no
        account was frozen before the column existed.
        """
        self._add_missing_column("frozen", self.dialect.types.flag)

    def _add_missing_column(self, column: str, column_type: str) -> None:
        """Add ``column`` (one of ours, never input) to the rows, unless there."""
        select = self._sql(f"SELECT {column} FROM {{rows}} LIMIT 0")
        try:
            with self.datastore.transaction(commit=False) as c:
                self._execute(c, select, {})
        except PersistenceError:  # no such column (the library's wrapping)
            alter = f"ALTER TABLE {{rows}} ADD COLUMN {column} {column_type}"
            with self.datastore.transaction(commit=True) as c:
                self._execute(c, self._sql(alter), {})

    def recount_summary(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._hold_off_writers(c)
            self._store_summary(c, AccountsSummary.of(self._read_all_rows(c)))

    # Reading: one consistent state, so the page, count, total and position agree.

    def get_accounts_page(self, query: AccountsQuery) -> AccountsPage:
        if self.seal is not None:
            contents = self.get_all_rows()
            return page_in_memory(contents.rows, query, contents.position)
        where, params = self._where(query)
        direction = "DESC" if query.descending else "ASC"
        column = SORT_COLUMNS[query.sort]
        select_page = self._sql(
            f"SELECT * FROM {{rows}}{where} ORDER BY {column} {direction}, "
            f"account_id {direction} LIMIT :limit OFFSET :offset"
        )
        select_matched = self._sql(
            f"SELECT COUNT(*) AS n, SUM(balance) AS total FROM {{rows}}{where}"
        )
        with self._reading() as c:
            page = {"limit": query.per_page, "offset": query.offset}
            self._execute(c, select_page, params | page)
            rows = [self._decode_row(r) for r in c.fetchall()]
            summary = matched = self._read_summary(c)
            if query.is_filtered:
                self._execute(c, select_matched, params)
                found = c.fetchone()
                total = found["total"]
                matched = AccountsSummary(
                    found["n"],
                    ZERO if total is None else self.dialect.decode_money(total),
                )
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return AccountsPage(
            query=query,
            rows=rows,
            count=matched.account_count,
            total_balance=matched.total_balance,
            all_count=summary.account_count,
            position=position,
        )

    def get_all_rows(self) -> AccountsListContents:
        with self._reading() as c:
            rows = self._read_all_rows(c)
            summary = self._read_summary(c)
            position = self._max_tracking_id(LEADER_NAME, c) or 0
        return AccountsListContents(position, rows, summary)

    def _read_all_rows(self, c: Any) -> list[AccountSummary]:
        self._execute(c, self._sql("SELECT * FROM {rows}"), {})
        return [self._decode_row(r) for r in c.fetchall()]

    @staticmethod
    def _where(query: AccountsQuery) -> tuple[str, dict[str, str]]:
        conditions: list[str] = []
        params: dict[str, str] = {}
        if query.owner is not None:
            # The index, then the exact owner.
            conditions.append("owner_key = :owner_key AND owner = :owner")
            params |= {"owner_key": query.owner.casefold(), "owner": query.owner}
        if query.search:
            # Names, and account numbers typed with or without their space.
            conditions.append(
                "(owner_key LIKE :pattern ESCAPE '\\' "
                "OR name_key LIKE :pattern ESCAPE '\\' "
                "OR number LIKE :digits ESCAPE '\\')"
            )
            params["pattern"] = like_pattern(query.search)
            params["digits"] = like_pattern(number_search(query.search))
        if not conditions:
            return "", {}
        return " WHERE " + " AND ".join(conditions), params

    # Rows and the summary, to and from the database.

    def _params(self, row: AccountSummary) -> dict[str, Any]:
        d = self.dialect
        if self.seal is not None:
            return dict.fromkeys(COLUMNS) | {
                "id": d.encode_id(row.id),
                "version": row.version,
                "sealed": self.seal.seal(row),
            }
        return {
            "id": d.encode_id(row.id),
            "owner": row.owner,
            "name": row.name,
            "owner_key": row.owner.casefold(),
            "name_key": row.name.casefold(),
            "currency": row.currency,
            "balance": d.encode_money(row.balance),
            "overdraft_limit": d.encode_money(row.overdraft_limit),
            "is_closed": d.encode_flag(row.is_closed),
            "opened_at": d.encode_time(row.opened_at),
            "last_activity_at": d.encode_time(row.last_activity_at),
            "version": row.version,
            "sealed": None,
            "number": row.number,
            "frozen": d.encode_flag(row.frozen),
        }

    def _decode_row(self, r: Mapping[str, Any]) -> AccountSummary:
        return self._decode(self.dialect.decode_id(r["account_id"]), r)

    def _decode(self, account_id: UUID, r: Mapping[str, Any]) -> AccountSummary:
        if r["sealed"] is not None:
            return self._needs_seal().open(account_id, r["version"], r["sealed"])
        d = self.dialect
        return AccountSummary(
            id=account_id,
            owner=r["owner"],
            name=r["name"],
            currency=r["currency"],
            balance=d.decode_money(r["balance"]),
            overdraft_limit=d.decode_money(r["overdraft_limit"]),
            is_closed=bool(r["is_closed"]),
            version=r["version"],
            opened_at=d.decode_time(r["opened_at"]),
            last_activity_at=d.decode_time(r["last_activity_at"]),
            number=r["number"] or "",
            frozen=bool(r["frozen"]),
        )

    def _read_summary(self, c: Any) -> AccountsSummary:
        """The summary (all zeros if it was never written)."""
        self._execute(c, self._select_summary_sql, {})
        r = c.fetchone()
        if r is None:
            return AccountsSummary()
        if r["sealed"] is not None:
            return self._needs_seal().open_summary(r["sealed"])
        return AccountsSummary(
            r["account_count"], self.dialect.decode_money(r["total_balance"])
        )

    def _store_summary(self, c: Any, summary: AccountsSummary) -> None:
        params: dict[str, Any] = {
            "account_count": summary.account_count,
            "total_balance": self.dialect.encode_money(summary.total_balance),
            "sealed": None,
        }
        if self.seal is not None:
            params = dict.fromkeys(params) | {"sealed": self.seal.seal_summary(summary)}
        self._execute(c, self._store_summary_sql, params)

    def _needs_seal(self) -> RowSeal:
        if self.seal is None:
            msg = "The accounts list is sealed: it needs the bank's CIPHER_KEY."
            raise ReadModelError(msg)
        return self.seal

    # Rebuilding.

    def shadow(self) -> AccountsListTables:
        """An empty twin of this view, in the rebuild's tables (not created)."""
        shadow_name = shadow_tracking_table_name(self.tracking_table_name)
        return type(self)(self.datastore, tracking_table_name=shadow_name)  # type: ignore[call-arg]

    def drop_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in self._tables:
                c.execute(f"DROP TABLE IF EXISTS {table}")

    # What each database does its own way.

    def _execute(self, c: Any, statement: str, params: Mapping[str, Any]) -> None:
        c.execute(statement, params)

    def _execute_many(
        self, c: Any, statement: str, params: Sequence[Mapping[str, Any]]
    ) -> None:
        c.executemany(statement, params)

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A read-only transaction that sees one state of all the tables."""

    @abstractmethod
    def _hold_off_writers(self, c: Any) -> None:
        """Make writers of rows wait until this transaction ends."""

    @abstractmethod
    def swap_into(self, live: Any) -> None:
        """Replace ``live``'s tables with this view's, in one transaction."""
