"""Staff operations in a real browser: limit, freeze, unfreeze, in place.

Staff use the panel on a customer's account page through htmx (no reload);
the customer sees the freeze on their own pages and cannot take money out.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def test_staff_freeze_an_account_and_the_customer_sees_it(
    live_server, new_context, customer, staff_member, django_bank
):
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.deposit(account_id, Decimal("40.00"))

    staff = new_context().new_page()
    log_in(staff, live_server.url, "staff")
    staff.goto(f"{live_server.url}/accounts/{account_id}/")
    mark_page(staff)

    limit = staff.locator("#form-set_overdraft_limit")
    limit.get_by_label("Overdraft limit (£)").fill("100.00")
    limit.get_by_role("button", name="Set limit").click()
    # Refused in place: the reason is missing, and the cursor goes to it.
    reason = staff.locator("#id_set_overdraft_limit_reason")
    expect(staff.locator("#id_set_overdraft_limit_reason_error")).to_contain_text(
        "Give a reason"
    )
    expect(reason).to_be_focused()
    reason.fill("Salary paid in here from next month")
    staff.locator("#form-set_overdraft_limit").get_by_role(
        "button", name="Set limit"
    ).click()
    expect(staff.locator("#account-status .notice")).to_have_text(
        "Overdraft limit set to £100.00."
    )
    expect(staff.locator("#available")).to_have_attribute("data-amount", "140.00")

    freeze = staff.locator("#form-freeze_account")
    freeze.get_by_label("Reason").fill("Card reported stolen")
    freeze.get_by_role("button", name="Freeze account").click()
    expect(staff.locator("#account-state .badge")).to_have_text("Frozen")
    expect(staff.locator("#account-status .notice")).to_be_focused()
    expect(staff.locator("#form-unfreeze_account")).to_be_visible()
    assert was_not_reloaded(staff)
    assert django_bank.accounts.get_account(account_id).frozen

    alice = new_context().new_page()
    log_in(alice, live_server.url, "alice")
    row = alice.locator(f"#accounts-panel tr[data-account-id='{account_id}']")
    expect(row.locator(".badge")).to_have_text("Frozen")
    alice.goto(f"{live_server.url}/accounts/{account_id}/")
    expect(alice.locator("#account-state .badge")).to_have_text("Frozen")
    expect(alice.locator("#staff-actions")).to_have_count(0)
    withdraw = alice.locator("#form-withdraw")
    withdraw.get_by_label("Amount").fill("5.00")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(withdraw.locator(".form-errors")).to_contain_text("This account is frozen")

    unfreeze = staff.locator("#form-unfreeze_account")
    unfreeze.get_by_label("Reason").fill("New card sent")
    unfreeze.get_by_role("button", name="Unfreeze account").click()
    expect(staff.locator("#account-state .badge")).to_have_count(0)
    expect(staff.locator("#form-freeze_account")).to_be_visible()
    assert not django_bank.accounts.get_account(account_id).frozen
