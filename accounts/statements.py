"""An account's statement: its movements of money, a page at a time.

A statement is one more reading of an account's events: each event that
moves money is a line, with the balance after it. ``statement_line`` says
which events those are and what each is called; it dispatches on the
event's class, like every other consumer of the events (the followers'
policies, the projection, the audits), and names the events it leaves out,
so that a new kind of event cannot be forgotten here without a test saying
so (``tests/domain/test_event_consumers.py``).

A page costs the same however long the account's history: see
``read_statement_page``. Filtered pages (``accounts/statement_filters.py``)
and the whole statement streamed as a download (``statement_lines``) read
the events in pages too, so memory never grows with the history.

A reversal is a line of its own (``Reversal of deposit``, ...), with the
staff's reason as its reference and, for a transfer, the other account;
the original's line stays as it was.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import singledispatch
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from accounts import domain as account_events
from accounts.domain import signed_amount
from accounts.money import ZERO
from accounts.statement_filters import (
    EVERY_LINE,
    REVERSAL_LABEL,
    StatementFilter,
    kind_code,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from eventsourcing.application import EventStore

# Events read at once while looking for the lines a filter keeps, or while
# streaming a whole statement: enough that a sparse filter takes few reads,
# few enough that memory does not grow with the account's history.
FILTERED_READ_SIZE = 500


@dataclass(frozen=True)
class StatementLine:
    """One movement of money on an account, with the balance after it."""

    version: int
    timestamp: datetime
    kind: str
    amount: Decimal  # signed: + money in, - money out
    balance: Decimal
    transaction_id: UUID
    counterparty_id: UUID | None
    description: str
    # The transaction a reversal's line undoes; None for every other line.
    reverses: UUID | None = None

    @property
    def code(self) -> str:
        """The line's kind as its stable code (``transfer_out``, ``reversal``)."""
        return kind_code(self)


@dataclass(frozen=True)
class RecentStatement:
    """A page of an account's movements, and what lies either side of it."""

    lines: list[StatementLine]  # oldest first
    opening_balance: Decimal  # the balance before the first of these lines
    has_earlier: bool  # whether older movements exist
    has_later: bool = False  # whether newer ones exist, up to the version asked
    # The ``before`` that asks for the page of newer lines; None: the latest.
    later_before: int | None = None


@singledispatch
def statement_line(domain_event: Any, balance: Decimal) -> StatementLine | None:
    """The statement's line for an account's event, ``balance`` after it.

    None for an event that moves no money. Every event of an account is
    registered below, as a line or as none.
    """
    return None


@statement_line.register(account_events.Deposited)
def _deposit(domain_event: Any, balance: Decimal) -> StatementLine:
    return _line(domain_event, "Deposit", balance, description=domain_event.description)


@statement_line.register(account_events.Withdrawn)
def _withdrawal(domain_event: Any, balance: Decimal) -> StatementLine:
    return _line(domain_event, "Withdrawal", balance)


@statement_line.register(account_events.TransferSent)
def _transfer_out(domain_event: Any, balance: Decimal) -> StatementLine:
    return _line(
        domain_event,
        "Transfer out",
        balance,
        counterparty=domain_event.to_account_id,
        description=domain_event.description,
    )


@statement_line.register(account_events.TransferReceived)
def _transfer_in(domain_event: Any, balance: Decimal) -> StatementLine:
    return _line(
        domain_event,
        "Transfer in",
        balance,
        counterparty=domain_event.from_account_id,
        description=domain_event.description,
    )


# What a reversal's line calls the leg it undoes: that leg's own line's label.
REVERSED_LEG_LABELS = {
    "deposit": "deposit",
    "withdrawal": "withdrawal",
    "transfer sent": "transfer out",
    "transfer received": "transfer in",
}


@statement_line.register(account_events.Reversed)
def _reversal(domain_event: Any, balance: Decimal) -> StatementLine:
    """Staff undid a movement: its signed amount, and their reason as reference."""
    leg = REVERSED_LEG_LABELS.get(domain_event.original, domain_event.original)
    return _line(
        domain_event,
        f"{REVERSAL_LABEL} of {leg}",
        balance,
        counterparty=domain_event.counterparty_id,
        description=domain_event.reason,
        reverses=domain_event.reverses,
    )


@statement_line.register(account_events.AccountOpened)
@statement_line.register(account_events.NumberAssigned)
@statement_line.register(account_events.OverdraftLimitSet)
@statement_line.register(account_events.AccountClosed)
@statement_line.register(account_events.AccountFrozen)
@statement_line.register(account_events.AccountUnfrozen)
def _no_movement(domain_event: Any, balance: Decimal) -> None:
    """Opening, a new overdraft limit, freezes and closing move no money."""
    return


def _line(
    domain_event: Any,
    kind: str,
    balance: Decimal,
    *,
    counterparty: UUID | None = None,
    description: str = "",
    reverses: UUID | None = None,
) -> StatementLine:
    return StatementLine(
        version=domain_event.originator_version,
        timestamp=domain_event.timestamp,
        kind=kind,
        amount=signed_amount(domain_event),
        balance=balance,
        transaction_id=domain_event.transaction_id,
        counterparty_id=counterparty,
        description=description,
        reverses=reverses,
    )


