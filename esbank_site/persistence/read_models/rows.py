"""What both accounts list views share: names, and the writes.

Every change reads the account's row, changes it and writes it back in the
same transaction as the event's tracking record, which the single-row
tracking table refuses to repeat or move backwards: each event changes the
list exactly once, even with two processes at it. A change of balance or a
new account changes the one-row summary in the same transaction, so the
summary is exactly the rows added up, and a page reads it instead of adding
up every row. Only the SQL differs between the databases (``sqlite.py``,
``postgres.py``).
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from accounts.money import ZERO
from accounts.projections import (
    AccountRow,
    AccountsListView,
    AccountsPage,
    AccountsQuery,
    AccountsSummary,
    ReadModelError,
)
from esbank_site.persistence.read_models.sealed import RowSeal, page_in_memory

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from eventsourcing.cipher import Cipher
    from eventsourcing.persistence import Tracking

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


class RebuildableView(Protocol):
    """What ``rebuild_projection`` needs of a view, beyond the list itself."""

    tracking_table_name: str

    def shadow(self) -> RebuildableView: ...

    def batch(self) -> AbstractContextManager[None]: ...

    def create_table(self) -> None: ...

    def drop_tables(self) -> None: ...

    def swap_into(self, live: Any) -> None: ...


@dataclasses.dataclass
class _Batch:
    """A ``batch()`` in progress: its transaction and what it holds back."""

    cursor: Any
    rows: dict[UUID, AccountRow] = dataclasses.field(default_factory=dict)
    opened: set[UUID] = dataclasses.field(default_factory=set)
    first: Tracking | None = None
    last: Tracking | None = None
    # What the batch adds to the summary: accounts opened, money moved.
    accounts: int = 0
    balance: Decimal = ZERO


class AccountRows(AccountsListView):
    """The writes, the same on both databases: load, change, store, track.

    Subclasses supply the SQL: a transaction that starts with the tracking
    record, and how a row is selected, inserted, updated and paged.
    """

    # Set on the sealed variants that ``accounts_list_view_class`` makes.
    cipher: ClassVar[Cipher | None] = None
    # What ``batch()`` holds back until it ends, if one is open.
    _batch: _Batch | None = None

    @property
    def seal(self) -> RowSeal | None:
        return RowSeal(self.cipher) if self.cipher is not None else None

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
        with self._transaction() as c:
            self._batch = _Batch(c)
            try:
                yield
                self._flush(self._batch)
            finally:
                self._batch = None

    def _flush(self, batch: _Batch) -> None:
        for account_id, row in batch.rows.items():
            if account_id in batch.opened:
                self._insert_row(batch.cursor, row)
            else:
                self._update_row(batch.cursor, row)
        self._add_to_summary(batch.cursor, batch.accounts, batch.balance)
        if batch.last is not batch.first and batch.last is not None:
            self._insert_tracking(batch.cursor, batch.last)

    def insert_tracking(self, tracking: Tracking) -> None:
        """An event that changes no row: only the position moves."""
        with self._writing(tracking):
            pass

    def record_opened(self, row: AccountRow, tracking: Tracking) -> None:
        with self._writing(tracking) as c:
            batch = self._batch
            if batch is None:
                self._insert_row(c, row)
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
            batch = self._batch
            row = batch.rows.get(account_id) if batch else None
            if row is None:
                row = self._select_row(c, account_id)
            if row is None:
                msg = (
                    f"Account {account_id} is not in the accounts list "
                    f"(notification {tracking.notification_id})."
                )
                raise ReadModelError(msg)
            changed = change(row)
            if batch is None:
                self._update_row(c, changed)
                self._add_to_summary(c, 0, changed.balance - row.balance)
            else:
                batch.rows[account_id] = changed
                batch.balance += changed.balance - row.balance

    def get_accounts_page(self, query: AccountsQuery) -> AccountsPage:
        if self.seal is not None:
            position, rows, _ = self.get_all_rows()
            return page_in_memory(rows, query, position)
        return self._page_in_sql(query)

    def recount_summary(self) -> None:
        with self._transaction() as c:
            self._hold_off_writers(c)
            summary = AccountsSummary.of(self._select_all_rows(c))
            self._store_summary(c, summary)

    def _add_to_summary(self, c: Any, accounts: int, balance: Decimal) -> None:
        """Add to the summary, in the transaction that changes the rows.

        Read, then written back, as rows are: the tracking record written
        first holds off every other writer until this one commits (on SQLite
        the write lock, on PostgreSQL the tracking row's lock), and the
        summary is read after it, so it is the latest.
        """
        if accounts or balance:
            self._store_summary(c, self._select_summary(c).plus(accounts, balance))

    def _select_summary(self, c: Any) -> AccountsSummary:
        """The summary (all zeros if it was never written)."""
        r = self._fetch_summary(c)
        if r is None:
            return AccountsSummary()
        if r["sealed"] is None:
            return self._plain_summary(r)
        if self.seal is None:
            msg = "The accounts list is sealed: it needs the bank's CIPHER_KEY."
            raise ReadModelError(msg)
        return self.seal.open_summary(r["sealed"])

    def _summary_params(self, summary: AccountsSummary) -> dict[str, Any]:
        if self.seal is not None:
            return {
                "account_count": None,
                "total_balance": None,
                "sealed": self.seal.seal_summary(summary),
            }
        return {
            "account_count": summary.account_count,
            "total_balance": self._stored_amount(summary.total_balance),
            "sealed": None,
        }

    def _decode(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow:
        if r["sealed"] is None:
            return self._plain_row(account_id, r)
        if self.seal is None:
            msg = "The accounts list is sealed: it needs the bank's CIPHER_KEY."
            raise ReadModelError(msg)
        return self.seal.open(account_id, r["version"], r["sealed"])

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
        with self._transaction() as c:
            self._insert_tracking(c, tracking)
            yield c

    @abstractmethod
    def _transaction(self) -> Any:
        """A write transaction, committed on success."""

    if TYPE_CHECKING:  # the library's recorders define it, later in the MRO

        def _insert_tracking(self, c: Any, tracking: Tracking) -> None: ...

    @abstractmethod
    def _select_row(self, c: Any, account_id: UUID) -> AccountRow | None: ...

    @abstractmethod
    def _select_all_rows(self, c: Any) -> list[AccountRow]: ...

    @abstractmethod
    def _hold_off_writers(self, c: Any) -> None:
        """Make writers of rows wait until this transaction ends."""

    @abstractmethod
    def _fetch_summary(self, c: Any) -> Mapping[str, Any] | None: ...

    @abstractmethod
    def _store_summary(self, c: Any, summary: AccountsSummary) -> None: ...

    @abstractmethod
    def _plain_summary(self, r: Mapping[str, Any]) -> AccountsSummary: ...

    @staticmethod
    @abstractmethod
    def _stored_amount(amount: Decimal) -> Any:
        """An amount as this database stores it."""

    @abstractmethod
    def _insert_row(self, c: Any, row: AccountRow) -> None: ...

    @abstractmethod
    def _update_row(self, c: Any, row: AccountRow) -> None: ...

    @abstractmethod
    def _plain_row(self, account_id: UUID, r: Mapping[str, Any]) -> AccountRow: ...

    @abstractmethod
    def _page_in_sql(self, query: AccountsQuery) -> AccountsPage: ...


# Every column a row has, for the sealed rows' NULLs.
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
]
