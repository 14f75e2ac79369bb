"""Reversals in a real browser: from the timeline and the trace, then four eyes.

A member of staff opens "Reverse…" beside a deposit on the account's event
timeline (the form is loaded as it opens) and reverses it in place; asks on
a trace page to reverse a large one, which waits; a second member of staff
approves it on the list of reversals, whose row is swapped in place; the
ledger on the staff dashboard and the customer's statement then show it.
Each page, with its forms shown, passes axe-core.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations
from tests.support.browser import PASSWORD, log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def test_staff_reverse_from_the_timeline_and_approve_a_large_one(  # noqa: PLR0917
    live_server, new_context, staff_member, customer, django_bank, django_user_model
):
    django_user_model.objects.create_user(
        "supervisor", password=PASSWORD, is_staff=True
    )
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    small = django_bank.accounts.deposit(account_id, Decimal("40.00"))
    large = django_bank.accounts.deposit(account_id, Decimal("2500.00"))

    staff = new_context().new_page()
    log_in(staff, live_server.url, "staff")
    staff.goto(f"{live_server.url}/staff/accounts/{account_id}/events/")
    mark_page(staff)
    row = staff.locator("#events li[data-version='2']")
    row.get_by_text("Reverse…").click()
    form = row.locator(f"#reverse-form-{small}")
    expect(form).to_be_visible()
    assert not axe_violations(staff)
    # Refused in place: no reason given.
    form.get_by_role("button", name="Reverse").click()
    reason = staff.locator(f"#id_reverse_{small.hex}_reason")
    expect(staff.locator(f"#id_reverse_{small.hex}_reason_error")).to_contain_text(
        "Give a reason"
    )
    expect(reason).to_be_focused()
    reason.fill("Paid in twice")
    staff.locator(f"#reverse-form-{small}").get_by_role(
        "button", name="Reverse"
    ).click()
    expect(staff.locator("#reversal-status .notice")).to_have_text(
        "Reversed: the deposit of £40.00."
    )
    # The timeline refreshes itself with the new event on top.
    expect(staff.locator("#events li").first).to_have_attribute("data-type", "Reversed")
    assert was_not_reloaded(staff)
    assert django_bank.accounts.get_account(account_id).balance == Decimal("2500.00")

    staff.goto(f"{live_server.url}/staff/trace/{large}/")
    card = staff.locator("#reverse-card")
    assert not axe_violations(staff)
    card.get_by_label("Reason").fill("Sent to the wrong account")
    card.get_by_role("button", name="Reverse").click()
    expect(staff.locator("#reversal-status .notice")).to_contain_text(
        "Waiting for a second member of staff to approve"
    )
    expect(staff.locator("#reversal-status .notice")).to_be_focused()

    supervisor = new_context().new_page()
    log_in(supervisor, live_server.url, "supervisor")
    # The ledger, before: the large deposit still counts.
    expect(supervisor.locator("#ledger-total")).to_have_attribute(
        "data-amount", "2500.00"
    )
    supervisor.goto(f"{live_server.url}/staff/reversals/")
    mark_page(supervisor)
    waiting = supervisor.locator("li.reversal[data-status='pending']")
    expect(waiting).to_have_count(1)
    assert not axe_violations(supervisor)
    waiting.get_by_role("button", name="Approve and carry out").click()
    expect(supervisor.locator("#reversal-status .notice")).to_have_text(
        "Approved and carried out: the reversal of the deposit of £2,500.00."
    )
    expect(supervisor.locator("li.reversal[data-status='pending']")).to_have_count(0)
    assert was_not_reloaded(supervisor)
    assert django_bank.accounts.get_account(account_id).balance == Decimal("0.00")

    # The ledger follows: the money is out of the bank's books too.
    supervisor.goto(f"{live_server.url}/")
    expect(supervisor.locator("#ledger-total")).to_have_attribute("data-amount", "0.00")
    expect(supervisor.locator("#ledger-transactions")).to_have_text("4")

    # The customer's statement shows the reversal, with the reason, under the
    # deposit it undoes, which stays where it was.
    alice = new_context().new_page()
    log_in(alice, live_server.url, "alice")
    alice.goto(f"{live_server.url}/accounts/{account_id}/")
    reversal_line = alice.locator(f"#statement tr[data-reverses='{large}']")
    expect(reversal_line).to_contain_text("Reversal of deposit")
    expect(reversal_line).to_contain_text("Sent to the wrong account")
    expect(reversal_line.locator("[data-amount='-2500.00']")).to_have_count(1)
    expect(alice.locator("#statement tr[data-reversed='true']")).to_have_count(2)
    assert not axe_violations(alice)
