"""manage.py bank_demo: demo users, accounts and a believable history.

Idempotent: users are created only if missing, and money is moved only
while the bank has no accounts yet, so ``make run`` can call it every time.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.errors import BankError
from esbank_site import bank as site_bank
from esbank_site.runtime.progress import progress_bar

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.application import Accounts

# Demo credentials, printed by the command and listed in the README.
# DANGER: well-known passwords; never run this command on a real bank.
DEMO_USERS = [
    # username, password, is_staff, display name
    ("alice", "alice-demo-2026", False, "Alice Archer"),
    ("bob", "bob-demo-2026", False, "Bob Baker"),
    ("staff", "staff-demo-2026", True, "Sam Staff"),
]
CUSTOMERS = [username for username, _, is_staff, _ in DEMO_USERS if not is_staff]
ACCOUNT_NAMES = ["Current", "Savings", "Holiday", "Household", "Rainy day"]


class Command(BaseCommand):
    help = (
        "Create demo users (alice, bob, staff) and, if the bank is empty, "
        "accounts with a history of deposits, withdrawals and transfers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts",
            type=int,
            default=4,
            help="How many accounts to open, shared among the customers (default 4).",
        )
        parser.add_argument(
            "--transactions",
            type=int,
            default=40,
            help="How many random movements of money to make (default 40).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=2026,
            help="Random seed, for a repeatable history.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["accounts"] < 2 or options["transactions"] < 0:
            msg = "Use at least 2 accounts and a non-negative number of transactions."
            raise CommandError(msg)
        create_demo_users()
        bank = site_bank.get_bank()
        accounts = bank.accounts
        existing = accounts.count_accounts()
        if existing:
            self.stdout.write(
                f"The bank already has {existing} accounts; no new history."
            )
        else:
            rng = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
            account_ids = open_demo_accounts(accounts, options["accounts"])
            self.move_money(accounts, account_ids, options["transactions"], rng)
            bank.wait_until_processed()
        self.print_credentials()

    def move_money(
        self,
        accounts: Accounts,
        account_ids: list[UUID],
        count: int,
        rng: random.Random,
    ) -> None:
        """Deposits, withdrawals and transfers, with a progress bar."""
        for done in range(1, count + 1):
            make_random_movement(accounts, account_ids, rng)
            self.stdout.write(f"\r{progress_bar(done, count)}", ending="")
        if count:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Made {count} demo transactions."))

    def print_credentials(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo users (username / password):"))
        for username, password, is_staff, _ in DEMO_USERS:
            role = "staff" if is_staff else "customer"
            self.stdout.write(f"  {username:<6} / {password:<16} ({role})")


def create_demo_users() -> None:
    """Create the demo users that do not exist yet."""
    user_model = get_user_model()
    for username, password, is_staff, full_name in DEMO_USERS:
        if user_model.objects.filter(username=username).exists():
            continue
        first_name, last_name = full_name.split(" ", 1)
        user_model.objects.create_user(
            username=username,
            password=password,
            is_staff=is_staff,
            first_name=first_name,
            last_name=last_name,
        )


def open_demo_accounts(accounts: Accounts, count: int) -> list[UUID]:
    """Open ``count`` accounts, round-robin among the customers, each funded."""
    account_ids = []
    for number in range(count):
        owner = CUSTOMERS[number % len(CUSTOMERS)]
        name = ACCOUNT_NAMES[(number // len(CUSTOMERS)) % len(ACCOUNT_NAMES)]
        account_id = accounts.open_account(owner, name)
        accounts.deposit(account_id, Decimal(500 + 250 * number))
        account_ids.append(account_id)
    return account_ids


def make_random_movement(
    accounts: Accounts, account_ids: list[UUID], rng: random.Random
) -> None:
    """One deposit, withdrawal or transfer; refusals (e.g. no funds) are skipped."""
    source, target = rng.sample(account_ids, 2)
    amount = Decimal(rng.randint(100, 25_000)) / 100
    kind = rng.choices(["deposit", "withdraw", "transfer"], weights=[3, 4, 3])[0]
    try:
        if kind == "deposit":
            accounts.deposit(source, amount)
        elif kind == "withdraw":
            accounts.withdraw(source, amount)
        else:
            accounts.transfer(source, target, amount)
    except BankError:
        pass  # a real customer would have been refused too
