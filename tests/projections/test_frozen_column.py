"""Migration 0005: an accounts list kept before freezes gets their column."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from accounts.projections import AccountsQuery
from tests.projections.test_number_column import columns
from tests.support.rawdb import run_sql

frozen_migration = importlib.import_module(
    "esbank_site.migrations.0005_frozen_accounts"
)


def rows(bank):
    page = bank.accounts_list().get_accounts_page(AccountsQuery())
    return {row.id: row for row in page.rows}


def test_the_migration_adds_the_column_once_and_the_list_follows_freezes(
    bank, database
):
    ada = bank.accounts.open_account("ada", "Current")
    # The rows table as it was before freezes: no column.
    run_sql(database, "ALTER TABLE accountslist_rows DROP COLUMN frozen")
    assert "frozen" not in columns(database)

    editor = SimpleNamespace(connection=SimpleNamespace(settings_dict=database))
    frozen_migration.add_frozen_column(None, editor)
    frozen_migration.add_frozen_column(None, editor)  # again: nothing to do
    assert columns(database).count("frozen") == 1

    assert rows(bank)[ada].frozen is False  # NULL: as every account was then
    bank.accounts.staff.freeze(ada, "Card stolen")
    bob = bank.accounts.open_account("bob", "Savings")  # a row written whole
    bank.wait_until_processed(timeout=10)
    listed = rows(bank)
    assert listed[ada].frozen is True
    assert listed[bob].frozen is False
    assert listed[bob].number == bank.accounts.get_account(bob).number
