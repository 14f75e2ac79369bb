"""``manage.py number_accounts``: give every account opened before numbers one.

Accounts get an 8-digit number when they are opened. Accounts opened
before that get theirs here: a ``NumberAssigned`` event each, saved with
the number's reservation, exactly as opening does (accounts/domain.py,
``AccountNumber``). Safe to run again, and while the bank is serving: an
account that has a number keeps it, and a number taken meanwhile is
drawn again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.provenance import acting_as, command_run
from esbank_site import bank as site_bank


class Command(BaseCommand):
    help = (
        "Give every account that has no account number one (a NumberAssigned "
        "event each). Idempotent: numbered accounts are left as they are."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Its events say this command recorded them, in this run.
        with acting_as(command_run("number_accounts")):
            self.run(**options)

    def run(self, **options: Any) -> None:
        accounts = site_bank.get_bank().accounts
        numbered = total = 0
        for entry in accounts.account_index.get():
            total += 1
            before = accounts.get_account(entry.account_id).number
            if not before:
                accounts.number_account(entry.account_id)
                numbered += 1
        self.stdout.write(
            f"Numbered {numbered} of {total} accounts; "
            f"the other {total - numbered} had numbers already."
        )
