"""manage.py rebuild_projection NAME: replay a read model while the site serves."""

from __future__ import annotations

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.projections import AccountsQuery
from esbank_site.operations.audit import audit
from esbank_site.operations.rebuild import rebuild_projection
from tests.support.rawdb import is_sqlite, run_sql, stored_id


@pytest.fixture
def history(site_bank):
    """Five accounts and some movements between them."""
    accounts = site_bank.accounts
    ids = [accounts.open_account(f"owner{n}", f"Account {n}") for n in range(5)]
    for n, account_id in enumerate(ids):
        accounts.deposit(account_id, Decimal(100 + n))
    for n in range(20):
        accounts.transfer(ids[n % 5], ids[(n + 2) % 5], "1.25")
    return ids


def page(bank, **params):
    return bank.accounts_list().get_accounts_page(AccountsQuery(per_page=100, **params))


def table_names(database):
    if is_sqlite(database):
        rows = run_sql(database, "SELECT name FROM sqlite_master")
    else:
        rows = run_sql(
            database,
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace",
        )
    return {name for (name,) in rows if name.startswith("accountslist")}


def test_rebuild_replaces_a_damaged_list_with_the_events_own(
    site_bank, database, history
):
    tables_before = table_names(database)
    run_sql(
        database,
        "DELETE FROM accountslist_rows WHERE account_id = %s",
        (stored_id(database, history[0]),),
    )
    run_sql(database, "UPDATE accountslist_rows SET name = 'tampered'")
    assert not audit(site_bank).ok

    for _ in range(2):  # again: the swapped tables and indexes can be rebuilt
        out = StringIO()
        call_command("rebuild_projection", "accountslist", stdout=out)
        output = out.getvalue()
        head = site_bank.accounts.recorder.max_notification_id()
        assert f"100% {head}/{head}" in output
        assert f"Rebuilt AccountsList: {head} events replayed in" in output
        assert "events/s" in output
        report = audit(site_bank)
        assert report.ok, report.problems
        listed = page(site_bank)
        assert (listed.count, listed.position) == (5, head)
        assert {row.name for row in listed.rows} == {f"Account {n}" for n in range(5)}
        # Same tables and indexes as migrate made, and no shadow left over.
        assert table_names(database) == tables_before


def test_the_site_keeps_serving_while_the_list_is_rebuilt(site_bank, history):
    seen_during = []
    reader_errors = []
    stop_reading = threading.Event()

    def read_pages():
        while not stop_reading.is_set():
            try:
                assert page(site_bank).count in (5, 6)
            except Exception as error:  # noqa: BLE001 (reported below)
                reader_errors.append(error)

    def progress(position, head):
        if not seen_during:
            # Mid-replay: a command is recorded and processed into the live
            # list, and a page still reads the live list, up to date.
            new = site_bank.accounts.open_account("late", "Opened mid-rebuild")
            site_bank.accounts.deposit(new, "42.00")
            seen_during.append(page(site_bank, search="late"))

    reader = threading.Thread(target=read_pages)
    reader.start()
    try:
        result = rebuild_projection(
            site_bank, "AccountsList", batch_size=7, progress=progress
        )
    finally:
        stop_reading.set()
        reader.join(timeout=30)
    assert reader_errors == []
    [during] = seen_during
    assert [row.balance for row in during.rows] == [Decimal("42.00")]

    site_bank.wait_until_processed()
    after = page(site_bank)
    assert after.count == 6
    assert after.position == site_bank.accounts.recorder.max_notification_id()
    assert result.events > 0
    report = audit(site_bank)
    assert report.ok, report.problems


def test_a_failed_rebuild_leaves_the_live_list_alone(
    site_bank, database, history, monkeypatch
):
    before = page(site_bank)
    tables_before = table_names(database)
    view_class = type(site_bank.accounts_list())

    def broken(self, *args, **kwargs):
        msg = "disk full"
        raise RuntimeError(msg)

    monkeypatch.setattr(view_class, "record_movement", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        call_command("rebuild_projection", "AccountsList", stdout=StringIO())
    assert page(site_bank) == before
    assert table_names(database) == tables_before


def test_an_unknown_name_lists_the_projections(site_bank):
    with pytest.raises(CommandError, match=r"the bank has: AccountsList\."):
        call_command("rebuild_projection", "balances", stdout=StringIO())
