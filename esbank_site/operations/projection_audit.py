"""Recompute each projection from the events and compare it with its read model.

Part of the audit (``esbank_site.operations.audit``). The accounts list is folded here
again, from the Accounts log, without the projection's code: a bug in the
projection, an event it forgot to handle, a row edited in the database or an
event changed after it was projected all show up as a difference, which
names the account.

The accounts list's summary is compared with the folded accounts too: it is
kept beside the rows, not computed from them, so it could drift on its own.

The comparison is made at the read model's own position: its rows, its
summary and its position are read together, then only the notifications up
to that position are folded. A list that lags behind the log is therefore
not wrong, only late (the audit reports lag separately); one that disagrees
with the events it claims to reflect is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import singledispatch
from typing import TYPE_CHECKING, Any

from accounts import domain as account_events
from accounts.money import ZERO
from accounts.projections import AccountsSummary
from accounts.reversal import REVERSAL_PROGRESS
from accounts.summaries import AccountSummary, opened
from esbank_site.operations.reading import read_log

if TYPE_CHECKING:
    from uuid import UUID

    from esbank_site.bank import Bank


@dataclass
class ProjectionCheck:
    """What comparing one projection with its recomputation found."""

    name: str
    position: int
    rows: int
    problems: list[str] = field(default_factory=list)


def check_projections(bank: Bank) -> list[ProjectionCheck]:
    """Every projection of the bank, recomputed and compared."""
    return [check_accounts_list(bank)]


def check_accounts_list(bank: Bank) -> ProjectionCheck:
    """Fold the Accounts log into account rows; compare with the accounts list."""
    contents = bank.accounts_list().get_all_rows()
    position, rows, summary = contents.position, contents.rows, contents.summary
    check = ProjectionCheck("AccountsList", position, len(rows))
    expected = _fold_accounts_list(bank, position)
    expected_summary = AccountsSummary.of(expected.values())
    if summary != expected_summary:
        check.problems.append(
            f"The accounts list's summary (at position {position}) counts "
            f"{summary.account_count} accounts holding £{summary.total_balance}; "
            f"the events say {expected_summary.account_count} holding "
            f"£{expected_summary.total_balance}."
        )
    actual = {row.id: row for row in rows}
    for account_id, row in expected.items():
        if account_id not in actual:
            check.problems.append(
                f"Account {account_id} is missing from the accounts list "
                f"(at position {position})."
            )
            continue
        differences = _differences(actual[account_id], row)
        if differences:
            check.problems.append(
                f"Account {account_id} in the accounts list (at position "
                f"{position}) differs from its events: {'; '.join(differences)}."
            )
    for account_id in actual.keys() - expected.keys():
        check.problems.append(
            f"Account {account_id} is in the accounts list, but no event "
            f"up to position {position} opened it."
        )
    return check


def _fold_accounts_list(bank: Bank, position: int) -> dict[UUID, AccountSummary]:
    rows: dict[UUID, AccountSummary] = {}
    # Unreadable events are left out: the audit's own pass over the log
    # reports them, naming the account, whose row then differs here too.
    events = read_log(bank.accounts, stop=position) if position else iter(())
    for domain_event in events:
        row = fold_row(domain_event, rows.get(domain_event.originator_id))
        if row is not None:
            rows[row.id] = row
    return rows


@singledispatch
def fold_row(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    """The account's row after ``domain_event``, by the audit's own reckoning.

    None where the event changes no row. Every Accounts event is registered
    below, as changing a row or as not.
    """
    return None


@fold_row.register(account_events.ReceiptIssued)
@fold_row.register(account_events.AccountIndexed)
@fold_row.register(account_events.AccountNumberReserved)
@fold_row.register(REVERSAL_PROGRESS)
def _no_row(domain_event: Any, row: AccountSummary | None) -> None:
    """Receipts, index entries, number reservations and reversals are no
    account's: a reversal moves money by its accounts' ``Reversed`` events."""


@fold_row.register(account_events.NumberAssigned)
def _numbered(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, number=domain_event.number)


@fold_row.register(account_events.AccountOpened)
def _opened(domain_event: Any, row: AccountSummary | None) -> AccountSummary:
    return opened(domain_event)


@fold_row.register(account_events.Deposited)
@fold_row.register(account_events.TransferReceived)
def _money_in(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, amount=domain_event.amount)


@fold_row.register(account_events.Withdrawn)
@fold_row.register(account_events.TransferSent)
def _money_out(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, amount=-domain_event.amount)


@fold_row.register(account_events.Reversed)
def _reversed(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    # Signed already: negative takes money back, positive returns it.
    return _changed(domain_event, row, amount=domain_event.amount)


@fold_row.register(account_events.OverdraftLimitSet)
def _limit_set(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, overdraft_limit=domain_event.limit)


@fold_row.register(account_events.AccountClosed)
def _closed(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, is_closed=True)


@fold_row.register(account_events.AccountFrozen)
def _frozen(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, frozen=True)


@fold_row.register(account_events.AccountUnfrozen)
def _unfrozen(domain_event: Any, row: AccountSummary | None) -> AccountSummary | None:
    return _changed(domain_event, row, frozen=False)


def _changed(
    domain_event: Any,
    row: AccountSummary | None,
    *,
    amount: Decimal = ZERO,
    **changes: Any,
) -> AccountSummary | None:
    """``row`` after an event of its account (None: money on no account)."""
    if row is None:
        return None
    return dataclasses.replace(
        row,
        balance=row.balance + amount,
        version=domain_event.originator_version,
        last_activity_at=domain_event.timestamp,
        **changes,
    )


def _differences(actual: AccountSummary, expected: AccountSummary) -> list[str]:
    return [
        f"{f.name} is {getattr(actual, f.name)}, the events say "
        f"{getattr(expected, f.name)}"
        for f in fields(AccountSummary)
        if getattr(actual, f.name) != getattr(expected, f.name)
    ]
