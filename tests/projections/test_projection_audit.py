"""The audit recomputes the accounts list from the events and names any account
whose row differs."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from esbank_site.operations.audit import audit
from tests.support.rawdb import is_sqlite, run_sql, stored_id


@pytest.fixture
def two_accounts(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Savings")
    bank.accounts.deposit(ada, "100.00")
    bank.accounts.transfer(ada, bob, "25.00")
    report = audit(bank)
    assert report.ok, report.problems
    [check] = report.projections
    assert (check.name, check.rows, check.problems) == ("AccountsList", 2, [])
    assert check.position == bank.accounts.recorder.max_notification_id()
    return ada, bob


def problems_naming(report, account_id):
    return [p for p in report.problems if str(account_id) in p]


def test_a_row_edited_in_the_database_is_found(bank, database, two_accounts):
    ada, bob = two_accounts
    balance = 9999 if is_sqlite(database) else Decimal("99.99")
    run_sql(
        database,
        "UPDATE accountslist_rows SET balance = %s WHERE account_id = %s",
        (balance, stored_id(database, bob)),
    )
    report = audit(bank)
    [problem] = problems_naming(report, bob)
    assert "balance is 99.99, the events say 25.00" in problem
    assert not problems_naming(report, ada)


def test_a_missing_and_an_invented_row_are_found(bank, database, two_accounts):
    ada, _ = two_accounts
    run_sql(
        database,
        "DELETE FROM accountslist_rows WHERE account_id = %s",
        (stored_id(database, ada),),
    )
    report = audit(bank)
    [problem] = problems_naming(report, ada)
    assert "missing from the accounts list" in problem

    ghost = uuid.uuid4()
    run_sql(
        database,
        "INSERT INTO accountslist_rows (account_id, owner, name, owner_key, "
        "name_key, currency, balance, overdraft_limit, is_closed, opened_at, "
        "last_activity_at, version) SELECT %s, owner, name, owner_key, name_key, "
        "currency, balance, overdraft_limit, is_closed, opened_at, "
        "last_activity_at, version FROM accountslist_rows",
        (stored_id(database, ghost),),
    )
    [problem] = problems_naming(audit(bank), ghost)
    assert "no event up to position" in problem


def test_a_lagging_list_is_late_not_wrong(bank, two_accounts):
    ada, _ = two_accounts
    bank.process_inline = False
    bank.accounts.deposit(ada, "1.00")
    report = audit(bank)
    assert report.projections[0].problems == []
    head = bank.accounts.recorder.max_notification_id()
    assert (
        f"AccountsList is 1 notification(s) behind Accounts (at {head - 1} of {head})."
        in report.problems
    )
