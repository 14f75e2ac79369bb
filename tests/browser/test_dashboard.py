"""Journeys through the dashboard in a real browser, htmx and all."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def open_account(page, name):
    """Open an account from the dashboard; return its number."""
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Open account").click()
    expect(page.locator("#open-account .notice")).to_contain_text(name)
    row = page.locator("#accounts-panel tr", has_text=name)
    expect(row).to_be_visible()  # the list refreshed itself on accountsChanged
    return row.get_attribute("data-account-id")


def test_customer_moves_money_in_place(live_server, new_context, customer, screenshot):
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="Your accounts")).to_be_visible()
    mark_page(page)

    everyday = open_account(page, "Everyday")
    savings = open_account(page, "Savings")
    assert was_not_reloaded(page)

    page.get_by_role("link", name="Everyday").click()
    expect(page.locator("#balance")).to_have_attribute("data-amount", "0.00")
    mark_page(page)

    deposit = page.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("250.00")
    deposit.get_by_role("button", name="Deposit").click()
    expect(deposit.locator(".notice")).to_have_text("£250.00 paid in.")
    expect(page.locator("#balance")).to_have_attribute("data-amount", "250.00")

    transfer = page.locator("#form-transfer")
    transfer.get_by_label("To account number").fill(savings)
    transfer.get_by_label("Amount").fill("75.50")
    transfer.get_by_role("button", name="Transfer").click()
    expect(transfer.locator(".notice")).to_have_text(
        re.compile(r"£75\.50 sent to Savings \(\d{4} \d{4}\)\.")
    )
    expect(page.locator("#balance")).to_have_attribute("data-amount", "174.50")
    expect(page.locator("#statement")).to_contain_text("to Savings")

    withdraw = page.locator("#form-withdraw")
    withdraw.get_by_label("Amount").fill("1000")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(withdraw.locator(".field-error")).to_have_text(
        "Not enough money in this account."
    )
    expect(page.locator("#balance")).to_have_attribute("data-amount", "174.50")
    assert was_not_reloaded(page)
    screenshot(page, "account.png")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "account-phone.png")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("link", name="Your accounts").click()
    expect(
        page.locator(f'tr[data-account-id="{everyday}"] [data-amount]')
    ).to_have_attribute("data-amount", "174.50")
    expect(page.locator("#customer-total")).to_have_attribute("data-amount", "250.00")
    screenshot(page, "dashboard.png")


def test_staff_follow_money_moved_by_someone_else(  # noqa: PLR0917 (fixtures)
    live_server, new_context, customer, staff_member, django_bank, screenshot
):
    accounts = django_bank.accounts
    account_id = accounts.open_account("alice", "Everyday")
    accounts.deposit(account_id, "100.00")
    # Other customers' money, so the overview shows a bank, not one account.
    current = accounts.open_account("bob", "Current")
    rainy_day = accounts.open_account("bob", "Rainy day")
    accounts.deposit(current, "1250.00")
    accounts.transfer(current, rainy_day, "400.00")
    accounts.withdraw(current, "62.10")
    accounts.deposit(rainy_day, "35.00")
    # Bob's money stays put from here on: only Alice's moves.
    others = Decimal("1250.00") - Decimal("62.10") + Decimal("35.00")

    staff = new_context().new_page()
    log_in(staff, live_server.url, "staff")
    expect(staff.locator("#ledger-total")).to_have_attribute(
        "data-amount", f"{others + Decimal('100.00')}"
    )
    mark_page(staff)

    alice = new_context().new_page()
    log_in(alice, live_server.url, "alice")
    alice.goto(f"{live_server.url}/accounts/{account_id}/")
    deposit = alice.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("23.45")
    deposit.get_by_role("button", name="Deposit").click()
    expect(deposit.locator(".notice")).to_be_visible()

    # The staff page polls: the new total and transaction arrive unasked.
    expect(staff.locator("#ledger-total")).to_have_attribute(
        "data-amount", f"{others + Decimal('123.45')}"
    )
    expect(staff.locator("#ledger-transactions")).to_have_text("6")
    expect(staff.locator("#transactions-panel .log-entry").first).to_contain_text(
        "£23.45"
    )
    row = staff.locator(f'tr[data-account-id="{account_id}"] [data-amount]')
    expect(row).to_have_attribute("data-amount", "123.45")
    assert was_not_reloaded(staff)
    screenshot(staff, "staff-dashboard.png")
    staff.set_viewport_size({"width": 390, "height": 844})
    screenshot(staff, "staff-dashboard-phone.png")
    staff.set_viewport_size({"width": 1280, "height": 860})

    staff.locator(f'tr[data-account-id="{account_id}"]').get_by_role(
        "link", name="Events"
    ).click()
    expect(staff.locator("#events .event")).to_have_count(3)
    mark_page(staff)

    withdraw = alice.locator("#form-withdraw")
    withdraw.get_by_label("Amount").fill("3.45")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(withdraw.locator(".notice")).to_be_visible()

    expect(staff.locator("#events .event")).to_have_count(4)
    expect(staff.locator("#state-balance")).to_have_attribute("data-amount", "120.00")
    assert was_not_reloaded(staff)

    # Step back through the versions: the state as of each event.
    staff.locator('#events .event[data-version="2"] .event-link').click()
    expect(staff.locator("#state-version")).to_have_text("2")
    expect(staff.locator("#state-balance")).to_have_attribute("data-amount", "100.00")
    expect(staff).to_have_url(re.compile(r"\?version=2$"))
    staff.locator("#step-back").click()
    expect(staff.locator("#state-version")).to_have_text("1")
    expect(staff.locator("#state-balance")).to_have_attribute("data-amount", "0.00")
    staff.locator("#step-forward").click()
    staff.locator("#step-forward").click()
    expect(staff.locator("#state-version")).to_have_text("3")
    expect(staff.locator("#state-balance")).to_have_attribute("data-amount", "123.45")
    assert was_not_reloaded(staff)
    screenshot(staff, "timeline.png")

    # The browser's Back button returns to the version before, whole page and all.
    staff.go_back()
    expect(staff).to_have_url(re.compile(r"\?version=2$"))
    expect(staff.locator("#state-version")).to_have_text("2")
    expect(staff.locator(".topbar")).to_have_count(1)
