"""Accounts with a history recorded at chosen moments, for the statement's tests.

The library stamps each event with ``eventsourcing.domain``'s
``datetime_now_with_tzinfo``; ``StoppedClock`` replaces it, so a test says
when each movement happened and can filter by date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import uuid4

if TYPE_CHECKING:
    from uuid import UUID

    import pytest

    from esbank_site.bank import Bank

# The first moment of a history: a Thursday in January, when London is on UTC.
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class StoppedClock:
    """The time events are stamped with: set by the test, not by the world."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: datetime = START) -> None:
        self.now = now
        monkeypatch.setattr(
            "eventsourcing.domain.datetime_now_with_tzinfo", lambda: self.now
        )

    def at(self, moment: datetime) -> StoppedClock:
        self.now = moment
        return self


def daily_history(bank: Bank, clock: StoppedClock, owner: str = "ada") -> UUID:
    """An account with 32 movements, at 09:00 UTC each day of January 2026.

    Days 1 to 30, by the day's number: every third day from the 1st a deposit
    referenced "Salary <day>" (£100), every third from the 2nd a withdrawal
    (£7), every third from the 3rd a transfer out (£3) to a second account of
    the same owner, called "Savings"; on the 10th and the 20th, a transfer in
    (£11) from it too, at 15:00. Made on the aggregates and saved at once,
    as ``long_history`` is.
    """
    accounts = bank.accounts
    clock.at(START - timedelta(days=1))
    account_id = accounts.open_account(owner, "Everyday")
    savings_id = accounts.open_account(owner, "Savings")
    everyday = accounts.repository.get(account_id)
    savings = accounts.repository.get(savings_id)
    savings.deposit(Decimal(1000), uuid4())
    for day in range(1, 31):
        clock.at(START + timedelta(days=day - 1))
        if day % 3 == 1:
            everyday.deposit(Decimal(100), uuid4(), f"Salary {day}")
        elif day % 3 == 2:
            everyday.withdraw(Decimal(7), uuid4())
        else:
            everyday.send_transfer(Decimal(3), savings, uuid4())
        if day in {10, 20}:
            clock.at(START + timedelta(days=day - 1, hours=6))
            savings.send_transfer(Decimal(11), everyday, uuid4())
    accounts.save(everyday, savings)
    bank.wait_until_processed()
    return account_id


def long_history(bank: Bank, owner: str, movements: int) -> tuple[UUID, Decimal]:
    """An account with ``movements`` deposits of £1.00, saved in one transaction.

    Made on the aggregate and saved at once: the same events the commands
    would record, in a fraction of the time, then a snapshot, as one saved
    command at a time would have left one in the last 50 events. Returns
    the id and the balance.
    """
    account_id = bank.accounts.open_account(owner, "Long history")
    account = bank.accounts.repository.get(account_id)
    for number in range(movements):
        account.deposit(Decimal("1.00"), uuid4(), f"Payment {number}")
    bank.accounts.save(account)
    bank.accounts.take_snapshot_now(account_id)
    bank.wait_until_processed()
    return account_id, Decimal(movements).quantize(Decimal("0.01"))
