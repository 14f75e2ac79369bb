"""The accounts list, the statement and the audit follow reversals (both databases).

A reversal moves money by its accounts' ``Reversed`` events: the list's
rows and its summary move by their signed amounts, the statement shows
each as a line of kind ``reversal`` with the reason as its reference, and
the audit checks every reversal against those events: one on each of its
accounts, undoing the original, none for a reversal not carried out, and
none without a reversal.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from io import StringIO
from uuid import uuid4

import pytest
from django.core.management import call_command

from accounts.domain import REVERSIBLE
from accounts.projections import AccountsQuery
from accounts.reversal import Reversal
from accounts.statement_export import csv_text
from accounts.statement_filters import StatementFilter
from accounts.statement_queries import read_all, read_page
from accounts.statements import whole_statement
from esbank_site.operations.audit import audit


def list_row(bank, account_id):
    bank.wait_until_processed(timeout=10)
    rows = bank.accounts_list().get_accounts_page(AccountsQuery(per_page=100)).rows
    return next(row for row in rows if row.id == account_id)


def lines_of(bank, account_id):
    return [
        (line.kind, line.amount, line.balance, line.description)
        for line in whole_statement(bank.accounts.events, account_id)
    ]


def assert_clean(bank):
    bank.wait_until_processed(timeout=10)
    report = audit(bank)
    assert report.ok, report.problems
    return report


# The accounts list.


def test_the_list_moves_each_balance_by_the_reversal_s_signed_amount(bank, ada, bob):
    deposit = bank.accounts.deposit(ada, "40.00")
    withdrawal = bank.accounts.withdraw(ada, "15.00")
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    reversals = bank.accounts.reversals
    reversals.reverse(deposit, ada, "carol", "Paid in twice")
    assert list_row(bank, ada).balance == Decimal("60.00")
    reversals.reverse(withdrawal, ada, "carol", "Cash machine fault")
    assert list_row(bank, ada).balance == Decimal("75.00")
    reversals.reverse(transfer, bob, "carol", "Wrong payee")

    ada_row, bob_row = list_row(bank, ada), list_row(bank, bob)
    assert (ada_row.balance, bob_row.balance) == (Decimal("100.00"), Decimal("0.00"))
    assert ada_row.version == bank.accounts.get_account(ada).version
    assert bob_row.version == bank.accounts.get_account(bob).version
    summary = bank.accounts_list().get_accounts_page(AccountsQuery()).total_balance
    assert summary == Decimal("100.00")
    assert_clean(bank)


def test_a_reversal_that_freezes_shows_the_account_frozen_in_the_list(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "60.00")
    bank.accounts.withdraw(bob, "50.00")
    bank.accounts.reversals.reverse(transfer, ada, "carol", "Fraud", freeze=True)

    row = list_row(bank, bob)
    assert (row.balance, row.frozen) == (Decimal("-50.00"), True)
    assert not list_row(bank, ada).frozen
    assert list_row(bank, ada).balance == Decimal("100.00")
    # Below its overdraft limit, but frozen by the reversal that took it there.
    assert_clean(bank)


# The statement.


def test_the_statement_shows_each_reversal_with_its_reason_and_balance(bank, ada, bob):
    deposit = bank.accounts.deposit(ada, "40.00", description="Refund")
    withdrawal = bank.accounts.withdraw(ada, "15.00")
    reversals = bank.accounts.reversals
    reversals.reverse(deposit, ada, "carol", "Paid in twice")
    reversals.reverse(withdrawal, ada, "carol", "Cash machine fault")

    assert lines_of(bank, ada) == [
        ("Deposit", Decimal("100.00"), Decimal("100.00"), ""),
        ("Deposit", Decimal("40.00"), Decimal("140.00"), "Refund"),
        ("Withdrawal", Decimal("-15.00"), Decimal("125.00"), ""),
        ("Reversal of deposit", Decimal("-40.00"), Decimal("85.00"), "Paid in twice"),
        (
            "Reversal of withdrawal",
            Decimal("15.00"),
            Decimal("100.00"),
            "Cash machine fault",
        ),
    ]
    lines = whole_statement(bank.accounts.events, ada)
    assert [line.code for line in lines[-2:]] == ["reversal", "reversal"]
    assert [line.reverses for line in lines] == [None, None, None, deposit, withdrawal]
    assert lines[-1].balance == bank.accounts.get_account(ada).balance


@pytest.mark.parametrize("named", ["sender", "receiver"])
def test_a_transfer_s_reversal_names_the_other_account_on_both_statements(
    bank, ada, bob, named
):
    transfer = bank.accounts.transfer(ada, bob, "25.00", description="Rent")
    account = ada if named == "sender" else bob
    reversal = bank.accounts.reversals.reverse(
        transfer, account, "carol", "Wrong payee"
    )

    [*_, sent, back] = whole_statement(bank.accounts.events, ada)
    [received, taken] = whole_statement(bank.accounts.events, bob)
    assert (back.kind, back.amount, back.balance) == (
        "Reversal of transfer out",
        Decimal("25.00"),
        Decimal("100.00"),
    )
    assert (taken.kind, taken.amount, taken.balance) == (
        "Reversal of transfer in",
        Decimal("-25.00"),
        Decimal("0.00"),
    )
    assert (back.counterparty_id, taken.counterparty_id) == (bob, ada)
    assert (sent.counterparty_id, received.counterparty_id) == (bob, ada)
    assert back.transaction_id == taken.transaction_id == reversal.transaction_id
    assert back.description == taken.description == "Wrong payee"


def test_a_page_of_the_statement_is_the_whole_statement_s_lines(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    deposit = bank.accounts.deposit(ada, "10.00")
    bank.accounts.reversals.reverse(transfer, ada, "carol", "Wrong payee")
    bank.accounts.deposit(ada, "5.00")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")

    full = whole_statement(bank.accounts.events, ada)
    for limit in (1, 2, 3, len(full)):
        page = bank.accounts.get_recent_statement(ada, limit=limit)
        assert page.lines == full[-limit:]
        assert page.opening_balance == (
            full[-limit - 1].balance if limit < len(full) else Decimal(0)
        )


def test_the_reversal_kind_filter_keeps_reversals_only(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    deposit = bank.accounts.deposit(ada, "10.00")
    bank.accounts.reversals.reverse(transfer, bob, "carol", "Wrong payee")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    account = bank.accounts.get_account(ada)
    only = StatementFilter(kind="reversal")

    page = read_page(
        bank.accounts,
        ada,
        upto_version=account.version,
        before=None,
        limit=10,
        matching=only,
    )
    streamed = list(
        read_all(bank.accounts, ada, upto_version=account.version, matching=only)
    )
    expected = [
        line
        for line in whole_statement(bank.accounts.events, ada)
        if only.matches(line)
    ]
    assert [line.kind for line in expected] == [
        "Reversal of transfer out",
        "Reversal of deposit",
    ]
    assert page.lines == streamed == expected
    assert expected[0].counterparty_id == bob
    assert [line.balance for line in expected] == [Decimal("110.00"), Decimal("100.00")]


def test_the_download_writes_reversal_rows(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    deposit = bank.accounts.deposit(ada, "10.00")
    bank.accounts.reversals.reverse(transfer, ada, "carol", "Wrong payee")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "=Paid in twice")
    account = bank.accounts.get_account(ada)
    names = {bob: "Savings (bob)"}

    text = "".join(
        csv_text(
            read_all(bank.accounts, ada, upto_version=account.version),
            lambda account_id: names.get(account_id, ""),
            UTC,
        )
    )
    rows = [row.split(",")[1:] for row in text.splitlines()]
    assert rows[-2:] == [
        ["reversal", "Wrong payee", "Savings (bob)", "25.00", "110.00"],
        ["reversal", "'=Paid in twice", "", "-10.00", "100.00"],
    ]


# The audit.


def test_the_audit_is_clean_after_reversals_of_every_kind(bank, ada, bob):
    reversals = bank.accounts.reversals
    deposit = bank.accounts.deposit(ada, "40.00")
    withdrawal = bank.accounts.withdraw(ada, "15.00")
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    received = bank.accounts.transfer(bob, ada, "5.00")
    large = bank.accounts.deposit(bob, "2000.00")
    refused = bank.accounts.deposit(bob, "1500.00")
    approved = bank.accounts.deposit(ada, "1200.00")
    reversals.reverse(deposit, ada, "carol", "Paid in twice")
    reversals.reverse(withdrawal, ada, "carol", "Cash machine fault")
    reversals.reverse(transfer, bob, "carol", "Wrong payee")
    reversals.reverse(received, ada, "carol", "Sent by mistake", freeze=True)
    pending = reversals.reverse(large, bob, "carol", "Bounced")
    rejected = reversals.reverse(refused, bob, "carol", "Bounced")
    reversals.reject(rejected.id, "dave", "It cleared")
    waiting = reversals.reverse(approved, ada, "carol", "Bounced")
    reversals.approve(waiting.id, "dave")
    assert pending.is_pending

    report = assert_clean(bank)
    assert (
        report.reversals_carried_out,
        report.reversals_pending,
        report.reversals_rejected,
    ) == (5, 1, 1)
    assert report.movements == 7 + 5 + 1  # ada's first deposit too
    assert report.deposits - report.withdrawals == report.total_balances
    assert report.total_balances == report.ledger_balance == Decimal("3600.00")
    assert "5 reversals, 1 pending, 1 rejected" in report.summary()


def test_a_reversal_may_take_money_back_from_a_frozen_account(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    bank.accounts.staff.freeze(ada, "Suspected fraud")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "Stolen card")
    assert bank.accounts.get_account(ada).balance == Decimal("100.00")
    assert_clean(bank)


def forge_reversal(bank, account_id, transaction_id):
    """Save a ``Reversed`` as a bug bypassing the reversal desk would."""
    account = bank.accounts._get_account(account_id)
    original = next(
        event
        for event in bank.accounts.events.get(account_id)
        if type(event) in REVERSIBLE and event.transaction_id == transaction_id
    )
    forged = uuid4()
    account.reverse(original, forged, "No reversal asked for this")
    bank.accounts.save(account)
    bank.wait_until_processed(timeout=10)
    return forged


def test_the_audit_finds_a_reversed_event_without_a_reversal(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    forged = forge_reversal(bank, ada, deposit)

    report = audit(bank)
    assert any(
        f"Reversed events of transaction {forged} belong to no carried-out "
        f"reversal: £-40.00 on account {ada}" in problem
        for problem in report.problems
    ), report.problems
    # The balances still add up: only the reversal behind the money is missing.
    assert report.total_balances == report.deposits - report.withdrawals


def test_the_audit_finds_a_transaction_reversed_twice(bank, ada):
    deposit = bank.accounts.deposit(ada, "40.00")
    bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    forged = forge_reversal(bank, ada, deposit)

    problems = audit(bank).problems
    assert f"Transaction {deposit} is reversed 2 times on account {ada}." in problems
    assert any(f"transaction {forged} belong to no" in p for p in problems), problems


def test_the_audit_finds_a_pending_reversal_that_moved_money(bank, ada):
    deposit = bank.accounts.deposit(ada, "1500.00")
    request = bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")
    # A bug carrying out the accounts' part while the request waits.
    account = bank.accounts._get_account(ada)
    [original] = [
        event
        for event in bank.accounts.events.get(ada)
        if getattr(event, "transaction_id", None) == deposit
    ]
    account.reverse(original, request.transaction_id, "Bounced")
    bank.accounts.save(account)
    bank.wait_until_processed(timeout=10)

    problems = audit(bank).problems
    assert any(
        f"Reversal {request.id} of transaction {deposit} is pending, but moved "
        "money" in problem
        for problem in problems
    ), problems


def test_the_audit_finds_a_transfer_reversed_on_one_side_only(bank, ada, bob):
    transfer = bank.accounts.transfer(ada, bob, "25.00")
    # A bug saving the reversal with its sender's leg only, and unlisted.
    reversal = Reversal.request(
        reverses=transfer,
        transaction_id=uuid4(),
        kind="transfer",
        amount=Decimal("25.00"),
        account_ids=(ada, bob),
        requested_by="carol",
        reason="Wrong payee",
        freeze=False,
    )
    account = bank.accounts._get_account(ada)
    [sent] = [
        event
        for event in bank.accounts.events.get(ada)
        if getattr(event, "transaction_id", None) == transfer
    ]
    account.reverse(sent, reversal.transaction_id, "Wrong payee")
    reversal.carry_out()
    bank.accounts.save(account, reversal)
    bank.wait_until_processed(timeout=10)

    problems = audit(bank).problems
    named = f"Reversal {reversal.id} of transaction {transfer}"
    assert f"{named} has 0 Reversed event(s) on account {bob}; it should have one." in (
        problems
    )
    assert (
        f"{named}, a transfer of £25.00, changed balances by £25.00 in all; it "
        "should have changed them by £0.00." in problems
    )
    assert f"Reversal {reversal.id} is missing from the list of reversals." in problems


def test_the_audit_command_counts_reversals(site_bank, ada):
    deposit = site_bank.accounts.deposit(ada, "40.00")
    large = site_bank.accounts.deposit(ada, "1500.00")
    site_bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid in twice")
    site_bank.accounts.reversals.reverse(large, ada, "carol", "Bounced")
    out = StringIO()
    call_command("bank_audit", "--wait=0", stdout=out, no_color=True)
    output = out.getvalue()
    assert "reversals carried out             1" in output
    assert "reversals pending                 1" in output
    assert "reversals rejected                0" in output
    assert "The books balance." in output
