"""Keyboard focus in a real browser: panels that refresh themselves keep it,
and a form that is done moves it to its notice, which is announced.

A panel polls on a timer (``hx-trigger="... every 3s"``); the page's clock is
Playwright's, moved on by the tests, so three polls take no time. Each test
focuses a link in a panel and lets it poll three times: nothing changed (a
304, which htmx swaps not), a deposit made by the bank itself (a 200, the
panel swapped, focus put back on the same link in the same row), nothing
changed again. Each answer's status is taken from htmx's own
``htmx:afterRequest``: what the script saw, not what the network carried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# Each answer htmx handles: its path, its status as the script saw it, and
# the If-None-Match the page sent with it (set before the page's own scripts).
WATCH_ANSWERS = """
window.__answers = [];
document.addEventListener("htmx:afterRequest", (event) => {
  const config = event.detail.requestConfig;
  window.__answers.push({
    path: new URL(config.path, location.href).pathname,
    status: event.detail.xhr.status,
    sent: config.headers["If-None-Match"] || null,
  });
});
"""
# htmx settles a swap 20 ms after it; the clock is moved on past that.
SETTLE_MS = 100


def watched_page(new_context, base_url: str, username: str) -> Page:
    """A signed-in page whose timers only run when the test moves its clock."""
    context = new_context()
    context.add_init_script(WATCH_ANSWERS)
    page = context.new_page()
    log_in(page, base_url, username)
    page.clock.install()
    return page


def poll(page: Page, path: str, every_ms: int) -> dict:
    """Move the clock on by the panel's interval; the answer its poll got."""
    before = page.evaluate(
        "p => window.__answers.filter(a => a.path === p).length", path
    )
    page.clock.run_for(every_ms)
    page.wait_for_function(
        "([p, n]) => window.__answers.filter(a => a.path === p).length > n",
        arg=[path, before],
        polling=20,
    )
    page.clock.run_for(SETTLE_MS)
    answers = page.evaluate("p => window.__answers.filter(a => a.path === p)", path)
    return answers[-1]


def keeps_focus_through_three_polls(
    page: Page, path: str, every_ms: int, selector: str, change: Callable[[], object]
) -> None:
    """Focus ``selector``, poll, ``change``, poll, poll: focus stays on it."""
    page.locator(selector).focus()
    # Scrolled as far as the page goes, so that a jump would show.
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.evaluate("() => { window.__focused = document.activeElement; }")
    scrolled = page.evaluate("() => window.scrollY")
    answers = []
    for cycle in range(3):
        if cycle == 1:
            change()
        answers.append(poll(page, path, every_ms))
        focused = page.evaluate(
            "s => ({ equivalent: document.activeElement.matches(s),"
            " same: document.activeElement === window.__focused })",
            selector,
        )
        assert focused["equivalent"], f"focus left {selector} after poll {cycle + 1}"
        # Unchanged: not swapped at all, the very element keeps focus.
        assert focused["same"] == (cycle != 1), focused
        page.evaluate("() => { window.__focused = document.activeElement; }")
    print(
        f"\n{path}: {[(a['status'], bool(a['sent'])) for a in answers]},"
        f" scrolled to {scrolled}px"
    )
    assert [a["status"] for a in answers] == [304, 200, 304]
    # Each poll sent the ETag of what the panel showed, the new one after a swap.
    assert all(a["sent"] for a in answers)
    assert answers[1]["sent"] == answers[0]["sent"] != answers[2]["sent"]
    assert page.evaluate("() => window.scrollY") == scrolled
    # A 304 is no failure: nothing is announced.
    expect(page.locator("#toasts .toast")).to_have_count(0)


def events_of(account: object) -> str:
    return f"/staff/accounts/{account}/events/"


def account_link(account: object) -> str:
    """The link to an account in its row of the accounts panel."""
    row = f'#accounts-panel tr[data-account-id="{account}"]'
    return f'{row} a[href="/accounts/{account}/"]'


