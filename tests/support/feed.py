"""The staff feed's credentials, and a bank with a few sections of history."""

from __future__ import annotations

from base64 import b64encode
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from esbank_site.bank import Bank

STAFF_PASSWORD = "feed-staff-secret-1"
CUSTOMER_PASSWORD = "feed-customer-secret-1"


def basic(username: str, password: str) -> dict[str, str]:
    """Headers for a test client request with HTTP Basic credentials."""
    token = b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def record_history(bank: Bank, owner: str = "carol") -> None:
    """Open two accounts and move money: more than one section of events."""
    accounts = bank.accounts
    first = accounts.open_account(owner, "Everyday")
    second = accounts.open_account(owner, "Savings")
    for pence in range(1, 5):
        accounts.deposit(first, Decimal(pence) + Decimal("0.25"))
    accounts.transfer(first, second, Decimal("3.00"), idempotency_key=f"move-3-{owner}")
    accounts.withdraw(second, Decimal("1.00"))
