"""Users for the staff feed's tests, and the site's bank with some history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.feed import CUSTOMER_PASSWORD, STAFF_PASSWORD, record_history

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from esbank_site.bank import Bank


@pytest.fixture
def staff(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "feeder", password=STAFF_PASSWORD, is_staff=True
    )


@pytest.fixture
def customer(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("carol", password=CUSTOMER_PASSWORD)


@pytest.fixture
def history(django_bank: Bank) -> Bank:
    """The site's bank with a dozen or so notifications recorded."""
    record_history(django_bank)
    return django_bank
