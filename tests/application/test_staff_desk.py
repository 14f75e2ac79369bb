"""Staff operations through the Accounts application (SQLite and PostgreSQL).

Each one loads, calls one method, saves; each records its reason; a refused
one records nothing. The followers, the accounts list and the audit all
follow the new events, and the ledger and the statement ignore them.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from accounts.errors import (
    AccountFrozenError,
    AccountNotFoundError,
    ConflictError,
    FreezeStateError,
    InvalidAmountError,
    InvalidReasonError,
    OverdraftLimitError,
)
from accounts.projections import AccountsQuery
from accounts.statements import whole_statement
from esbank_site.operations.audit import audit


def head(bank):
    return bank.accounts.recorder.max_notification_id() or 0


def list_row(bank, account_id):
    rows = bank.accounts_list().get_accounts_page(AccountsQuery(per_page=100)).rows
    return next(row for row in rows if row.id == account_id)


def test_each_operation_is_one_new_event_with_its_reason(bank, ada):
    staff = bank.accounts.staff
    staff.set_overdraft_limit(ada, "250.00", "Salary paid in here")
    staff.freeze(ada, "Card reported stolen")
    staff.unfreeze(ada, "New card issued")
    history = bank.accounts.get_history(ada)
    assert [(e.type, e.data.get("reason")) for e in history[-3:]] == [
        ("OverdraftLimitSet", "Salary paid in here"),
        ("Frozen", "Card reported stolen"),
        ("Unfrozen", "New card issued"),
    ]
    assert history[-3].data["limit"] == Decimal("250.00")
    account = bank.accounts.get_account(ada)
    assert (account.overdraft_limit, account.frozen) == (Decimal("250.00"), False)


def test_a_frozen_account_is_paid_into_and_nothing_leaves_it(bank, ada, bob):
    bank.accounts.staff.freeze(ada, "Card reported stolen")
    bank.accounts.deposit(ada, "5.00")
    bank.accounts.deposit(bob, "10.00")
    bank.accounts.transfer(bob, ada, "10.00")
    before = head(bank)
    for money_out in (
        lambda: bank.accounts.withdraw(ada, "1.00"),
        lambda: bank.accounts.withdraw(ada, "1.00", idempotency_key="k1"),
        lambda: bank.accounts.transfer(ada, bob, "1.00"),
        lambda: bank.accounts.close_account(ada),
    ):
        with pytest.raises(AccountFrozenError, match=r"^This account is frozen"):
            money_out()
    assert head(bank) == before
    summary = bank.accounts.get_account(ada)
    assert (summary.balance, summary.frozen) == (Decimal("115.00"), True)
    bank.accounts.staff.unfreeze(ada, "Cleared")
    bank.accounts.withdraw(ada, "15.00")
    assert bank.accounts.get_account(ada).balance == Decimal("100.00")


@pytest.mark.parametrize(
    ("operation", "refusal"),
    [
        (lambda s, a: s.freeze(a, ""), InvalidReasonError),
        (lambda s, a: s.freeze(a, "x" * 201), InvalidReasonError),
        (lambda s, a: s.unfreeze(a, "Not frozen at all"), FreezeStateError),
        (lambda s, a: s.set_overdraft_limit(a, "10000.01", "Big"), InvalidAmountError),
        (lambda s, a: s.set_overdraft_limit(a, "1.5", ""), InvalidReasonError),
        (lambda s, a: s.set_overdraft_limit(a, "abc", "Agreed"), InvalidAmountError),
    ],
)
def test_refused_operations_record_nothing(bank, ada, operation, refusal):
    before = head(bank)
    with pytest.raises(refusal):
        operation(bank.accounts.staff, ada)
    assert head(bank) == before


def test_a_limit_below_what_is_owed_and_a_second_freeze_are_refused(bank, ada):
    staff = bank.accounts.staff
    staff.set_overdraft_limit(ada, "50", "Agreed")
    bank.accounts.withdraw(ada, "140.00")
    staff.freeze(ada, "Suspected fraud")
    before = head(bank)
    with pytest.raises(OverdraftLimitError):
        staff.set_overdraft_limit(ada, "39.99", "Lower")
    with pytest.raises(FreezeStateError):
        staff.freeze(ada, "Again")
    assert head(bank) == before


def test_an_unknown_account_is_not_found(bank, ada):
    for operation in (
        lambda i: bank.accounts.staff.freeze(i, "Suspected fraud"),
        lambda i: bank.accounts.staff.set_overdraft_limit(i, "5", "Agreed"),
    ):
        with pytest.raises(AccountNotFoundError):
            operation(uuid4())


def test_a_conflict_is_retried_then_refused(bank, ada, monkeypatch):
    save = bank.accounts.save
    collisions = []

    def collide_twice(*aggregates, **kwargs):
        if len(collisions) < 2:
            collisions.append(aggregates)
            raise IntegrityError
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(bank.accounts, "save", collide_twice)
    bank.accounts.staff.freeze(ada, "Suspected fraud")
    assert len(collisions) == 2
    assert bank.accounts.get_account(ada).frozen

    def always_collide(*aggregates, **kwargs):
        raise IntegrityError

    monkeypatch.setattr(bank.accounts, "save", always_collide)
    monkeypatch.setattr(bank.accounts.commands, "retry_base_delay", 0)
    with pytest.raises(ConflictError):
        bank.accounts.staff.unfreeze(ada, "Cleared")


def test_the_list_shows_frozen_accounts_and_the_books_still_balance(bank, ada, bob):
    bank.accounts.staff.freeze(ada, "Suspected fraud")
    bank.accounts.staff.set_overdraft_limit(bob, "20.00", "Student account")
    bank.wait_until_processed(timeout=10)
    assert list_row(bank, ada).frozen
    assert not list_row(bank, bob).frozen
    assert list_row(bank, bob).overdraft_limit == Decimal("20.00")
    ledger = bank.ledger().get_ledger()
    assert (ledger.balance, ledger.transaction_count) == (Decimal("100.00"), 1)
    assert bank.transaction_log().count_transactions() == 1
    assert [line.kind for line in whole_statement(bank.accounts.events, ada)] == [
        "Deposit"
    ]
    bank.accounts.staff.unfreeze(ada, "Cleared")
    bank.wait_until_processed(timeout=10)
    assert not list_row(bank, ada).frozen
    report = audit(bank)
    assert report.ok, report.problems


def test_the_audit_finds_money_that_left_a_frozen_account(bank, ada):
    bank.accounts.staff.freeze(ada, "Suspected fraud")
    account = bank.accounts._get_account(ada)
    account.frozen = False  # as a bug in a guard would let it through
    account.withdraw("10.00", uuid4())
    bank.accounts.save(account)
    bank.wait_until_processed(timeout=10)
    report = audit(bank)
    assert any(
        f"£10.00 left account {ada} while it was frozen" in problem
        for problem in report.problems
    ), report.problems
