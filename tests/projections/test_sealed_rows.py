"""With a CIPHER_KEY, the accounts list keeps no names or amounts in clear."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eventsourcing.cipher import AESCipher

from accounts.projections import AccountsQuery, AccountsSummary, ReadModelError
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.rawdb import run_sql, stored_id

SECRET_OWNER = "Zebediah Quincefield"


@pytest.fixture
def encrypted_bank(bank, database):
    bank.close()
    encrypted = Bank(eventsourcing_env(database, cipher_key=AESCipher.create_key(16)))
    encrypted.start()
    try:
        yield encrypted
    finally:
        encrypted.close()


def test_rows_are_sealed_yet_searched_sorted_and_audited(encrypted_bank, database):
    accounts = encrypted_bank.accounts
    zeb = accounts.open_account(SECRET_OWNER, "Offshore")
    ada = accounts.open_account("ada", "Current")
    accounts.deposit(zeb, "4321.98")
    accounts.deposit(ada, "12.00")
    accounts.transfer(zeb, ada, "0.02")

    rows = run_sql(
        database, "SELECT owner, name, balance, sealed FROM accountslist_rows"
    )
    assert len(rows) == 2
    for owner, name, balance, sealed in rows:
        assert (owner, name, balance) == (None, None, None)
        assert b"Zebediah" not in bytes(sealed)
        assert b"4321" not in bytes(sealed)

    view = encrypted_bank.accounts_list()
    page = view.get_accounts_page(AccountsQuery(search="ZEBEDIAH"))
    assert [(r.owner, r.balance) for r in page.rows] == [
        (SECRET_OWNER, Decimal("4321.96"))
    ]
    page = view.get_accounts_page(AccountsQuery(sort="balance", descending=False))
    assert [r.id for r in page.rows] == [ada, zeb]
    assert (page.count, page.total_balance, page.position) == (
        2,
        Decimal("4333.98"),
        accounts.recorder.max_notification_id(),
    )
    mine = view.get_accounts_page(AccountsQuery(owner="ada"))
    assert [(r.id, r.balance) for r in mine.rows] == [(ada, Decimal("12.02"))]
    assert (mine.count, mine.total_balance) == (1, Decimal("12.02"))
    assert audit(encrypted_bank).ok
    # A freeze is sealed in the row too, and audited like the rest.
    accounts.staff.freeze(zeb, "Offshore checks")
    encrypted_bank.wait_until_processed(timeout=10)
    [frozen] = view.get_accounts_page(AccountsQuery(search="ZEBEDIAH")).rows
    assert frozen.frozen
    [(flag,)] = run_sql(
        database,
        "SELECT frozen FROM accountslist_rows WHERE sealed IS NOT NULL "
        f"AND version = {frozen.version}",
    )
    assert flag is None
    assert audit(encrypted_bank).ok


def test_a_sealed_row_copied_onto_another_is_refused(encrypted_bank, database):
    zeb = encrypted_bank.accounts.open_account(SECRET_OWNER, "Offshore")
    ada = encrypted_bank.accounts.open_account("ada", "Current")
    [(sealed,)] = run_sql(
        database,
        "SELECT sealed FROM accountslist_rows WHERE account_id = %s",
        (stored_id(database, zeb),),
    )
    run_sql(
        database,
        "UPDATE accountslist_rows SET sealed = %s WHERE account_id = %s",
        (sealed, stored_id(database, ada)),
    )
    with pytest.raises(ReadModelError, match=str(ada)):
        encrypted_bank.accounts_list().get_all_rows()


def test_the_summary_is_sealed_and_adds_up_the_sealed_rows(encrypted_bank, database):
    accounts = encrypted_bank.accounts
    zeb = accounts.open_account(SECRET_OWNER, "Offshore")
    ada = accounts.open_account("ada", "Current")
    accounts.deposit(zeb, "4321.98")
    accounts.transfer(zeb, ada, "0.02")
    accounts.withdraw(ada, "0.01")

    [(count, total, sealed)] = run_sql(
        database,
        "SELECT account_count, total_balance, sealed FROM accountslist_summary",
    )
    assert (count, total) == (None, None)
    assert b"4321" not in bytes(sealed)
    contents = encrypted_bank.accounts_list().get_all_rows()
    position, rows, summary = contents.position, contents.rows, contents.summary
    assert summary == AccountsSummary(2, Decimal("4321.97")) == AccountsSummary.of(rows)
    assert position == accounts.recorder.max_notification_id()
    assert audit(encrypted_bank).ok

    # A row's ciphertext cannot stand in for the summary.
    [(row_sealed,)] = run_sql(
        database,
        "SELECT sealed FROM accountslist_rows WHERE account_id = %s",
        (stored_id(database, zeb),),
    )
    run_sql(database, "UPDATE accountslist_summary SET sealed = %s", (row_sealed,))
    with pytest.raises(ReadModelError, match="summary holds a row's data"):
        encrypted_bank.accounts_list().get_all_rows()
