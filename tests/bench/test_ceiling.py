"""The fragment ceiling of the write-path benchmark (``bench/ceiling.py``).

It must answer a signed-in htmx deposit as the site answers one (the fresh
form, the notice, the events that refresh the money panels) and record
nothing, or it would not be the ceiling of the web path alone.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
from django.urls import reverse

from accounts.http import HTMX_EVENTS
from tests.support.http import signed_in

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.test import Client

    from esbank_site.bank import Bank

pytestmark = pytest.mark.urls("tests.bench.ceiling_urls")


def test_a_signed_in_htmx_deposit_gets_the_fragment_and_nothing_is_recorded(
    django_bank: Bank, django_user_model: type[User]
) -> None:
    alice = django_user_model.objects.create_user("alice", password="alice-secret-1")
    account_id = uuid4()
    url = reverse("ceiling_deposit", args=[account_id])
    response = signed_in(alice).post(
        url, {"amount": "12.50", "token": uuid4().hex}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'id="form-deposit"' in html
    assert "£12.50 paid in." in html
    # The fresh form posts to the bank's own deposit, as the site's fragment does.
    assert reverse("accounts:deposit", args=[account_id]) in html
    triggered = response.headers["HX-Trigger"]
    assert all(event in triggered for event in HTMX_EVENTS.money_moved)
    assert django_bank.accounts.recorder.max_notification_id() in {None, 0}


def test_a_refused_amount_gets_the_form_with_its_error(
    django_bank: Bank, django_user_model: type[User]
) -> None:
    alice = django_user_model.objects.create_user("alice", password="alice-secret-1")
    url = reverse("ceiling_deposit", args=[uuid4()])
    response = signed_in(alice).post(
        url, {"amount": "-1", "token": uuid4().hex}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "paid in" not in response.content.decode()
    assert django_bank.accounts.recorder.max_notification_id() in {None, 0}


def test_nobody_signed_out_reaches_it(django_bank: Bank, client: Client) -> None:
    url = reverse("ceiling_deposit", args=[uuid4()])
    response = client.post(url, {"amount": "1.00"}, HTTP_HX_REQUEST="true")
    # The site's sign-in middleware sends htmx to the login page, as for a deposit.
    assert response.headers["HX-Redirect"].startswith(reverse("login"))
    assert "paid in" not in response.content.decode()
