"""The accounts list's summary: how many accounts, holding how much, in one row."""

from __future__ import annotations

import importlib
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

from django.core.management import call_command

from accounts.projections import AccountsQuery, AccountsSummary
from esbank_site.operations.audit import audit
from esbank_site.runtime.processing import ProjectionProcessor
from tests.support.rawdb import is_sqlite, run_sql

# The migration that gives an existing list its summary.
summary_migration = importlib.import_module(
    "esbank_site.migrations.0003_accounts_list_summary"
)


def summary_and_rows(bank):
    """The summary, and the rows added up one by one, read together."""
    contents = bank.accounts_list().get_all_rows()
    rows, summary = contents.rows, contents.summary
    return summary, AccountsSummary.of(rows)


def assert_adds_up(bank):
    summary, added_up = summary_and_rows(bank)
    assert summary == added_up
    page = bank.accounts_list().get_accounts_page(AccountsQuery())
    assert (page.count, page.total_balance, page.all_count) == (
        summary.account_count,
        summary.total_balance,
        summary.account_count,
    )
    return summary


def stored_pence_or_pounds(database, pounds):
    return int(Decimal(pounds) * 100) if is_sqlite(database) else Decimal(pounds)


def test_the_summary_adds_up_the_rows_after_every_kind_of_event(bank):
    accounts = bank.accounts
    assert assert_adds_up(bank) == AccountsSummary(0, Decimal("0.00"))
    ada = accounts.open_account("ada", "Current")
    bob = accounts.open_account("bob", "Savings")
    cat = accounts.open_account("cat", "Spare")
    assert assert_adds_up(bank) == AccountsSummary(3, Decimal("0.00"))
    accounts.deposit(ada, "100.00")
    accounts.deposit(cat, "0.01")
    assert assert_adds_up(bank) == AccountsSummary(3, Decimal("100.01"))
    accounts.withdraw(ada, "20.50")
    accounts.transfer(ada, bob, "30.01")  # moves money, adds none
    assert assert_adds_up(bank) == AccountsSummary(3, Decimal("79.51"))
    accounts.staff.set_overdraft_limit(bob, "50", "Agreed overdraft")
    accounts.withdraw(bob, "60.00")  # below zero
    assert assert_adds_up(bank) == AccountsSummary(3, Decimal("19.51"))
    accounts.deposit(cat, "5.00", idempotency_key="once")
    accounts.deposit(cat, "5.00", idempotency_key="once")  # a repeat: no event
    accounts.withdraw(cat, "5.01")
    accounts.close_account(cat)  # still listed, still counted
    assert assert_adds_up(bank) == AccountsSummary(3, Decimal("19.50"))
    report = audit(bank)
    assert report.ok, report.problems


def test_processing_in_batches_adds_up_the_same(bank):
    bank.process_inline = False
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Current")
    for _ in range(5):
        bank.accounts.deposit(ada, "2.00")
        bank.accounts.transfer(ada, bob, "0.50")
    processor = ProjectionProcessor(
        bank.accounts_list_projection, bank.accounts, batch_size=4
    )
    while processor.status().lag:
        assert processor.process(limit=4)
        assert_adds_up(bank)  # after each batch, transfers whole or not at all
    assert assert_adds_up(bank) == AccountsSummary(2, Decimal("10.00"))


def test_a_page_without_a_search_reads_the_summary_not_the_rows(bank, database):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Savings")
    bank.accounts.deposit(ada, "10.00")
    bank.accounts.deposit(bob, "2.00")
    run_sql(
        database,
        "UPDATE accountslist_summary SET account_count = 7, total_balance = %s",
        (stored_pence_or_pounds(database, "99.99"),),
    )
    view = bank.accounts_list()
    page = view.get_accounts_page(AccountsQuery())
    assert (len(page.rows), page.count, page.total_balance, page.all_count) == (
        2,
        7,
        Decimal("99.99"),
        7,
    )
    # A search counts and adds up its own matches.
    found = view.get_accounts_page(AccountsQuery(search="bob"))
    assert (found.count, found.total_balance, found.all_count) == (
        1,
        Decimal("2.00"),
        7,
    )
    mine = view.get_accounts_page(AccountsQuery(owner="ada"))
    assert (mine.count, mine.total_balance) == (1, Decimal("10.00"))
    [problem] = audit(bank).projections[0].problems
    assert problem == (
        "The accounts list's summary (at position "
        f"{bank.accounts.recorder.max_notification_id()}) counts 7 accounts "
        "holding £99.99; the events say 2 holding £12.00."
    )


def test_a_rebuild_adds_the_summary_up_again(site_bank, database):
    accounts = site_bank.accounts
    ids = [accounts.open_account(f"owner{n}", f"Account {n}") for n in range(4)]
    for n, account_id in enumerate(ids):
        accounts.deposit(account_id, Decimal(10 + n))
    accounts.transfer(ids[0], ids[3], "1.25")
    run_sql(database, "DELETE FROM accountslist_summary")
    assert summary_and_rows(site_bank)[0] == AccountsSummary()

    call_command("rebuild_projection", "AccountsList", stdout=StringIO())
    assert assert_adds_up(site_bank) == AccountsSummary(4, Decimal("46.00"))
    # The swapped-in tables go on being kept.
    accounts.deposit(ids[1], "4.00")
    assert assert_adds_up(site_bank) == AccountsSummary(4, Decimal("50.00"))
    report = audit(site_bank)
    assert report.ok, report.problems


def test_the_migration_adds_up_a_list_kept_before_the_summary(bank, database):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Savings")
    bank.accounts.deposit(ada, "10.00")
    bank.accounts.transfer(ada, bob, "3.00")
    run_sql(database, "DROP TABLE accountslist_summary")

    editor = SimpleNamespace(connection=SimpleNamespace(settings_dict=database))
    summary_migration.add_up_accounts_list(None, editor)
    assert assert_adds_up(bank) == AccountsSummary(2, Decimal("10.00"))
    bank.accounts.withdraw(bob, "1.00")
    assert assert_adds_up(bank) == AccountsSummary(2, Decimal("9.00"))
