"""Migration 0004: an accounts list kept before numbers gets their column."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from accounts.projections import AccountsQuery
from tests.support.rawdb import is_sqlite, run_sql

numbers_migration = importlib.import_module(
    "esbank_site.migrations.0004_account_numbers"
)


def columns(database) -> list[str]:
    if is_sqlite(database):
        return [
            row[1] for row in run_sql(database, "PRAGMA table_info(accountslist_rows)")
        ]
    return [
        row[0]
        for row in run_sql(
            database,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'accountslist_rows'",
        )
    ]


def test_the_migration_adds_the_column_once_and_rows_read_again(bank, database):
    ada = bank.accounts.open_account("ada", "Current")
    number = bank.accounts.get_account(ada).number
    # The rows table as it was before numbers: no column, so no number.
    run_sql(database, "ALTER TABLE accountslist_rows DROP COLUMN number")
    assert "number" not in columns(database)

    editor = SimpleNamespace(connection=SimpleNamespace(settings_dict=database))
    numbers_migration.add_number_column(None, editor)
    numbers_migration.add_number_column(None, editor)  # again: nothing to do
    assert columns(database).count("number") == 1

    [row] = bank.accounts_list().get_accounts_page(AccountsQuery()).rows
    assert (row.id, row.number) == (ada, "")  # until the account is numbered again
    bank.accounts.deposit(ada, "5.00")
    bob = bank.accounts.open_account("bob", "Savings")
    rows = {
        r.id: r for r in bank.accounts_list().get_accounts_page(AccountsQuery()).rows
    }
    assert rows[bob].number == bank.accounts.get_account(bob).number
    assert number  # ada's account kept its number in its events all along
    assert bank.accounts.get_account(ada).number == number
