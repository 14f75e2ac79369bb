"""An account's statement: its movements of money, a page at a time.

A statement is one more reading of an account's events: each event that
moves money is a line, with the balance after it. ``statement_line`` says
which events those are and what each is called; it dispatches on the
event's class, like every other consumer of the events (the followers'
policies, the projection, the audits), and names the events it leaves out,
so that a new kind of event cannot be forgotten here without a test saying
so (``tests/domain/test_event_consumers.py``).

A page costs the same however long the account's history: see
``read_statement_page``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import singledispatch
from typing import TYPE_CHECKING, Any
from uuid import UUID

from accounts import domain as account_events
from accounts.domain import signed_amount
from accounts.money import ZERO

if TYPE_CHECKING:
    from eventsourcing.application import EventStore

    from accounts.domain import Account


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
        domain_event, "Transfer out", balance, counterparty=domain_event.to_account_id
    )


@statement_line.register(account_events.TransferReceived)
def _transfer_in(domain_event: Any, balance: Decimal) -> StatementLine:
    return _line(
        domain_event, "Transfer in", balance, counterparty=domain_event.from_account_id
    )


@statement_line.register(account_events.AccountOpened)
@statement_line.register(account_events.OverdraftLimitSet)
@statement_line.register(account_events.AccountClosed)
def _no_movement(domain_event: Any, balance: Decimal) -> None:
    """Opening, a new overdraft limit and closing move no money."""
    return


def _line(
    domain_event: Any,
    kind: str,
    balance: Decimal,
    *,
    counterparty: UUID | None = None,
    description: str = "",
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


def read_statement_page(
    events: EventStore[UUID], account: Account, *, upto_version: int, limit: int
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
    """
    balance = account.balance
    newest_first: list[StatementLine] = []
    has_earlier = False
    lte = account.version
    while lte >= 1 and not has_earlier:
        page = list(events.get(account.id, lte=lte, desc=True, limit=limit + 1))
        if not page:
            break
        for domain_event in page:
            line = statement_line(domain_event, balance)
            if line is None:
                continue
            if len(newest_first) == limit:
                has_earlier = True
                break
            newest_first.append(line)
            balance -= line.amount
        lte = page[-1].originator_version - 1
    later = _later_movements(
        events, account.id, account.version, upto_version, limit + 1
    )
    return RecentStatement(
        lines=newest_first[::-1],
        opening_balance=balance,
        has_earlier=has_earlier,
        has_later=bool(later),
        later_before=later[limit] if len(later) > limit else None,
    )


def _later_movements(
    events: EventStore[UUID], account_id: UUID, after: int, upto: int, limit: int
) -> list[int]:
    """Versions of the first ``limit`` movements after ``after``, to ``upto``."""
    versions: list[int] = []
    while after < upto and len(versions) < limit:
        page = list(events.get(account_id, gt=after, lte=upto, limit=limit))
        if not page:
            break
        versions += [e.originator_version for e in page if is_movement(e)]
        after = page[-1].originator_version
    return versions[:limit]