def test_staff_dashboard_transaction_log_keeps_focus(
    live_server, new_context, staff_member, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.deposit(account, Decimal("10.00"))
    page = watched_page(new_context, live_server.url, "staff")
    page.goto(f"{live_server.url}/")
    keeps_focus_through_three_polls(
        page,
        "/staff/transactions/",
        3000,
        f'#transactions-panel li[data-number="1"] a[href="{events_of(account)}"]',
        lambda: django_bank.accounts.deposit(account, Decimal("2.50")),
    )
    expect(page.locator("#transaction-count")).to_have_text("2")


def test_staff_accounts_list_keeps_focus(
    live_server, new_context, staff_member, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.open_account("bob", "Bob's")
    page = watched_page(new_context, live_server.url, "staff")
    page.goto(f"{live_server.url}/")
    keeps_focus_through_three_polls(
        page,
        "/accounts/panel/",
        5000,
        account_link(account),
        lambda: django_bank.accounts.deposit(account, Decimal("7.00")),
    )
    expect(page.locator("#accounts-total")).to_have_attribute("data-amount", "7.00")


def test_staff_timeline_keeps_focus(
    live_server, new_context, staff_member, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.deposit(account, Decimal("10.00"))
    page = watched_page(new_context, live_server.url, "staff")
    events = events_of(account)
    page.goto(f"{live_server.url}{events}")
    keeps_focus_through_three_polls(
        page,
        events,
        3000,
        '#timeline li[data-version="1"] a.event-link',
        lambda: django_bank.accounts.deposit(account, Decimal("1.00")),
    )
    expect(page.locator("#event-count")).to_have_text("3")


def test_customer_dashboard_keeps_focus(
    live_server, new_context, customer, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    django_bank.accounts.open_account("alice", "Savings")
    page = watched_page(new_context, live_server.url, "alice")
    page.goto(f"{live_server.url}/")
    keeps_focus_through_three_polls(
        page,
        "/accounts/panel/",
        5000,
        account_link(account),
        lambda: django_bank.accounts.deposit(account, Decimal("3.00")),
    )
    expect(page.locator("#customer-total")).to_have_attribute("data-amount", "3.00")


# Forms: done, the notice takes focus in a status region that was already there.


def mark_region(page: Page, region_id: str) -> None:
    """Mark a status region now: a swap that replaced it would lose the mark."""
    page.evaluate("id => { document.getElementById(id).__wasThere = true; }", region_id)


def notice_is_focused_in_its_region(page: Page, region_id: str) -> bool:
    return bool(
        page.evaluate(
            """id => {
              const region = document.getElementById(id);
              const notice = document.activeElement;
              return region.__wasThere === true
                && region.getAttribute("role") === "status"
                && notice.parentElement === region
                && notice.getAttribute("tabindex") === "-1";
            }""",
            region_id,
        )
    )


def test_a_deposit_moves_focus_to_its_announced_notice(
    live_server, new_context, customer, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/{account}/")
    mark_page(page)
    mark_region(page, "form-deposit-status")
    expect(page.locator("#form-deposit-status")).to_be_empty()

    amount = page.locator("#form-deposit").get_by_label("Amount")
    amount.fill("12.00")
    amount.press("Enter")  # a keyboard user sends the form
    notice = page.locator("#form-deposit-status .notice")
    expect(notice).to_have_text("£12.00 paid in.")
    expect(notice).to_be_focused()
    assert notice_is_focused_in_its_region(page, "form-deposit-status")
    expect(page.locator("#balance")).to_have_attribute("data-amount", "12.00")

    # Refused: focus goes to the field to fix, and the old notice goes.
    withdraw = page.locator("#form-withdraw")
    withdraw.get_by_label("Amount").fill("1000")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(withdraw.get_by_label("Amount")).to_be_focused()
    expect(withdraw.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-withdraw-status")).to_be_empty()
    # Another form, then: its own notice takes focus, not the refused field.
    amount.fill("3.00")
    page.locator("#form-deposit").get_by_role("button", name="Deposit").click()
    expect(notice).to_have_text("£3.00 paid in.")
    expect(notice).to_be_focused()
    assert was_not_reloaded(page)


def test_opening_an_account_moves_focus_to_its_notice(
    live_server, new_context, customer
):
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    mark_region(page, "open-account-status")
    page.get_by_label("Name").fill("Holiday")
    page.get_by_role("button", name="Open account").click()
    notice = page.locator("#open-account-status .notice")
    expect(notice).to_contain_text("Your account “Holiday” is open.")
    expect(notice).to_be_focused()
    assert notice_is_focused_in_its_region(page, "open-account-status")
    # The next Tab reaches the link to the new account, inside the notice.
    page.keyboard.press("Tab")
    expect(notice.get_by_role("link", name="Go to it →")).to_be_focused()


def test_closing_an_account_swaps_its_forms_out_and_focuses_the_notice(
    live_server, new_context, customer, django_bank
):
    account = django_bank.accounts.open_account("alice", "Savings")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/{account}/")
    mark_page(page)
    mark_region(page, "account-status")
    close = page.locator("#form-close_account")
    close.locator("summary").click()
    close.get_by_role("button", name="Close this account").click()
    notice = page.locator("#account-status .notice")
    expect(notice).to_have_text("The account “Savings” is closed.")
    expect(notice).to_be_focused()
    assert notice_is_focused_in_its_region(page, "account-status")
    expect(page.locator("#form-deposit")).to_have_count(0)
    expect(page.get_by_role("heading", name="Account closed")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Closed")
    assert was_not_reloaded(page)
    assert django_bank.accounts.get_account(account).is_closed
