"""manage.py bank_demo: demo users, accounts and history, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from esbank_site.operations.audit import audit


def test_demo_creates_users_accounts_and_history_once(django_bank):
    out = StringIO()
    call_command("bank_demo", accounts=6, transactions=30, stdout=out)
    assert set(User.objects.values_list("username", "is_staff")) == {
        ("alice", False),
        ("bob", False),
        ("staff", True),
    }
    assert django_bank.accounts.count_accounts() == 6
    assert len(django_bank.accounts.list_owner_account_ids("alice")) == 3
    assert "alice  / alice-demo-2026" in out.getvalue()
    report = audit(django_bank)
    assert report.ok, report.problems
    assert report.movements > 6  # the opening deposits and more

    head = django_bank.accounts.recorder.max_notification_id()
    call_command("bank_demo", stdout=StringIO())
    assert django_bank.accounts.recorder.max_notification_id() == head
    assert User.objects.count() == 3


def test_demo_refuses_too_few_accounts(django_bank):
    with pytest.raises(CommandError, match="at least 2 accounts"):
        call_command("bank_demo", accounts=1, stdout=StringIO())
    assert django_bank.accounts.count_accounts() == 0
