"""Events a management command records say which command, and which run."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command

from accounts.domain import Account

HEX_ID = re.compile(r"[0-9a-f]{32}")


def accounts_events(bank):
    recorder = bank.accounts.recorder
    head = recorder.max_notification_id() or 0
    return [
        bank.accounts.mapper.to_domain_event(n)
        for n in recorder.select_notifications(1, head)
    ]


def test_bank_demo_acts_as_itself_with_one_correlation_per_run(django_bank):
    call_command("bank_demo", accounts=2, transactions=3, stdout=StringIO())
    events = accounts_events(django_bank)
    assert {e.actor for e in events} == {"system:bank_demo"}
    [correlation] = {e.correlation_id for e in events}
    assert HEX_ID.fullmatch(correlation)


def test_number_accounts_acts_as_itself(django_bank):
    accounts = django_bank.accounts
    old = Account(owner="ada", name="Legacy", currency="GBP", number="")
    accounts.save(old, accounts.account_index.trigger_event(account_id=old.id))

    call_command("number_accounts", stdout=StringIO())
    created, *_, numbered = accounts.events.get(old.id)
    assert created.actor == "system"  # saved by the test, outside any run
    assert numbered.actor == "system:number_accounts"
    assert HEX_ID.fullmatch(numbered.correlation_id)
