"""Opening past ``ESBANK_MAX_OPEN_ACCOUNTS``: 422, the reason, nothing recorded.

The views on this test's bank (``site_bank``), on SQLite and PostgreSQL;
and the site's own bank, which takes the limit from the setting.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.support.http import HX, signed_in

REASON = "You already have 2 open accounts, the most one customer may hold."


@pytest.fixture
def customer(site_bank, transactional_db, django_user_model):
    return signed_in(django_user_model.objects.create_user("ada"))


def test_opening_past_the_limit_is_422_and_records_nothing(site_bank, customer):
    site_bank.accounts.open_accounts.most = 2
    for name in ("One", "Two"):
        assert customer.post("/accounts/open/", {"name": name}).status_code == 302
    head = site_bank.accounts.recorder.max_notification_id()
    for headers in ({}, HX):
        response = customer.post("/accounts/open/", {"name": "Three"}, headers=headers)
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
        assert REASON in response.content.decode()
    assert site_bank.accounts.recorder.max_notification_id() == head
    assert len(site_bank.accounts.list_owner_account_ids("ada")) == 2


def test_the_site_bank_takes_its_limit_from_the_setting(django_bank, settings):
    assert settings.ESBANK_MAX_OPEN_ACCOUNTS == 20  # the default
    assert django_bank.accounts.open_accounts.most == 20
