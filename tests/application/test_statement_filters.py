"""Filtered statements: which lines, their true balances, and what is read.

The filter itself is pure (``accounts/statement_filters.py``); the pages
and the streamed whole statement read the events on a real database,
SQLite and PostgreSQL in turn, and are checked against the whole statement
read at once (``whole_statement``) with the same filter applied to it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.statement_filters import (
    EVERY_LINE,
    KINDS,
    StatementFilter,
    kind_code,
)
from accounts.statement_queries import read_all, read_page
from accounts.statements import FILTERED_READ_SIZE, StatementLine, whole_statement
from tests.support.spies import count_events_read
from tests.support.statement_history import (
    START,
    StoppedClock,
    daily_history,
    long_history,
)

NOON = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def line(kind="Deposit", description="", at=NOON):
    return StatementLine(
        version=2,
        timestamp=at,
        kind=kind,
        amount=Decimal("1.00"),
        balance=Decimal("1.00"),
        transaction_id=None,  # type: ignore[arg-type]
        counterparty_id=None,
        description=description,
    )


# The filter alone.


def test_an_empty_filter_keeps_every_line():
    assert EVERY_LINE.is_everything
    assert StatementFilter().matches(line(description="anything"))
    assert not StatementFilter(text="x").is_everything


def test_dates_keep_lines_from_the_start_up_to_but_not_at_the_end():
    day = StatementFilter(start=NOON, end=NOON + timedelta(days=1))
    assert day.matches(line(at=NOON))
    assert day.matches(line(at=NOON + timedelta(days=1, microseconds=-1)))
    assert not day.matches(line(at=NOON + timedelta(days=1)))
    assert not day.matches(line(at=NOON - timedelta(microseconds=1)))
    assert day.is_before_start(line(at=NOON - timedelta(seconds=1)))
    assert day.is_past_end(line(at=NOON + timedelta(days=2)))


def test_a_kind_keeps_only_lines_of_that_kind():
    transfers_out = StatementFilter(kind="transfer_out")
    assert transfers_out.matches(line(kind="Transfer out"))
    assert not transfers_out.matches(line(kind="Transfer in"))
    with pytest.raises(ValueError, match="Unknown kind"):
        StatementFilter(kind="Transfer out")


def test_text_is_found_anywhere_in_the_reference_ignoring_case():
    salary = StatementFilter(text="SALARY")
    assert salary.matches(line(description="March salary, late"))
    assert not salary.matches(line(description="Rent"))
    assert not salary.matches(line(description=""))


def test_each_kind_s_code_is_its_label_in_lower_case_with_underscores():
    assert all(kind_code(line(kind=label)) == code for code, label in KINDS.items())
    # A kind added later has a code before any filter offers it.
    assert kind_code(line(kind="Interest paid")) == "interest_paid"


# Pages of a filtered statement, on a real database.


@pytest.fixture
def clock(monkeypatch):
    return StoppedClock(monkeypatch)


@pytest.fixture
def everyday(bank, clock):
    return daily_history(bank, clock)


def test_the_filters_kinds_are_every_kind_of_line_a_statement_has(bank, everyday):
    lines = whole_statement(bank.accounts.events, everyday)
    assert {each.kind for each in lines} == set(KINDS.values()) - {"Reversal"}
    # A reversal's line names what it undoes; its code is the filter's kind.
    bank.accounts.reversals.reverse(
        lines[-1].transaction_id, everyday, "carol", "Entered twice"
    )
    lines = whole_statement(bank.accounts.events, everyday)
    assert {kind_code(each) for each in lines} == set(KINDS)


FILTERS = [
    StatementFilter(kind="deposit"),
    StatementFilter(kind="transfer_in"),
    StatementFilter(text="salary 1"),
    StatementFilter(start=START + timedelta(days=9), end=START + timedelta(days=20)),
    StatementFilter(start=START + timedelta(days=4), kind="withdrawal"),
    StatementFilter(end=START + timedelta(days=6), kind="transfer_out"),
    StatementFilter(text="no such reference"),
]


def pages_of(accounts, account_id, matching, limit):
    """Every page, newest first, following Older; each with the ``before`` asked."""
    upto = accounts.get_account(account_id).version
    pages, before = [], None
    while True:
        page = read_page(
            accounts,
            account_id,
            upto_version=upto,
            before=before,
            limit=limit,
            matching=matching,
        )
        pages.append((before, page))
        if not page.has_earlier:
            return pages
        before = page.lines[0].version


@pytest.mark.parametrize("matching", FILTERS, ids=repr)
def test_filtered_pages_cover_the_filtered_statement_with_true_balances(
    bank, everyday, matching
):
    full = whole_statement(bank.accounts.events, everyday)
    kept = [each for each in full if matching.matches(each)]
    pages = pages_of(bank.accounts, everyday, matching, limit=3)
    # Newest first, three lines a page: the whole filtered statement, each
    # line with the balance the whole statement gives it.
    assert [each for _, page in reversed(pages) for each in page.lines] == kept
    for _, page in pages:
        if page.lines:
            first = full.index(page.lines[0])
            before_it = full[first - 1].balance if first else Decimal("0.00")
            assert page.opening_balance == before_it
    # Newer links lead back up through the same pages.
    for (_, newer), (_, older) in itertools.pairwise(pages):
        assert older.has_later
        assert newer.lines
    for index in range(1, len(pages)):
        later_before = pages[index][1].later_before
        assert later_before == pages[index - 1][0]


def test_a_recent_filtered_page_of_a_long_history_reads_only_its_end(
    bank, clock, monkeypatch
):
    account_id, _ = long_history(bank, "ada", 1200)  # all on 1 January
    clock.at(START + timedelta(days=1))
    for amount in range(1, 6):
        bank.accounts.deposit(account_id, amount)
    read = count_events_read(bank.accounts.events.recorder, monkeypatch)
    page = read_page(
        bank.accounts,
        account_id,
        upto_version=bank.accounts.get_account(account_id).version,
        before=None,
        limit=20,
        matching=StatementFilter(start=START + timedelta(days=1)),
    )
    assert [each.amount for each in page.lines] == [
        Decimal(n).quantize(Decimal("0.01")) for n in range(1, 6)
    ]
    assert page.lines[-1].balance == Decimal("1215.00")
    assert not page.has_earlier
    # The account (its snapshot and the events after it), then one read
    # newest first, which stops at the filter's start: not 1,206 events.
    assert max(read) <= FILTERED_READ_SIZE
    assert sum(read) < 50


def test_a_sparse_filter_reads_ever_larger_pages_up_to_a_bound(bank, monkeypatch):
    account_id, _ = long_history(bank, "ada", 1200)
    read = count_events_read(bank.accounts.events.recorder, monkeypatch)
    upto = bank.accounts.get_account(account_id).version
    read.clear()
    page = read_page(
        bank.accounts,
        account_id,
        upto_version=upto,
        before=None,
        limit=20,
        matching=StatementFilter(text="payment 7"),  # 7, 70-79, 700-799
    )
    assert len(page.lines) == 20
    assert page.has_earlier
    assert page.lines[-1].description == "Payment 799"
    assert max(read) <= FILTERED_READ_SIZE
    assert read[1:] == [21, 84, 336]  # after the account's own read


# The whole statement, streamed.


def test_the_whole_statement_is_streamed_in_pages_with_running_balances(
    bank, monkeypatch
):
    account_id, balance = long_history(bank, "ada", 1200)
    read = count_events_read(bank.accounts.events.recorder, monkeypatch)
    upto = bank.accounts.get_account(account_id).version
    read.clear()  # the account's own read; the stream's reads from here
    lines = read_all(bank.accounts, account_id, upto_version=upto)
    assert read == []  # nothing is read until lines are taken
    balances = []
    for each in lines:
        balances.append(each.balance)
        assert max(read) <= FILTERED_READ_SIZE  # a page at a time, as taken
    assert len(balances) == 1200
    assert balances[-1] == balance
    assert read == [500, 500, 201]  # Opened, then 1,200 deposits


def test_a_streamed_statement_keeps_the_filtered_lines_and_stops_at_the_end(
    bank, everyday, monkeypatch
):
    full = whole_statement(bank.accounts.events, everyday)
    first_week = StatementFilter(end=START + timedelta(days=7), kind="deposit")
    read = count_events_read(bank.accounts.events.recorder, monkeypatch)
    upto = bank.accounts.get_account(everyday).version
    read.clear()
    lines = list(
        read_all(bank.accounts, everyday, upto_version=upto, matching=first_week)
    )
    assert lines == [each for each in full if first_week.matches(each)]
    assert [each.description for each in lines] == ["Salary 1", "Salary 4", "Salary 7"]
    assert len(read) == 1
