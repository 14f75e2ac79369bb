"""Users, signed-in clients and accounts for the view tests."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.core.cache import caches

from tests.support.http import signed_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from uuid import UUID

    from django.contrib.auth.models import User
    from django.test import Client

    from esbank_site.bank import Bank


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    """Every view test starts and ends with no login or money-post counts."""
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


@pytest.fixture
def alice(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("alice", password="alice-secret-1")


@pytest.fixture
def bob(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("bob", password="bob-secret-1")


@pytest.fixture
def staff(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "staff", password="staff-secret-1", is_staff=True
    )


@pytest.fixture
def alice_client(alice: User) -> Client:
    return signed_in(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return signed_in(bob)


@pytest.fixture
def staff_client(staff: User) -> Client:
    return signed_in(staff)


@pytest.fixture
def alice_account(django_bank: Bank, alice: User) -> UUID:
    """Alice's current account, with £100.00 in it."""
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.deposit(account_id, Decimal("100.00"))
    return account_id


@pytest.fixture
def alice_savings(django_bank: Bank, alice: User) -> UUID:
    """Alice's second account, empty."""
    return django_bank.accounts.open_account("alice", "Savings")


@pytest.fixture
def bob_account(django_bank: Bank, bob: User) -> UUID:
    """Bob's account, with £50.00 in it."""
    account_id = django_bank.accounts.open_account("bob", "Bob's current")
    django_bank.accounts.deposit(account_id, Decimal("50.00"))
    return account_id


# Signed-in clients of the site on the ``site_bank`` (SQLite and PostgreSQL in
# turn), for pages whose reading of the events matters on both.


@pytest.fixture
def as_staff(
    site_bank: Bank, transactional_db: None, django_user_model: type[User]
) -> Client:
    staff = django_user_model.objects.create_user(
        "staff", password="staff-secret-1", is_staff=True
    )
    return signed_in(staff)


@pytest.fixture
def as_customer(
    site_bank: Bank, transactional_db: None, django_user_model: type[User]
) -> Client:
    return signed_in(django_user_model.objects.create_user("ada", password="ada-1"))
