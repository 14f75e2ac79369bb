"""The account page's statement, a page at a time, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def test_customer_pages_through_the_statement_in_place(
    live_server, new_context, customer, django_bank
):
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    for amount in range(1, 46):  # versions 2 to 46
        django_bank.accounts.deposit(account_id, amount)
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    url = f"{live_server.url}/accounts/{account_id}/"
    page.goto(url)
    rows = page.locator("#statement tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_have_attribute("data-version", "46")
    mark_page(page)

    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(f"{url}?before=27")
    expect(rows.first).to_have_attribute("data-version", "26")
    expect(rows.first.locator("[data-amount]").last).to_have_attribute(
        "data-amount", f"{sum(range(1, 26)):.2f}"
    )

    # Money moved meanwhile refreshes the panel, which stays on its page.
    deposit = page.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("5.00")
    deposit.get_by_role("button", name="Deposit").click()
    expect(page.locator("#balance")).to_have_attribute(
        "data-amount", f"{sum(range(1, 46)) + 5:.2f}"
    )
    expect(rows.first).to_have_attribute("data-version", "26")

    # 21 movements are newer now: the next page up is not yet the latest.
    page.get_by_role("link", name="Newer").click()
    expect(page).to_have_url(f"{url}?before=47")
    expect(rows.first).to_have_attribute("data-version", "46")
    page.get_by_role("link", name="Newer").click()
    expect(page).to_have_url(url)
    expect(rows.first).to_have_attribute("data-version", "47")
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)
    assert was_not_reloaded(page)

    page.go_back()
    expect(page).to_have_url(f"{url}?before=47")
    expect(rows.first).to_have_attribute("data-version", "46")
