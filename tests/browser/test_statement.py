"""The account page's statement in a real browser: paged, filtered, downloaded."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded
from tests.support.statement_history import StoppedClock, daily_history

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


def statement_shown(page):
    """(moment, amount, balance) of each line the statement shows, oldest first."""
    rows = page.locator("#statement tbody tr")
    lines = []
    for index in range(rows.count()):
        row = rows.nth(index)
        figures = row.locator("[data-amount]")
        lines.append(
            (
                row.locator("time").get_attribute("datetime"),
                figures.nth(figures.count() - 2).get_attribute("data-amount"),
                figures.last.get_attribute("data-amount"),
            )
        )
    return lines[::-1]


def test_customer_filters_the_statement_and_downloads_what_it_shows(
    live_server, new_context, customer, django_bank, monkeypatch
):
    clock = StoppedClock(monkeypatch)
    account_id = daily_history(django_bank, clock, owner="alice")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    url = f"{live_server.url}/accounts/{account_id}/"
    page.goto(url)
    rows = page.locator("#statement tbody tr")
    expect(rows).to_have_count(20)
    mark_page(page)

    filters = page.locator("#statement-filters")
    filters.get_by_label("Kind").select_option("deposit")
    filters.get_by_label("Reference contains").fill("salary 1")
    filters.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{url}?kind=deposit&q=salary+1")
    expect(rows).to_have_count(5)  # Salary 1, 10, 13, 16 and 19
    expect(rows.first).to_contain_text("Salary 19")
    assert was_not_reloaded(page)

    # The file holds what the statement shows, oldest first.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("statement-")
    with open(download.path(), encoding="utf-8", newline="") as file:
        header, *lines = list(csv.reader(file))
    assert header == ["date", "kind", "reference", "counterparty", "amount", "balance"]
    assert [line[2] for line in lines] == [
        "Salary 1",
        "Salary 10",
        "Salary 13",
        "Salary 16",
        "Salary 19",
    ]
    assert [(line[0], line[4], line[5]) for line in lines] == statement_shown(page)

    # A filter the bank cannot use says so beside the form, and the
    # statement stays as it was.
    filters.get_by_label("From").fill("2026-01-20")
    filters.get_by_label("To").fill("2026-01-10")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#id_statement_to_error")).to_have_text(
        "The end date is before the start date."
    )
    expect(rows).to_have_count(5)
    expect(page).to_have_url(f"{url}?kind=deposit&q=salary+1")
    assert was_not_reloaded(page)
