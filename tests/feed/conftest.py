"""Users and credentials for the staff feed's tests, and a bank with history."""

from __future__ import annotations

from base64 import b64encode
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from esbank_site.bank import Bank

STAFF_PASSWORD = "feed-staff-secret-1"
CUSTOMER_PASSWORD = "feed-customer-secret-1"


def basic(username: str, password: str) -> dict[str, str]:
    """Headers for a test client request with HTTP Basic credentials."""
    token = b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def staff(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "feeder", password=STAFF_PASSWORD, is_staff=True
    )


@pytest.fixture
def customer(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("carol", password=CUSTOMER_PASSWORD)


def record_history(bank: Bank, owner: str = "carol") -> None:
    """Open two accounts and move money: more than one section of events."""
    accounts = bank.accounts
    first = accounts.open_account(owner, "Everyday")
    second = accounts.open_account(owner, "Savings")
    for pence in range(1, 5):
        accounts.deposit(first, Decimal(pence) + Decimal("0.25"))
    accounts.transfer(first, second, Decimal("3.00"), idempotency_key=f"move-3-{owner}")
    accounts.withdraw(second, Decimal("1.00"))


@pytest.fixture
def history(django_bank: Bank) -> Bank:
    """The site's bank with a dozen or so notifications recorded."""
    record_history(django_bank)
    return django_bank
