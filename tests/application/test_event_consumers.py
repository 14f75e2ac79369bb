"""Every consumer of the events handles, or explicitly ignores, every event.

A new event (say ``Account.InterestPaid``) has to be taught to each part of
the bank that reads events: the ledger's and the transaction log's
policies, the accounts list's projection, the audit's two folds and the
statement. Each of them dispatches on the event's class, and registers the
events it leaves alone as well as those it follows, so forgetting one fails
here, naming the consumer, instead of as a wrong figure at audit time. The
tour's "Adding an event" (docs/TOUR.md) walks through it.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, DomainEvent

from accounts.domain import Account, AccountIndexed, AccountNumber, Receipt
from accounts.projections import AccountsListProjection
from accounts.reversal import Reversal, ReversalIndexed
from accounts.statements import statement_line
from esbank_site.operations.audit import Books
from esbank_site.operations.projection_audit import fold_row
from ledger.application import LedgerProcess, TransactionLogProcess

# Every aggregate class gets its own copy of the library's base event
# classes (``Account.Event``, ``Account.Created``): templates, never stored.
LIBRARY_BASES = {
    name for name, value in vars(Aggregate).items() if isinstance(value, type)
}


def event_classes(aggregate_class: type[Any]) -> set[type[DomainEvent]]:
    """The event classes an aggregate records: not the library's base classes."""
    return {
        value
        for name, value in vars(aggregate_class).items()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and name not in LIBRARY_BASES
    }


ACCOUNT_EVENTS = event_classes(Account)
# What the Accounts notification log holds: account events, receipts, number
# reservations, reversals, and the entries of the event-sourced lists of
# accounts and of reversals.
ACCOUNTS_LOG_EVENTS = (
    ACCOUNT_EVENTS
    | event_classes(Receipt)
    | event_classes(AccountNumber)
    | event_classes(Reversal)
    | {AccountIndexed, ReversalIndexed}
)


def method_dispatcher(cls: type[Any], name: str) -> Any:
    """The single-dispatch function behind a ``singledispatchmethod``."""
    getattr(cls, name)  # settles the library's deferred registrations
    return vars(cls)[name].dispatcher


CONSUMERS = {
    "LedgerProcess.policy": (
        method_dispatcher(LedgerProcess, "policy"),
        ACCOUNTS_LOG_EVENTS,
    ),
    "TransactionLogProcess.policy": (
        method_dispatcher(TransactionLogProcess, "policy"),
        ACCOUNTS_LOG_EVENTS,
    ),
    "AccountsListProjection.process_event": (
        method_dispatcher(AccountsListProjection, "process_event"),
        ACCOUNTS_LOG_EVENTS,
    ),
    "the audit's fold (esbank_site/operations/audit.py: Books.fold)": (
        method_dispatcher(Books, "fold"),
        ACCOUNTS_LOG_EVENTS,
    ),
    "the accounts list's audit (esbank_site/operations/projection_audit.py)": (
        fold_row,
        ACCOUNTS_LOG_EVENTS,
    ),
    # A statement reads one account's events only.
    "the statement (accounts/statements.py: statement_line)": (
        statement_line,
        ACCOUNT_EVENTS,
    ),
}


def registered(dispatcher: Any, event_class: type[Any]) -> bool:
    """Whether the consumer names ``event_class``: to follow it, or to ignore it."""
    return dispatcher.dispatch(event_class) is not dispatcher.registry[object]


def test_every_event_class_of_every_aggregate_is_found() -> None:
    assert {cls.__qualname__ for cls in ACCOUNTS_LOG_EVENTS} == {
        "Account.Opened",
        "Account.Deposited",
        "Account.Withdrawn",
        "Account.TransferSent",
        "Account.TransferReceived",
        "Account.OverdraftLimitSet",
        "Account.Frozen",
        "Account.Unfrozen",
        "Account.Reversed",
        "Account.Closed",
        "Account.NumberAssigned",
        "Receipt.Issued",
        "AccountNumber.Reserved",
        "AccountIndexed",
        "Reversal.Requested",
        "Reversal.RequestedAgain",
        "Reversal.Approved",
        "Reversal.Rejected",
        "Reversal.CarriedOut",
        "ReversalIndexed",
    }


@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_every_event_is_handled_or_explicitly_ignored(consumer: str) -> None:
    dispatcher, events = CONSUMERS[consumer]
    forgotten = sorted(
        cls.__qualname__ for cls in events if not registered(dispatcher, cls)
    )
    assert not forgotten, (
        f"{consumer} neither handles nor ignores {', '.join(forgotten)}: "
        "register each event there, with the events it follows or with the "
        "ones it ignores (docs/TOUR.md, 'Adding an event')."
    )


@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_an_event_nobody_was_taught_is_caught(consumer: str) -> None:
    class InterestPaid(Aggregate.Event):
        """An event added to the domain and to no consumer yet."""

    dispatcher, _ = CONSUMERS[consumer]
    assert not registered(dispatcher, InterestPaid)
