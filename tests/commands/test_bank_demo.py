"""manage.py bank_demo: demo users, accounts and history, once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.errors import TooManyAccountsError
from esbank_site.operations.audit import audit


def test_demo_creates_users_accounts_and_history_once(django_bank):
    out = StringIO()
    call_command("bank_demo", accounts=6, transactions=30, stdout=out)
    assert set(User.objects.values_list("username", "is_staff")) == {
        ("alice", False),
        ("bob", False),
        ("staff", True),
        ("manager", True),
    }
    assert django_bank.accounts.count_accounts() == 6
    assert len(django_bank.accounts.list_owner_account_ids("alice")) == 3
    assert "alice   / alice-demo-2026" in out.getvalue()
    report = audit(django_bank)
    assert report.ok, report.problems
    assert report.movements > 6  # the opening deposits and more
    # Put right: one reversal carried out, a large one waiting for a second pair
    # of eyes (staff asked; manager may approve).
    reversals = list(django_bank.accounts.reversals.all_reversals())
    assert [(r.status, r.requested_by, r.amount) for r in reversals] == [
        ("carried out", "staff", Decimal("25.00")),
        ("pending", "staff", Decimal("1500.00")),
    ]

    head = django_bank.accounts.recorder.max_notification_id()
    call_command("bank_demo", stdout=StringIO())
    assert django_bank.accounts.recorder.max_notification_id() == head
    assert User.objects.count() == 4


def report(out):
    """The command's report: the lines from the one on users on."""
    lines = out.getvalue().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Created ")]
    assert len(starts) == 1, lines
    return lines[starts[0] :]


def movements_recorded(bank):
    """How many of each movement the Accounts log holds, by event class."""
    recorder = bank.accounts.recorder
    head = recorder.max_notification_id() or 0
    topics = [n.topic for n in recorder.select_notifications(1, head)]
    return Counter(topic.rsplit(".", 1)[-1] for topic in topics)


def test_demo_says_exactly_what_it_made_on_a_first_and_a_second_run(
    site_bank, transactional_db
):
    User.objects.create_user("bob", password="his-own-1")
    out = StringIO()
    call_command("bank_demo", accounts=5, transactions=40, stdout=out)
    first = report(out)
    print("\n".join(first))
    recorded = movements_recorded(site_bank)
    assert recorded["Opened"] == 5
    # Less each account's opening deposit, and the two the demo reverses.
    deposits = recorded["Deposited"] - 5 - 2
    withdrawals, transfers = recorded["Withdrawn"], recorded["TransferSent"]
    made = deposits + withdrawals + transfers
    assert 0 < made < 40  # some random movements were refused, and said so
    assert recorded["Reversed"] == 1  # the large one waits for approval
    assert first[:6] == [
        "Created 3 users: alice, staff, manager.",
        "Already there, left as they were: bob.",
        "Opened 5 accounts, each with an opening deposit.",
        f"Made {made} movements of money: {deposits} deposits, "
        f"{withdrawals} withdrawals, {transfers} transfers.",
        f"{40 - made} random movements refused by the bank "
        "(e.g. not enough money), as a customer's would be.",
        "Staff reversed a deposit paid in twice, and asked to reverse a returned "
        "cheque of £1500.00: log in as manager to approve it.",
    ]
    assert first[6:] == [
        "Demo users (username / password):",
        "  alice   / alice-demo-2026   (customer)",
        "  bob     / (changed: not the demo password) (customer)",
        "  staff   / staff-demo-2026   (staff)",
        "  manager / manager-demo-2026 (staff)",
    ]

    head = site_bank.accounts.recorder.max_notification_id()
    out = StringIO()
    call_command("bank_demo", stdout=out)
    second = report(out)
    print("\n".join(second))
    assert second == [
        "Created 0 users.",
        "Already there, left as they were: alice, bob, staff, manager.",
        "The bank already has 5 accounts: nothing added.",
        "Demo users (username / password):",
        "  alice   / alice-demo-2026   (customer)",
        "  bob     / (changed: not the demo password) (customer)",
        "  staff   / staff-demo-2026   (staff)",
        "  manager / manager-demo-2026 (staff)",
    ]
    assert site_bank.accounts.recorder.max_notification_id() == head


def test_demo_says_how_many_accounts_the_bank_refused_to_open(
    site_bank, transactional_db
):
    site_bank.accounts.open_accounts.most = 2  # each of two customers
    out = StringIO()
    call_command("bank_demo", accounts=6, transactions=0, stdout=out)
    assert report(out)[:4] == [
        "Created 4 users: alice, bob, staff, manager.",
        "Opened 4 accounts, each with an opening deposit.",
        f"The bank refused to open more: {TooManyAccountsError(2)}",
        "Made 0 movements of money: 0 deposits, 0 withdrawals, 0 transfers.",
    ]
    assert site_bank.accounts.count_accounts() == 4


def test_demo_refuses_too_few_accounts(django_bank):
    with pytest.raises(CommandError, match="at least 2 accounts"):
        call_command("bank_demo", accounts=1, stdout=StringIO())
    assert django_bank.accounts.count_accounts() == 0
