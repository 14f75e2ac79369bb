"""A customer's dashboard lists their accounts a page at a time.

``CUSTOMER_ACCOUNTS_PER_PAGE`` accounts a page, the first opened first, with
Previous/Next links that work with and without htmx; a ``?page=`` that is
not a page clamps as on the staff list. On this test's bank (``site_bank``),
SQLite and PostgreSQL in turn: the pages come from the accounts list's SQL.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.views import CUSTOMER_ACCOUNTS_PER_PAGE
from tests.support.html import element, elements
from tests.support.http import HX, signed_in

ACCOUNTS = CUSTOMER_ACCOUNTS_PER_PAGE + 5


@pytest.fixture
def customer(site_bank, transactional_db, django_user_model):
    """Ada, signed in, with ACCOUNTS accounts (the limit raised for her)."""
    site_bank.accounts.open_accounts.most = ACCOUNTS
    ids = [
        site_bank.accounts.open_account("ada", f"Account {number:03}")
        for number in range(ACCOUNTS)
    ]
    site_bank.accounts.deposit(ids[-1], Decimal("5.00"))
    site_bank.accounts.open_account("bob", "Not Ada's")
    return signed_in(django_user_model.objects.create_user("ada"))


def names(html):
    return [
        row.elements("a")[0].text for row in elements(html, "tr", data_account_id=True)
    ]


def test_a_customer_pages_through_more_accounts_than_a_page_holds(customer):
    first = customer.get("/").content.decode()
    assert names(first) == [
        f"Account {n:03}" for n in range(CUSTOMER_ACCOUNTS_PER_PAGE)
    ]
    assert "Page 1 of 2" in first
    assert element(first, id="accounts-panel")["hx-get"] == "/accounts/panel/"
    assert not elements(first, id="accounts-previous")
    following = element(first, "a", id="accounts-next")
    assert following["href"] == "?page=2"
    assert following["hx-get"] == "/accounts/panel/?page=2"
    assert following["hx-push-url"] == "?page=2"
    # The total is of all her accounts, not only this page's.
    assert elements(first, id="customer-total", data_amount="5.00")

    for page, headers in (("/?page=2", {}), ("/accounts/panel/?page=2", HX)):
        second = customer.get(page, headers=headers).content.decode()
        assert ("<html" in second) == (not headers), page
        assert names(second) == [
            f"Account {n:03}" for n in range(CUSTOMER_ACCOUNTS_PER_PAGE, ACCOUNTS)
        ]
        assert "Page 2 of 2" in second
        assert not elements(second, id="accounts-next")
        assert element(second, "a", id="accounts-previous")["href"] == "?page=1"
        # The panel refreshes itself as the same page.
        panel = element(second, id="accounts-panel")
        assert panel["hx-get"] == "/accounts/panel/?page=2"
        assert elements(second, id="customer-total", data_amount="5.00")


# Pages asked for, and the page shown: not a number is the first page,
# beyond the last is the last.
CLAMPED = [
    ("0", 1), ("-1", 1), ("banana", 1), ("", 1), ("2.5", 1), ("9" * 5000, 1),
    ("3", 2), ("1000000", 2), (str(2**63), 2),
]  # fmt: skip


def test_a_page_that_is_not_there_clamps_as_on_the_staff_list(customer):
    for asked, shown in CLAMPED:
        for path, headers in (("/", {}), ("/accounts/panel/", HX)):
            response = customer.get(path, {"page": asked}, headers=headers)
            assert response.status_code == 200, (path, asked[:20])
            html = response.content.decode()
            assert f"Page {shown} of 2" in html, (path, asked[:20])
            first = 0 if shown == 1 else CUSTOMER_ACCOUNTS_PER_PAGE
            assert names(html)[0] == f"Account {first:03}", (path, asked[:20])


def test_one_page_of_accounts_has_no_pager(alice_client, alice_account, alice_savings):
    html = alice_client.get("/").content.decode()
    assert len(elements(html, "tr", data_account_id=True)) == 2
    assert not elements(html, "nav", class_="pager")
    assert element(html, id="accounts-panel")["hx-get"] == "/accounts/panel/"
