"""manage.py bank_demo: demo users, accounts and a believable history.

Idempotent: users are created only if missing, and money is moved only
while the bank has no accounts yet, so ``make run`` can call it every time.
What it says it made is counted as it goes (``DemoReport``): users created
or already there, accounts opened, and each kind of movement made or
refused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.errors import BankError
from accounts.provenance import acting_as, command_run
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
    # A second member of staff: large reversals need two (four eyes).
    ("manager", "manager-demo-2026", True, "Max Manager"),
]
CUSTOMERS = [username for username, _, is_staff, _ in DEMO_USERS if not is_staff]
ACCOUNT_NAMES = ["Current", "Savings", "Holiday", "Household", "Rainy day"]
MOVEMENTS = ["deposit", "withdraw", "transfer"]
# References on the statements, as customers would write them ("" for none).
DEPOSIT_REFERENCES = ["", "Salary", "Refund", "Cash", "Birthday money"]
TRANSFER_REFERENCES = ["", "Rent", "Dinner", "Savings", "Thanks!", "Tickets"]
# Large enough that reversing it needs a second member of staff.
RETURNED_CHEQUE = Decimal("1500.00")


@dataclass
class DemoReport:
    """What one run did, counted as it was done."""

    users_created: list[str] = field(default_factory=list)
    users_existing: list[str] = field(default_factory=list)
    # Users already there whose password is no longer the demo's.
    passwords_changed: list[str] = field(default_factory=list)
    accounts_before: int = 0
    accounts_opened: int = 0
    accounts_refused: str = ""  # why the bank refused to open the rest
    made: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MOVEMENTS, 0))
    refused: int = 0
    put_right: bool = False  # one reversal made, one waiting for approval

    def lines(self) -> list[str]:
        """The report, one sentence a line."""
        lines = [
            f"Created {_count(len(self.users_created), 'user')}"
            + (f": {', '.join(self.users_created)}." if self.users_created else "."),
        ]
        if self.users_existing:
            there = ", ".join(self.users_existing)
            lines.append(f"Already there, left as they were: {there}.")
        if self.accounts_before:
            before = _count(self.accounts_before, "account")
            lines.append(f"The bank already has {before}: nothing added.")
            return lines
        lines.append(
            f"Opened {_count(self.accounts_opened, 'account')}, "
            "each with an opening deposit."
        )
        if self.accounts_refused:
            lines.append(f"The bank refused to open more: {self.accounts_refused}")
        made = self.made
        lines.append(
            f"Made {_count(sum(made.values()), 'movement')} of money: "
            f"{_count(made['deposit'], 'deposit')}, "
            f"{_count(made['withdraw'], 'withdrawal')}, "
            f"{_count(made['transfer'], 'transfer')}."
        )
        if self.refused:
            lines.append(
                f"{_count(self.refused, 'random movement')} refused by the bank "
                "(e.g. not enough money), as a customer's would be."
            )
        if self.put_right:
            lines.append(
                "Staff reversed a deposit paid in twice, and asked to reverse a "
                f"returned cheque of £{RETURNED_CHEQUE}: log in as manager to "
                "approve it."
            )
        return lines


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Create demo users (alice, bob, staff, manager) and, if the bank is empty, "
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
        # Its events say this command recorded them, in this run.
        with acting_as(command_run("bank_demo")):
            self.run(**options)

    def run(self, **options: Any) -> None:
        if options["accounts"] < 2 or options["transactions"] < 0:
            msg = "Use at least 2 accounts and a non-negative number of transactions."
            raise CommandError(msg)
        report = DemoReport()
        create_demo_users(report)
        bank = site_bank.get_bank()
        accounts = bank.accounts
        report.accounts_before = accounts.count_accounts()
        if not report.accounts_before:
            rng = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
            account_ids = open_demo_accounts(accounts, options["accounts"], report)
            if len(account_ids) >= 2:  # a transfer needs two accounts
                self.move_money(
                    accounts, account_ids, options["transactions"], rng, report
                )
                put_things_right(accounts, account_ids, report)
            bank.wait_until_processed()
        for line in report.lines():
            self.stdout.write(self.style.SUCCESS(line))
        self.print_credentials(report)

    def move_money(
        self,
        accounts: Accounts,
        account_ids: list[UUID],
        count: int,
        rng: random.Random,
        report: DemoReport,
    ) -> None:
        """Deposits, withdrawals and transfers, with a progress bar."""
        for done in range(1, count + 1):
            make_random_movement(accounts, account_ids, rng, report)
            self.stdout.write(f"\r{progress_bar(done, count)}", ending="")
        if count:
            self.stdout.write("")

    def print_credentials(self, report: DemoReport) -> None:
        self.stdout.write(self.style.SUCCESS("Demo users (username / password):"))
        for username, password, is_staff, _ in DEMO_USERS:
            role = "staff" if is_staff else "customer"
            shown = password
            if username in report.passwords_changed:
                shown = "(changed: not the demo password)"
            self.stdout.write(f"  {username:<7} / {shown:<17} ({role})")


def create_demo_users(report: DemoReport) -> None:
    """Create the demo users that do not exist yet."""
    user_model = get_user_model()
    for username, password, is_staff, full_name in DEMO_USERS:
        existing = user_model.objects.filter(username=username).first()
        if existing is not None:
            report.users_existing.append(username)
            if not existing.check_password(password):
                report.passwords_changed.append(username)
            continue
        first_name, last_name = full_name.split(" ", 1)
        user_model.objects.create_user(
            username=username,
            password=password,
            is_staff=is_staff,
            first_name=first_name,
            last_name=last_name,
        )
        report.users_created.append(username)


def open_demo_accounts(
    accounts: Accounts, count: int, report: DemoReport
) -> list[UUID]:
    """Open ``count`` accounts, round-robin among the customers, each funded.

    Stops at the first refusal (e.g. more accounts than one customer may
    hold open), and the report says why.
    """
    account_ids = []
    for number in range(count):
        owner = CUSTOMERS[number % len(CUSTOMERS)]
        name = ACCOUNT_NAMES[(number // len(CUSTOMERS)) % len(ACCOUNT_NAMES)]
        try:
            account_id = accounts.open_account(owner, name)
        except BankError as refusal:
            report.accounts_refused = str(refusal)
            break
        report.accounts_opened += 1
        account_ids.append(account_id)
        accounts.deposit(account_id, Decimal(500 + 250 * number), description="Salary")
    return account_ids


def put_things_right(
    accounts: Accounts, account_ids: list[UUID], report: DemoReport
) -> None:
    """A reversal carried out, and a large one waiting for a second pair of eyes."""
    twice = accounts.deposit(account_ids[0], "25.00", description="Paid in twice")
    accounts.reversals.reverse(
        twice, account_ids[0], "staff", "The customer's payment was paid in twice."
    )
    cheque = accounts.deposit(account_ids[1], RETURNED_CHEQUE, description="Cheque")
    accounts.reversals.reverse(
        cheque, account_ids[1], "staff", "The cheque was returned unpaid."
    )
    report.put_right = True


def make_random_movement(
    accounts: Accounts,
    account_ids: list[UUID],
    rng: random.Random,
    report: DemoReport,
) -> None:
    """One deposit, withdrawal or transfer; refusals (e.g. no funds) are counted."""
    source, target = rng.sample(account_ids, 2)
    amount = Decimal(rng.randint(100, 25_000)) / 100
    kind = rng.choices(MOVEMENTS, weights=[3, 4, 3])[0]
    try:
        if kind == "deposit":
            accounts.deposit(source, amount, description=rng.choice(DEPOSIT_REFERENCES))
        elif kind == "withdraw":
            accounts.withdraw(source, amount)
        else:
            reference = rng.choice(TRANSFER_REFERENCES)
            accounts.transfer(source, target, amount, description=reference)
    except BankError:
        report.refused += 1  # a real customer would have been refused too
        return
    report.made[kind] += 1
