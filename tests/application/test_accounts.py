"""The Accounts application on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from accounts.domain import Receipt
from accounts.errors import (
    AccountClosedError,
    AccountNotFoundError,
    BalanceNotZeroError,
    ConflictError,
    InsufficientFundsError,
    InvalidAccountNameError,
    InvalidAmountError,
    SameAccountTransferError,
    VersionNotFoundError,
)
from accounts.statements import whole_statement
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.spies import count_events_read, lose_the_first_reply


def head(bank):
    """The Accounts notification log's last position: unchanged = nothing recorded."""
    return bank.accounts.recorder.max_notification_id() or 0


def test_opened_accounts_are_listed_in_order_and_by_owner(bank):
    first = bank.accounts.open_account("ada", "Current")
    second = bank.accounts.open_account("bob", "Savings")
    third = bank.accounts.open_account("ada", "Holiday")
    index = bank.accounts.account_index  # an event-sourced log, read in pages
    assert [e.account_id for e in index.get()] == [first, second, third]
    assert [e.account_id for e in index.get(gt=1, limit=1)] == [second]
    assert bank.accounts.count_accounts() == 3
    assert bank.accounts.list_owner_account_ids("ada") == [first, third]
    assert bank.accounts.list_owner_account_ids("carol") == []


def test_summary_reports_the_account_as_it_stands(bank, ada):
    summary = bank.accounts.get_account(ada)
    assert (summary.owner, summary.name, summary.currency) == ("ada", "Current", "GBP")
    assert summary.balance == Decimal("100.00")
    assert summary.version == 2
    assert summary.last_activity_at >= summary.opened_at


def test_transfer_moves_money_and_returns_one_transaction_id(bank, ada, bob):
    transaction_id = bank.accounts.transfer(ada, bob, "40.25")
    assert bank.accounts.get_account(ada).balance == Decimal("59.75")
    assert bank.accounts.get_account(bob).balance == Decimal("40.25")
    [out] = [
        line
        for line in whole_statement(bank.accounts.events, ada)
        if line.kind == "Transfer out"
    ]
    [into] = whole_statement(bank.accounts.events, bob)
    assert out.transaction_id == into.transaction_id == transaction_id
    assert (out.amount, into.amount) == (Decimal("-40.25"), Decimal("40.25"))
    assert (out.counterparty_id, into.counterparty_id) == (bob, ada)


def test_statement_lists_movements_with_running_balance(bank, ada):
    bank.accounts.withdraw(ada, "30")
    bank.accounts.staff.set_overdraft_limit(ada, "10", "Agreed overdraft")
    bank.accounts.withdraw(ada, "75")
    statement = whole_statement(bank.accounts.events, ada)
    assert [(s.kind, s.amount, s.balance) for s in statement] == [
        ("Deposit", Decimal("100.00"), Decimal("100.00")),
        ("Withdrawal", Decimal("-30.00"), Decimal("70.00")),
        ("Withdrawal", Decimal("-75.00"), Decimal("-5.00")),
    ]


def test_history_shows_every_stored_event_with_its_data(bank, ada):
    history = bank.accounts.get_history(ada)
    assert [(e.version, e.type) for e in history] == [(1, "Opened"), (2, "Deposited")]
    number = bank.accounts.get_account(ada).number
    assert history[0].data == {
        "originator_topic": "accounts.domain:Account",
        "owner": "ada",
        "name": "Current",
        "currency": "GBP",
        "number": number,
    }
    assert history[1].data["amount"] == Decimal("100.00")


def test_state_as_of_any_version(bank, ada):
    bank.accounts.withdraw(ada, "60")
    assert bank.accounts.get_account(ada, version=1).balance == Decimal("0.00")
    assert bank.accounts.get_account(ada, version=2).balance == Decimal("100.00")
    assert bank.accounts.get_account(ada, version=3).balance == Decimal("40.00")


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (lambda b, a, o: b.accounts.withdraw(a, "100.01"), InsufficientFundsError),
        (lambda b, a, o: b.accounts.deposit(a, "0.001"), InvalidAmountError),
        (lambda b, a, o: b.accounts.deposit(a, "1000000.01"), InvalidAmountError),
        (lambda b, a, o: b.accounts.transfer(a, a, "1"), SameAccountTransferError),
        (lambda b, a, o: b.accounts.transfer(a, uuid4(), "1"), AccountNotFoundError),
        (lambda b, a, o: b.accounts.transfer(uuid4(), a, "1"), AccountNotFoundError),
        (lambda b, a, o: b.accounts.transfer(a, o, "500"), InsufficientFundsError),
        (lambda b, a, o: b.accounts.deposit(uuid4(), "1"), AccountNotFoundError),
        (lambda b, a, o: b.accounts.close_account(a), BalanceNotZeroError),
        (lambda b, a, o: b.accounts.open_account("", "x"), InvalidAccountNameError),
    ],
)
def test_refused_commands_record_nothing(bank, ada, bob, command, error):
    before = head(bank)
    with pytest.raises(error) as refused:
        command(bank, ada, bob)
    assert str(refused.value)  # a message a person can read
    assert head(bank) == before
    assert bank.accounts.get_account(ada).balance == Decimal("100.00")
    assert bank.accounts.get_account(bob).balance == Decimal("0.00")


