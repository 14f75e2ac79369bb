"""The accounts list: a projection of the Accounts log into a read model.

Staff pages list every account (owner, name, balance, last activity),
sorted, searched and paginated. Loading each account from its events to
draw one page would cost a read per account, and summing balances read one
by one during traffic gives totals that never existed. So the list is a
materialised view: ``AccountsListProjection`` folds each Accounts event into
one row per account, in the same database transaction as its tracking
record, exactly once. A page, its count and its total then come from one
query at one position of the Accounts log, and the page says which. What
the whole list adds up to (how many accounts, holding how much) is kept in
a one-row summary, changed with the rows, so a page does not add up every
row to show it.

This module holds what the rest of the bank sees: the projection, the row
and page types and the view's interface. The SQL lives with the database
it is written for (``esbank_site.persistence.read_models``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, get_args

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from accounts import domain as account_events
from accounts.application import Accounts
from accounts.domain import REVERSIBLE, signed_amount
from accounts.money import CENT, ZERO
from accounts.reversal import REVERSAL_PROGRESS
from accounts.summaries import AccountSummary, opened

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from uuid import UUID

    from eventsourcing.persistence import Tracking

# The application whose notification log the list follows, as its tracking
# records name it.
LEADER_NAME = Accounts.name

# What a page may be sorted by, each with its default direction: names A-Z,
# the biggest balance and the latest activity first.
SORTS = {
    "owner": False,
    "name": False,
    "balance": True,
    "last_activity": True,
    "opened": True,
}
DEFAULT_SORT = "owner"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
# The highest page number a query may ask for: beyond any list the bank
# will hold (a hundred million accounts), and small enough that its offset
# fits the 64-bit integers both databases count rows in.
MAX_PAGE = 1_000_000
MAX_SEARCH_LENGTH = 100

# The Accounts events that change no row of the list: receipts, index
# entries, number reservations, a reversal's own progress.
POSITION_ONLY = (
    account_events.ReceiptIssued
    | account_events.AccountIndexed
    | account_events.AccountNumberReserved
    | REVERSAL_PROGRESS
)


class ReadModelError(RuntimeError):
    """Raised when an event does not fit the read model (e.g. an unknown account).

    Raised inside the view's transaction, so neither the row nor the tracking
    record is written: the event stays unprocessed and is retried later.
    """


@dataclass(frozen=True)
class AccountsSummary:
    """What every account in the list adds up to."""

    account_count: int = 0
    total_balance: Decimal = ZERO

    @classmethod
    def of(cls, rows: Iterable[AccountSummary]) -> AccountsSummary:
        """The summary of ``rows``, added up one by one."""
        every = list(rows)
        return cls(len(every), sum((row.balance for row in every), ZERO))

    def plus(self, accounts: int, balance: Decimal) -> AccountsSummary:
        return AccountsSummary(
            self.account_count + accounts, self.total_balance + balance
        )


@dataclass(frozen=True)
class AccountsQuery:
    """What a page of the list asks for; only known sorts get this far.

    ``search`` matches owners and names containing it, in any case, and
    account numbers containing its digits (spaces ignored);
    ``owner`` keeps one owner's accounts only (exactly that owner).
    """

    search: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    owner: str | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            msg = f"Cannot sort accounts by {self.sort!r}; use one of {list(SORTS)}."
            raise ValueError(msg)
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.per_page <= MAX_PER_PAGE:
            msg = (
                f"Pages are numbered 1 to {MAX_PAGE:,} and hold 1 to "
                f"{MAX_PER_PAGE} accounts."
            )
            raise ValueError(msg)

    @classmethod
    def from_params(
        cls,
        search: str | None = None,
        sort: str | None = None,
        page: str | int | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        *,
        owner: str | None = None,
    ) -> AccountsQuery:
        """A query from request parameters, falling back to defaults, never raising.

        ``sort`` is a key of ``SORTS``, or ``-key`` for the other direction
        than that key's default (e.g. ``balance`` is largest first,
        ``-balance`` smallest first). A ``page`` that is not a number is the
        first page, and one beyond ``MAX_PAGE`` is ``MAX_PAGE`` (the view then
        shows the last page there is).
        """
        key = (sort or "").strip()
        flipped = key.startswith("-")
        key = key.removeprefix("-")
        if key not in SORTS:
            key, flipped = DEFAULT_SORT, False
        try:
            number = min(max(1, int(page or 1)), MAX_PAGE)
        except ValueError:
            number = 1
        return cls(
            search=(search or "").strip()[:MAX_SEARCH_LENGTH],
            sort=key,
            descending=SORTS[key] != flipped,
            page=number,
            per_page=min(max(per_page, 1), MAX_PER_PAGE),
            owner=owner,
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def is_filtered(self) -> bool:
        """Whether some accounts may be left out (else the summary is the total)."""
        return bool(self.search) or self.owner is not None

    @property
    def sort_param(self) -> str:
        """This query's sort as ``from_params`` reads it back."""
        return self.sort if self.descending == SORTS[self.sort] else f"-{self.sort}"


