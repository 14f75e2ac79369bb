"""The staff's event stream in a real browser: events arrive while it is open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def test_the_stream_shows_events_as_they_are_recorded(  # noqa: PLR0917 (fixtures)
    live_server, new_context, customer, staff_member, django_bank, screenshot
):
    accounts = django_bank.accounts
    account_id = accounts.open_account("alice", "Everyday")
    accounts.deposit(account_id, "10.00")
    django_bank.wait_until_processed()

    staff = new_context().new_page()
    log_in(staff, live_server.url, "staff")
    staff.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Events", exact=True
    ).click()
    expect(staff.get_by_role("heading", name="Events", exact=True)).to_be_visible()
    deposits = staff.locator('#event-stream tr[data-type="Deposited"]')
    expect(deposits).to_have_count(1)
    mark_page(staff)

    # Another process of the bank records a deposit: the open page polls.
    accounts.deposit(account_id, "23.45")
    expect(deposits).to_have_count(2)
    newest = staff.locator("#event-stream tbody tr").first
    expect(newest.locator("[data-amount]")).to_have_attribute("data-amount", "23.45")
    # The followers' events for it arrive too, each in its own application.
    for kind in ("DepositRecorded", "TransactionLogged"):
        expect(staff.locator(f'#event-stream tr[data-type="{kind}"]')).to_have_count(2)
    assert was_not_reloaded(staff)
    screenshot(staff, "events.png")

    # The filter is a plain form: the page reloads with the filter applied.
    staff.get_by_label("Application").select_option("ledger")
    staff.get_by_role("button", name="Show").click()
    staff.wait_for_url("**/staff/events/?app=ledger&type=")
    rows = staff.locator("#event-stream tbody tr")
    expect(rows.first).to_have_attribute("data-app", "ledger")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.app)")) == {"ledger"}

    # The account links to its timeline.
    staff.goto(f"{live_server.url}/staff/events/?type=Deposited")
    staff.locator("#event-stream tbody tr").first.get_by_role("link").click()
    expect(staff).to_have_url(f"{live_server.url}/staff/accounts/{account_id}/events/")


def test_the_dashboard_s_latest_events_arrive_too(
    live_server, new_context, customer, staff_member, django_bank
):
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    staff = new_context().new_page()
    log_in(staff, live_server.url, "staff")
    panel = staff.locator("#latest-events-panel")
    expect(panel.locator('tr[data-type="Opened"]')).to_have_count(1)
    mark_page(staff)
    django_bank.accounts.deposit(account_id, "7.00")
    expect(panel.locator('tr[data-type="Deposited"] [data-amount]')).to_have_attribute(
        "data-amount", "7.00"
    )
    assert was_not_reloaded(staff)
    panel.get_by_role("link", name="All events").click()
    expect(staff).to_have_url(f"{live_server.url}/staff/events/")
