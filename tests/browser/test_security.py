"""The pages live within their Content Security Policy, in a real Chromium.

The policy forbids inline script and style. Chromium reports every breach
as a ``securitypolicyviolation`` event and a console error; a script
Playwright adds before each page loads (which the policy does not govern)
collects the events, and the console is watched as well. Then the throttle's
429 reaches a person as a toast saying how long to wait.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import caches
from playwright.sync_api import expect

from esbank_site.web import security
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`
  );
});
"""


def watched_page(new_context, problems: list[str]):
    """A page whose CSP reports, from events and the console, go to ``problems``."""
    context = new_context()
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()

    def on_console(message):
        if "Content Security Policy" in message.text or (
            message.type == "error" and "Refused to" in message.text
        ):
            problems.append(message.text)

    page.on("console", on_console)
    return page


def violations(page) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def test_main_pages_report_no_csp_violation(
    live_server, new_context, customer, staff_member, django_bank
):
    accounts = django_bank.accounts
    account_id = accounts.open_account("alice", "Everyday")
    accounts.deposit(account_id, Decimal("100.00"))
    accounts.withdraw(account_id, Decimal("12.50"))  # the chart has a line
    base = live_server.url
    problems: list[str] = []
    visited = 0

    alice = watched_page(new_context, problems)
    response = alice.goto(f"{base}/accounts/login/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    log_in(alice, base, "alice")
    for path in ("/", f"/accounts/{account_id}/", "/accounts/no-such/"):
        alice.goto(f"{base}{path}")
        alice.wait_for_load_state("networkidle")
        problems += violations(alice)
        visited += 1
    # htmx swaps: a deposit, a refused withdrawal (422), the panels' refresh.
    alice.goto(f"{base}/accounts/{account_id}/")
    deposit = alice.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("5.00")
    deposit.get_by_role("button", name="Deposit").click()
    expect(deposit.locator(".notice")).to_have_text("£5.00 paid in.")
    withdraw = alice.locator("#form-withdraw")
    withdraw.get_by_label("Amount").fill("100000")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(withdraw.locator(".field-error")).to_be_visible()
    alice.wait_for_load_state("networkidle")
    problems += violations(alice)

    staff = watched_page(new_context, problems)
    log_in(staff, base, "staff")
    for path in (
        "/",
        "/staff/transactions/",
        "/staff/events/",
        "/staff/feed/",
        f"/staff/accounts/{account_id}/events/",
        f"/staff/accounts/{account_id}/events/?version=2",
        f"/accounts/{account_id}/",
    ):
        staff.goto(f"{base}{path}")
        staff.wait_for_load_state("networkidle")
        problems += violations(staff)
        visited += 1

    print(f"\ncsp: {visited} pages and 2 htmx swaps, {len(problems)} violations")
    assert problems == []
    # The control: an inline style is refused and reported.
    alice.evaluate("document.body.setAttribute('style', 'color: red')")
    alice.wait_for_function("window.__cspViolations.length > 0")
    assert violations(alice)[0].startswith("style-src")


def test_too_many_payments_show_a_toast_with_the_wait(  # noqa: PLR0917
    live_server, new_context, customer, django_bank, settings, monkeypatch
):
    # The middle of a minute, so both payments fall in one throttle window.
    monkeypatch.setattr(security.time, "time", lambda: 1_800_000_030.0)
    settings.ESBANK_MONEY_POSTS_PER_MINUTE = 1
    caches["throttle"].clear()
    account_id = django_bank.accounts.open_account("alice", "Everyday")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/{account_id}/")
    deposit = page.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("5.00")
    deposit.get_by_role("button", name="Deposit").click()
    expect(deposit.locator(".notice")).to_have_text("£5.00 paid in.")
    deposit.get_by_label("Amount").fill("6.00")
    deposit.get_by_role("button", name="Deposit").click()
    expect(page.locator("#toasts .toast")).to_contain_text(
        "Too many requests in a short time. Nothing was changed; "
        "please try again in 30 seconds."
    )
    # What was typed stays, to send again once the wait is over.
    expect(deposit.get_by_label("Amount")).to_have_value("6.00")
    assert django_bank.accounts.get_account(account_id).balance == Decimal("5.00")