@dataclass(frozen=True)
class AccountsPage:
    """One page of the list, with figures taken at the same position.

    ``count`` and ``total_balance`` cover every account the search matched,
    not only this page, and ``all_count`` every account in the list;
    ``position`` is the last Accounts notification the list reflects (0
    before the first).
    """

    query: AccountsQuery
    rows: Sequence[AccountSummary]
    count: int
    total_balance: Decimal
    all_count: int
    position: int

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.count / self.query.per_page))

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1

    @property
    def has_next(self) -> bool:
        return self.query.page < self.page_count


@dataclass(frozen=True)
class AccountsListContents:
    """Every row of the list, its summary and the position they reflect."""

    position: int
    rows: list[AccountSummary]
    summary: AccountsSummary


class AccountsListView(TrackingRecorder, ABC):
    """The accounts list read model, with its tracking records.

    Every ``record_*`` method writes its row, the summary and its tracking
    record in one transaction: the tracking table refuses a position already
    recorded, so an event is applied to the list exactly once, even across
    processes, and the summary always adds up the rows beside it.
    """

    @abstractmethod
    def record_opened(self, row: AccountSummary, tracking: Tracking) -> None:
        """Add a new account's row."""

    @abstractmethod
    def batch(self) -> AbstractContextManager[None]:
        """Record the events given inside in one transaction."""

    @abstractmethod
    def record_movement(
        self,
        account_id: UUID,
        amount: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        """Add ``amount`` (negative for money out) to an account's balance."""

    @abstractmethod
    def record_overdraft_limit(
        self,
        account_id: UUID,
        limit: Decimal,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        """Change an account's overdraft limit."""

    @abstractmethod
    def record_closed(
        self, account_id: UUID, version: int, at: datetime, tracking: Tracking
    ) -> None:
        """Mark an account closed."""

    @abstractmethod
    def record_frozen(
        self,
        account_id: UUID,
        frozen: bool,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        """Mark an account frozen (money may come in, none may leave) or not."""

    @abstractmethod
    def record_number(
        self,
        account_id: UUID,
        number: str,
        version: int,
        at: datetime,
        tracking: Tracking,
    ) -> None:
        """Give a row the number its account was assigned."""

    @abstractmethod
    def get_accounts_page(self, query: AccountsQuery) -> AccountsPage:
        """One page of the list, its count, total and position, all consistent."""

    @abstractmethod
    def get_all_rows(self) -> AccountsListContents:
        """Every row, the summary and the position they reflect, in one read.

        For the audit, and for pages of a sealed list.
        """

    @abstractmethod
    def recount_summary(self) -> None:
        """Add up the rows into the summary again, holding off writers meanwhile.

        For a list kept before it had a summary (see migration 0003).
        """

    def get_position(self) -> int:
        """The last Accounts notification the list reflects (0: none yet)."""
        return self.max_tracking_id(LEADER_NAME) or 0

    @property
    @abstractmethod
    def table_names(self) -> tuple[str, ...]:
        """The rows, summary and tracking tables, in that order."""


class AccountsListProjection(Projection[AccountsListView]):
    """Folds Accounts events into the accounts list, one row per account.

    It follows every topic of the Accounts log, and events that change no
    row still move the tracking position: the list's position then reaches
    the log's head, so its lag reads 0 exactly when it is up to date.

    The two legs of a transfer are saved together and follow each other in
    the log. The sending leg is held back until the receiving one arrives,
    and both are written in one transaction: a page never shows money that
    has left one account and not yet reached the other. Until then the
    position stays before the sending leg, so a crash in between replays it.
    """

    name = "AccountsList"
    # Notifications of these topics need not be decoded: what the list
    # makes of them is ``position_only`` (esbank_site/runtime/processing.py).
    position_only_topics = frozenset(get_topic(cls) for cls in get_args(POSITION_ONLY))

    def __init__(self, view: AccountsListView) -> None:
        super().__init__(view)
        self._sent: tuple[Any, Tracking] | None = None

    def position_only(self, tracking: Tracking) -> None:
        """An event of ``position_only_topics``, which the list need not see."""
        self._position_only(None, tracking)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Every Accounts event is registered below; others only move the position."""
        self._position_only(domain_event, tracking)

    @process_event.register(POSITION_ONLY)
    def _position_only(self, domain_event: Any, tracking: Tracking) -> None:
        """Events that change no row (receipts, index entries, number
        reservations, a reversal's own progress) only move the position.

        A reversal changes balances through its accounts' ``Reversed``
        events, saved with its ``CarriedOut``.
        """
        self._settle_held_back_leg(tracking)
        self.view.insert_tracking(tracking)

    @process_event.register(account_events.TransferSent)
    def _sent_leg(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self._sent = (domain_event, tracking)

    @process_event.register(account_events.Reversed)
    def _reversed(self, domain_event: Any, tracking: Tracking) -> None:
        """A reversal's leg moves its account's balance by its signed amount.

        A transfer's reversal is saved as two legs, the sending side's
        first, like the transfer: they are written together in the same way.
        """
        if domain_event.original == REVERSIBLE[account_events.TransferSent]:
            self._sent_leg(domain_event, tracking)
        elif domain_event.original == REVERSIBLE[account_events.TransferReceived]:
            self._received_leg(domain_event, tracking)
        else:
            self._deposited_or_withdrawn(domain_event, tracking)

    @process_event.register(account_events.TransferReceived)
    def _received_leg(self, domain_event: Any, tracking: Tracking) -> None:
        sent = self._held_back_leg_before(tracking)
        if sent is None or sent[0].transaction_id != domain_event.transaction_id:
            if sent is not None:
                self._moved(*sent)
            self._moved(domain_event, tracking)
            return
        with self.view.batch():  # both legs, one transaction
            self._moved(*sent)
            self._moved(domain_event, tracking)

    def _settle_held_back_leg(self, tracking: Tracking) -> None:
        """A sending leg not followed by its receiving leg is written alone."""
        sent = self._held_back_leg_before(tracking)
        if sent is not None:
            self._moved(*sent)

    def _held_back_leg_before(self, tracking: Tracking) -> tuple[Any, Tracking] | None:
        """The held-back sending leg, if it comes before ``tracking``.

        Processing that failed starts again from the recorded position,
        before the held-back leg: that leg then comes again, and the copy
        held from the failed attempt is dropped.
        """
        sent, self._sent = self._sent, None
        if sent is None or sent[1].notification_id >= tracking.notification_id:
            return None
        return sent

    @process_event.register(account_events.AccountOpened)
    def _opened(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self.view.record_opened(opened(domain_event), tracking)

    @process_event.register(account_events.Deposited)
    @process_event.register(account_events.Withdrawn)
    def _deposited_or_withdrawn(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self._moved(domain_event, tracking)

    def _moved(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record_movement(
            domain_event.originator_id,
            signed_amount(domain_event).quantize(CENT),
            domain_event.originator_version,
            domain_event.timestamp,
            tracking,
        )

    @process_event.register(account_events.OverdraftLimitSet)
    def _limit_set(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self.view.record_overdraft_limit(
            domain_event.originator_id,
            domain_event.limit,
            domain_event.originator_version,
            domain_event.timestamp,
            tracking,
        )

    @process_event.register(account_events.NumberAssigned)
    def _numbered(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self.view.record_number(
            domain_event.originator_id,
            domain_event.number,
            domain_event.originator_version,
            domain_event.timestamp,
            tracking,
        )

    @process_event.register(account_events.AccountFrozen)
    @process_event.register(account_events.AccountUnfrozen)
    def _frozen_or_unfrozen(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self.view.record_frozen(
            domain_event.originator_id,
            isinstance(domain_event, account_events.AccountFrozen),
            domain_event.originator_version,
            domain_event.timestamp,
            tracking,
        )

    @process_event.register(account_events.AccountClosed)
    def _closed(self, domain_event: Any, tracking: Tracking) -> None:
        self._settle_held_back_leg(tracking)
        self.view.record_closed(
            domain_event.originator_id,
            domain_event.originator_version,
            domain_event.timestamp,
            tracking,
        )
