"""Accounts most application tests start from, on the ``bank`` fixture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from uuid import UUID

    from esbank_site.bank import Bank


@pytest.fixture
def ada(bank: Bank) -> UUID:
    """Ada's current account, with £100.00 in it."""
    account_id = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account_id, "100.00")
    return account_id


@pytest.fixture
def bob(bank: Bank) -> UUID:
    """Bob's savings account, empty."""
    return bank.accounts.open_account("bob", "Savings")
