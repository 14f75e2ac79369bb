"""Reading and merging the applications' logs (``esbank_site/web/event_stream.py``).

On SQLite and PostgreSQL (the ``bank`` fixture), and on a bank that
encrypts and compresses its events. A page reads no more than it shows,
whatever the history; the merge takes each log in its own order, so no
clock can make a page lose or repeat an event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from eventsourcing.cipher import AESCipher

from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.web import event_stream
from esbank_site.web.event_stream import (
    Cursor,
    EventStream,
    Run,
    StreamEvent,
    bank_logs,
    merge,
)
from tests.support.databases import erase_events


def walk_older(stream, size):
    """Every page from the newest back: the events of each."""
    pages, cursor = [], None
    while True:
        page = stream.page(cursor, size=size)
        pages.append(page.events)
        if page.older is None:
            return pages
        cursor = page.older


def keys(events):
    return [(e.log, e.notification_id) for e in events]


def history(bank, deposits=3):
    accounts = bank.accounts
    ada = accounts.open_account("ada", "Current")
    bob = accounts.open_account("bob", "Savings")
    for _ in range(deposits):
        accounts.deposit(ada, "2.50")
    accounts.transfer(ada, bob, "1.25", idempotency_key="transfer-1")
    bank.wait_until_processed()
    return ada, bob


def spy_on_reads(bank, monkeypatch):
    """(log, first id, last id, events returned) of every read, from now on."""
    reads = []
    for log in bank_logs(bank):
        recorder = log.application.recorder
        real = recorder.select_notifications

        def counting(start, limit, stop=None, topics=(), *, _real=real, _key=log.key):
            found = _real(start, limit, stop=stop, topics=topics)
            reads.append((_key, start, stop, len(found)))
            return found

        monkeypatch.setattr(recorder, "select_notifications", counting)
    return reads


def test_each_log_holds_only_the_types_it_lists(bank):
    ada, bob = history(bank)
    bank.accounts.withdraw(ada, "1.00")
    bank.accounts.staff.set_overdraft_limit(bob, "10.00", "Agreed overdraft")
    bank.wait_until_processed()
    for log in bank_logs(bank):
        stored = {
            type(log.application.mapper.to_domain_event(n)).__name__
            for n in log.application.recorder.select_notifications(1, 1000)
        }
        assert stored
        assert stored <= set(log.type_names()), log.key


def test_a_page_reads_no_more_than_it_shows_however_long_the_history(bank, monkeypatch):
    history(bank, deposits=60)
    reads = spy_on_reads(bank, monkeypatch)
    stream = EventStream(bank_logs(bank))
    newest = stream.page(size=10)
    older = stream.page(newest.older, size=10)
    assert len(newest.events) == len(older.events) == 10
    # One read of at most one page from each log, for each page.
    assert len(reads) == 6
    assert all(
        stop - start + 1 <= 10 and found <= 10 for _, start, stop, found in reads
    )


def test_a_rare_type_is_found_a_bounded_stretch_at_a_time(bank, monkeypatch):
    history(bank, deposits=20)
    monkeypatch.setattr(event_stream, "SCAN_IDS", 6)
    reads = spy_on_reads(bank, monkeypatch)
    stream = EventStream(bank_logs(bank), "Opened")
    assert stream.keys == ["accounts"]
    pages = walk_older(stream, size=5)
    found = [e for page in pages for e in page]
    assert [e.type for e in found] == ["Opened", "Opened"]
    assert len(pages) > 1  # pages that looked through notifications and found none
    assert all(stop - start + 1 <= 6 for _, start, stop, _ in reads)


def test_an_encrypted_and_compressed_bank_reads_as_recorded(database):
    env = eventsourcing_env(
        database, cipher_key=AESCipher.create_key(16), compress=True
    )
    erase_events(env)
    bank = Bank(env)
    bank.start()
    try:
        history(bank)
        events = EventStream(bank_logs(bank)).page(size=50).events
        deposits = [e for e in events if e.type == "Deposited"]
        assert [e.amount for e in deposits] == [Decimal("2.50")] * 3
        assert {e.log for e in events} == {"accounts", "ledger", "transactions"}
        assert all(e.readable for e in events)
    finally:
        bank.close()
        erase_events(env)


def test_an_event_that_cannot_be_decoded_is_listed_not_a_crash(bank, monkeypatch):
    history(bank)
    accounts = bank.accounts
    broken = accounts.recorder.max_notification_id() - 2
    real = accounts.mapper.to_domain_event

    def damaged(notification):
        if notification.id == broken:
            raise ValueError("damaged")
        return real(notification)

    monkeypatch.setattr(accounts.mapper, "to_domain_event", damaged)
    events = EventStream(bank_logs(bank)).page(size=50).events
    [unreadable] = [e for e in events if not e.readable]
    assert (unreadable.log, unreadable.notification_id) == ("accounts", broken)
    assert unreadable.type
    assert unreadable.amount is None
    # Still in its log's order.
    ids = [e.notification_id for e in events if e.log == "accounts"]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_the_merge_takes_each_log_in_its_own_order_whatever_the_clocks(size):
    """Times out of order within a log (clocks, concurrent commits) lose nothing."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def log_run(key, minutes, reached):
        # Newest first by id; the minutes are deliberately out of order.
        events = [
            StreamEvent(key, key, 10 - i, "T", start + timedelta(minutes=m))
            for i, m in enumerate(minutes)
        ]
        log = SimpleNamespace(key=key)
        return Run(log, events, start=11, reached=reached, complete=True)

    runs = [log_run("a", [10, 30, 20, 5], 7), log_run("b", [25, 15, 40, 1], 7)]
    taken_all = []
    positions = {"a": 11, "b": 11}
    while True:
        remaining = [
            Run(
                run.log,
                [e for e in run.events if e.notification_id < positions[run.log.key]],
                positions[run.log.key],
                run.reached,
                complete=True,
            )
            for run in runs
        ]
        taken, positions = merge(remaining, size, pick=event_stream._newest)
        if not taken:
            break
        taken_all += taken
    assert len(keys(taken_all)) == len(set(keys(taken_all))) == 8
    for key in ("a", "b"):
        ids = [e.notification_id for e in taken_all if e.log == key]
        assert ids == [10, 9, 8, 7]


def test_a_cursor_reads_back_as_it_was_written():
    cursor = Cursor.of({"accounts": 120, "ledger": 40, "transactions": 38})
    assert str(cursor) == "accounts:120,ledger:40,transactions:38"
    keys_in_view = ["accounts", "ledger", "transactions"]
    assert Cursor.parse(str(cursor), keys_in_view) == cursor
    newer = Cursor.parse("ledger:0,accounts:3,transactions:9", keys_in_view, newer=True)
    assert newer.positions == (("accounts", 3), ("ledger", 0), ("transactions", 9))


def test_pages_stay_put_while_events_arrive(bank):
    ada, _ = history(bank)
    stream = EventStream(bank_logs(bank))
    newest = stream.page(size=4)
    second = stream.page(newest.older, size=4)
    bank.accounts.deposit(ada, "9.99")
    bank.wait_until_processed()
    assert keys(stream.page(newest.older, size=4).events) == keys(second.events)
    arrived = stream.page(size=3).events
    assert {e.type for e in arrived} == {
        "Deposited",
        "DepositRecorded",
        "TransactionLogged",
    }
    # The page newer than the second: the newest as it was, and what arrived.
    newer = stream.page(second.newer, size=10)
    assert set(keys(newer.events)) == set(keys(newest.events)) | set(keys(arrived))
    assert newer.newer is None
