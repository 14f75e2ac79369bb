"""One owner holds at most ``open_accounts.most`` open accounts at once.

The site sets the limit from ``ESBANK_MAX_OPEN_ACCOUNTS`` (20 by default);
an Accounts application built without it has none. Opening past it is
refused with ``TooManyAccountsError`` and records nothing; a closed account
makes room. The count and the new account's entry in the owner's list are
one decision: two processes opening at once for the same owner collide on
that list, and the loser counts again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from accounts.application import Accounts
from accounts.errors import TooManyAccountsError
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env

if TYPE_CHECKING:
    from collections.abc import Iterator

LIMIT = 3


@pytest.fixture
def limited(bank: Bank) -> Bank:
    bank.accounts.open_accounts.most = LIMIT
    return bank


def head(bank: Bank) -> int:
    return bank.accounts.recorder.max_notification_id() or 0


def test_the_limit_comes_from_the_environment(database):
    env = eventsourcing_env(database)
    assert Accounts(env).open_accounts.most == 0  # none unless set
    limited = Accounts(env | {"MAX_OPEN_ACCOUNTS": "7"})
    assert limited.open_accounts.most == 7


def test_an_owner_cannot_open_past_the_limit_and_nothing_is_recorded(limited):
    opened = [limited.accounts.open_account("ada", f"Account {n}") for n in range(3)]
    before = head(limited)
    with pytest.raises(TooManyAccountsError) as refused:
        limited.accounts.open_account("ada", "One too many")
    assert str(refused.value) == (
        "You already have 3 open accounts, the most one customer may hold. "
        "Close one before opening another."
    )
    assert head(limited) == before
    assert limited.accounts.list_owner_account_ids("ada") == opened
    # Another owner is counted apart.
    limited.accounts.open_account("bob", "Current")


def test_closing_an_account_makes_room(limited):
    opened = [limited.accounts.open_account("ada", f"Account {n}") for n in range(3)]
    limited.accounts.close_account(opened[0])
    fourth = limited.accounts.open_account("ada", "Fourth")
    assert limited.accounts.list_owner_account_ids("ada") == [*opened, fourth]
    with pytest.raises(TooManyAccountsError):
        limited.accounts.open_account("ada", "Fifth")


@pytest.fixture
def two_processes(database: dict[str, Any]) -> Iterator[tuple[Accounts, Accounts]]:
    """Two Accounts applications on one database, as in two web processes."""
    env = eventsourcing_env(database) | {"MAX_OPEN_ACCOUNTS": str(LIMIT)}
    banks = [Bank(env, process_inline=False) for _ in range(2)]
    try:
        yield banks[0].accounts, banks[1].accounts
    finally:
        for bank in banks:
            bank.close()


def test_two_processes_opening_at_once_cannot_pass_the_limit(
    bank, database, two_processes, monkeypatch
):
    first, _ = two_processes
    for n in range(LIMIT - 1):
        first.open_account("ada", f"Account {n}")
    # Each process counts the owner's open accounts before either saves: a
    # barrier holds both right after their first count.
    both_counted = threading.Barrier(2, timeout=30)
    counts: list[int] = []
    for app in two_processes:
        count = app.open_accounts.count_open

        def counted(account_ids, count=count):
            number = count(account_ids)
            counts.append(number)
            if len(counts) <= 2:
                both_counted.wait()
            return number

        monkeypatch.setattr(app.open_accounts, "count_open", counted)
    outcomes: list[str] = []

    def open_one(app: Accounts, name: str) -> None:
        try:
            app.open_account("ada", name)
        except TooManyAccountsError:
            outcomes.append("refused")
        else:
            outcomes.append("opened")

    threads = [
        threading.Thread(target=open_one, args=(app, f"Race {n}"))
        for n, app in enumerate(two_processes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\n{engine}: two processes opening at once at {LIMIT - 1} of {LIMIT}: "
        f"{sorted(outcomes)}, counts seen {counts}"
    )
    assert sorted(outcomes) == ["opened", "refused"]
    # Both counted the same accounts; the loser counted again, and refused.
    assert counts[:2] == [LIMIT - 1, LIMIT - 1]
    assert counts[2:] == [LIMIT]
    assert len(first.list_owner_account_ids("ada")) == LIMIT