def test_closed_account_refuses_money_and_transfers(bank, ada, bob):
    bank.accounts.close_account(bob)
    before = head(bank)
    with pytest.raises(AccountClosedError):
        bank.accounts.deposit(bob, "1")
    with pytest.raises(AccountClosedError):
        bank.accounts.transfer(ada, bob, "1")
    assert head(bank) == before
    assert bank.accounts.get_account(bob).is_closed


def test_ids_of_other_aggregates_are_not_accounts(bank, ada):
    bank.accounts.deposit(ada, "1", idempotency_key="k")
    with pytest.raises(AccountNotFoundError):
        bank.accounts.get_account(Receipt.create_id("k"))
    with pytest.raises(AccountNotFoundError):
        bank.accounts.get_history(Receipt.create_id("k"))
    with pytest.raises(AccountNotFoundError):
        bank.accounts.get_recent_statement(Receipt.create_id("k"))


def test_accounts_are_snapshotted_every_50_events(bank, ada):
    for _ in range(49):
        bank.accounts.deposit(ada, "1")
    assert bank.accounts.get_snapshot_versions(ada) == [50]
    assert bank.accounts.get_account(ada).balance == Decimal("149.00")
    bank.accounts.deposit(ada, "1")
    assert bank.accounts.get_account(ada).balance == Decimal("150.00")


def test_a_lost_race_is_retried_then_refused_as_a_conflict(bank, ada, monkeypatch):
    real_save = bank.accounts.save
    collisions = []

    def colliding_save(*objs, **kwargs):
        if len(collisions) < 3:  # another request saved first, three times
            collisions.append(1)
            raise IntegrityError
        return real_save(*objs, **kwargs)

    monkeypatch.setattr(bank.accounts, "save", colliding_save)
    bank.accounts.deposit(ada, "1")
    assert len(collisions) == 3
    assert bank.accounts.get_account(ada).balance == Decimal("101.00")

    collisions.clear()
    monkeypatch.setattr(bank.accounts.commands, "max_attempts", 3)
    before = head(bank)
    with pytest.raises(ConflictError, match="try again"):
        bank.accounts.deposit(ada, "1")
    assert head(bank) == before


def test_version_conflicts_between_two_processes_are_retried(bank, database, ada):
    # A second Accounts application on the same database, as in another
    # web process: its stale copy of the account must not win.
    other_process = Bank(eventsourcing_env(database), process_inline=False)
    try:
        stale = other_process.accounts.repository.get(ada)
        bank.accounts.deposit(ada, "5")
        stale.deposit("7", uuid4())
        with pytest.raises(IntegrityError):
            other_process.accounts.save(stale)  # the store refuses the stale write
        other_process.accounts.deposit(ada, "7")  # the command reloads and wins
    finally:
        other_process.close()
    bank.wait_until_processed()
    assert bank.accounts.get_account(ada).balance == Decimal("112.00")
    assert bank.ledger().get_ledger().balance == Decimal("112.00")


@pytest.mark.parametrize("version", [0, -1, 3, 99])
def test_a_version_the_account_never_had_is_refused(bank, ada, version):
    with pytest.raises(VersionNotFoundError, match=f"has no version {version}"):
        bank.accounts.get_account(ada, version=version)


def test_a_commit_whose_reply_was_lost_is_not_repeated(bank, ada, bob, monkeypatch):
    # The save commits, then the connection drops before the reply: the
    # library's retry of the insert collides with what was committed.
    lost = lose_the_first_reply(bank.accounts, monkeypatch)
    transaction_id = bank.accounts.transfer(ada, bob, "30")
    assert lost
    assert bank.accounts.get_account(ada).balance == Decimal("70.00")
    assert bank.accounts.get_account(bob).balance == Decimal("30.00")
    [line] = whole_statement(bank.accounts.events, bob)
    assert line.transaction_id == transaction_id


def test_recent_statement_is_the_tail_of_the_full_one(bank, ada, bob):
    for n in range(1, 8):
        bank.accounts.deposit(ada, n)
        bank.accounts.transfer(ada, bob, "1.50")
    bank.accounts.staff.set_overdraft_limit(ada, "10", "Agreed")  # no movement
    bank.accounts.withdraw(ada, "3")
    full = whole_statement(bank.accounts.events, ada)

    recent = bank.accounts.get_recent_statement(ada, limit=5)
    assert recent.lines == full[-5:]
    assert recent.opening_balance == full[-6].balance
    assert recent.has_earlier

    everything = bank.accounts.get_recent_statement(ada, limit=len(full))
    assert everything.lines == full
    assert everything.opening_balance == Decimal("0.00")
    assert not everything.has_earlier