def is_movement(domain_event: Any) -> bool:
    """Whether the event has a line on the account's statement."""
    return statement_line(domain_event, ZERO) is not None


def whole_statement(events: EventStore[UUID], account_id: UUID) -> list[StatementLine]:
    """Every movement of money on the account, oldest first.

    One read of every event the account ever had: what a page of it
    (``read_statement_page``) is careful not to do. The tests and the
    benchmarks measure the pages against it.
    """
    lines = []
    balance = ZERO
    for domain_event in events.get(account_id):
        line = statement_line(domain_event, balance)
        if line is not None:
            balance += line.amount
            lines.append(dataclasses.replace(line, balance=balance))
    return lines


class AccountAt(Protocol):
    """What a page reads of the account as of its last version."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def balance(self) -> Decimal: ...


def read_statement_page(
    events: EventStore[UUID],
    account: AccountAt,
    *,
    upto_version: int,
    limit: int,
    matching: StatementFilter = EVERY_LINE,
) -> RecentStatement:
    """The latest ``limit`` movements up to ``account``'s version, oldest first.

    ``account`` is the account as of the page's last version, and
    ``upto_version`` the newest version the reader may see: newer movements
    up to it make ``has_later`` true, and ``later_before`` says which page
    holds them, so pages line up both ways.

    Its cost does not grow with the account's history: the balance comes
    from the account as loaded (a snapshot and the events after it), the
    lines are read newest first, working the running balance backwards from
    it, and at most ``limit + 1`` newer movements are read to place the page
    of newer ones.

    With ``matching``, the page holds the latest ``limit`` lines it keeps,
    each with the account's balance after it, worked backwards through the
    lines it leaves out too. Each further read is then larger, up to
    ``FILTERED_READ_SIZE`` events, and reading stops at the filter's start,
    since an account's events are recorded in time order.
    """
    read_size = limit + 1
    balance = opening_balance = account.balance
    newest_first: list[StatementLine] = []
    has_earlier = finished = False
    lte = account.version
    while lte >= 1 and not finished:
        page = list(events.get(account.id, lte=lte, desc=True, limit=read_size))
        if not page:
            break
        for domain_event in page:
            line = statement_line(domain_event, balance)
            if line is None:
                continue
            if matching.is_before_start(line):
                finished = True
                break
            if matching.matches(line):
                if len(newest_first) == limit:
                    has_earlier = finished = True
                    break
                newest_first.append(line)
                opening_balance = balance - line.amount
            balance -= line.amount
        lte = page[-1].originator_version - 1
        read_size = _next_read_size(read_size, matching)
    later = _later_movements(
        events, account.id, account.version, upto_version, limit + 1, matching=matching
    )
    return RecentStatement(
        lines=newest_first[::-1],
        opening_balance=opening_balance,
        has_earlier=has_earlier,
        has_later=bool(later),
        later_before=later[limit] if len(later) > limit else None,
    )


def _later_movements(
    events: EventStore[UUID],
    account_id: UUID,
    after: int,
    upto: int,
    limit: int,
    *,
    matching: StatementFilter,
) -> list[int]:
    """Versions of the first ``limit`` movements after ``after``, to ``upto``.

    Only those ``matching`` keeps; none past the filter's end.
    """
    read_size = limit
    versions: list[int] = []
    while after < upto and len(versions) < limit:
        page = list(events.get(account_id, gt=after, lte=upto, limit=read_size))
        if not page:
            break
        for domain_event in page:
            line = statement_line(domain_event, ZERO)
            if line is None:
                continue
            if matching.is_past_end(line):
                return versions[:limit]
            if matching.matches(line):
                versions.append(line.version)
        after = page[-1].originator_version
        read_size = _next_read_size(read_size, matching)
    return versions[:limit]


def _next_read_size(read_size: int, matching: StatementFilter) -> int:
    """How many events to read next, looking for more lines ``matching`` keeps.

    Four times as many each time, up to FILTERED_READ_SIZE: a filter that
    keeps recent lines costs a page's read, and a sparse one few reads.
    """
    if matching.is_everything:
        return read_size
    return max(read_size, min(read_size * 4, FILTERED_READ_SIZE))


def statement_lines(
    events: EventStore[UUID],
    account_id: UUID,
    *,
    upto_version: int,
    matching: StatementFilter = EVERY_LINE,
    read_size: int = FILTERED_READ_SIZE,
) -> Iterator[StatementLine]:
    """The movements up to ``upto_version`` that ``matching`` keeps, oldest first.

    Each with the account's balance after it, counted from the first event.
    A generator reading ``read_size`` events at a time: what a download of
    the statement streams, in memory that does not grow with the history.
    It stops at the filter's end, since events are recorded in time order.
    """
    balance = ZERO
    after = 0
    while after < upto_version:
        page = list(events.get(account_id, gt=after, lte=upto_version, limit=read_size))
        if not page:
            return
        for domain_event in page:
            line = statement_line(domain_event, balance)
            if line is None:
                continue
            balance += line.amount
            line = dataclasses.replace(line, balance=balance)
            if matching.is_past_end(line):
                return
            if matching.matches(line):
                yield line
        after = page[-1].originator_version