def test_recent_statement_stops_at_a_version(bank, ada):
    bank.accounts.deposit(ada, "5")
    bank.accounts.deposit(ada, "7")
    recent = bank.accounts.get_recent_statement(ada, upto_version=3, limit=10)
    assert [line.balance for line in recent.lines] == [
        Decimal("100.00"),
        Decimal("105.00"),
    ]


def test_recent_statement_reads_no_more_than_it_shows(bank, ada, monkeypatch):
    for _ in range(120):
        bank.accounts.deposit(ada, "1")
    recorder = bank.accounts.events.recorder
    read = count_events_read(recorder, monkeypatch)
    recent = bank.accounts.get_recent_statement(ada, limit=10)
    assert len(recent.lines) == 10
    assert sum(read) <= 11 + 50  # the page, and at most a snapshot's tail


def statement_pages(accounts, account_id, limit):
    """Every page of the statement, newest first, following ``Older`` links."""
    upto = accounts.get_account(account_id).version
    pages = [accounts.get_recent_statement(account_id, upto_version=upto, limit=limit)]
    while pages[-1].has_earlier:
        before = pages[-1].lines[0].version
        pages.append(
            accounts.get_recent_statement(
                account_id, upto_version=upto, before=before, limit=limit
            )
        )
    return pages


def test_statement_pages_cover_the_statement_with_their_running_balances(bank, ada):
    for n in range(1, 13):
        bank.accounts.withdraw(ada, n)
        if n % 4 == 0:
            bank.accounts.staff.set_overdraft_limit(ada, n, "Agreed")  # no movement
    full = whole_statement(bank.accounts.events, ada)  # 13 lines
    pages = statement_pages(bank.accounts, ada, limit=5)
    assert [page.lines for page in pages] == [full[-5:], full[-10:-5], full[:-10]]
    assert [page.opening_balance for page in pages] == [
        full[-6].balance,
        full[-11].balance,
        Decimal("0.00"),
    ]
    assert [(p.has_earlier, p.has_later) for p in pages] == [
        (True, False),
        (True, True),
        (False, True),
    ]


def test_each_statement_page_names_the_page_of_newer_lines(bank, ada):
    for _ in range(12):
        bank.accounts.deposit(ada, "2")
    pages = statement_pages(bank.accounts, ada, limit=5)
    latest, middle, oldest = pages
    assert latest.later_before is None
    assert middle.later_before is None  # the page after it is the latest
    assert oldest.later_before == latest.lines[0].version
    newer = bank.accounts.get_recent_statement(
        ada, upto_version=14, before=oldest.later_before, limit=5
    )
    assert newer == middle


def test_a_statement_page_before_a_later_version_is_the_latest(bank, ada):
    bank.accounts.deposit(ada, "5")
    latest = bank.accounts.get_recent_statement(ada, upto_version=3, limit=10)
    assert bank.accounts.get_recent_statement(ada, before=99, limit=10) == latest
    assert (
        bank.accounts.get_recent_statement(ada, upto_version=3, before=4, limit=10)
        == latest
    )


def test_a_statement_page_ends_at_the_version_shown(bank, ada):
    bank.accounts.deposit(ada, "5")
    bank.accounts.deposit(ada, "7")  # version 4: saved after the page was read
    page = bank.accounts.get_recent_statement(ada, upto_version=3, before=3, limit=1)
    assert [line.balance for line in page.lines] == [Decimal("100.00")]
    assert (page.has_later, page.later_before) == (True, None)


def test_nothing_comes_before_the_opening(bank, ada):
    with pytest.raises(VersionNotFoundError):
        bank.accounts.get_recent_statement(ada, before=1, limit=10)


def test_an_older_statement_page_reads_no_more_than_it_shows(bank, ada, monkeypatch):
    for _ in range(300):
        bank.accounts.deposit(ada, "1")
    upto = bank.accounts.get_account(ada).version
    recorder = bank.accounts.events.recorder
    read = count_events_read(recorder, monkeypatch)
    page = bank.accounts.get_recent_statement(
        ada, upto_version=upto, before=150, limit=10
    )
    assert [line.version for line in page.lines] == list(range(140, 150))
    assert [line.balance for line in page.lines] == [
        Decimal(100 + version - 2) for version in range(140, 150)
    ]
    assert page.later_before == 160
    # The page, the newer lines that place the next page, a snapshot's tail.
    assert sum(read) <= 11 + 11 + 50
