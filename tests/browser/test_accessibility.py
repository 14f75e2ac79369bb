"""The keyboard and screen-reader basics, in a real browser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


def test_tab_reaches_the_skip_link_first_and_it_moves_focus_to_main(
    live_server, new_context, customer
):
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    # A fresh load: focus starts at the top (the login page focuses its
    # username field, as Django's login form asks).
    page.goto(f"{live_server.url}/")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.bounding_box()["width"] <= 1  # hidden until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["width"] > 1
    assert box["height"] > 1
    ring = skip.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    print(f"skip link focused: {box['width']:.0f}x{box['height']:.0f}px, ring {ring}")
    assert ring[:2] == ["solid", "3px"]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab goes on from the main content, past the top bar.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main')?.id") == "main"


def test_staff_sort_by_a_header_and_keep_a_search_in_the_address(
    live_server, new_context, staff_member, django_bank
):
    for owner, amount in (("alice", "30.00"), ("bob", "20.00"), ("bobby", "10.00")):
        account_id = django_bank.accounts.open_account(owner, f"{owner}'s")
        django_bank.accounts.deposit(account_id, Decimal(amount))
    page = new_context().new_page()
    log_in(page, live_server.url, "staff")

    balance = page.locator("#accounts-panel th", has_text="Balance")
    balance.get_by_role("link").click()
    expect(balance).to_have_attribute("aria-sort", "descending")
    expect(page).to_have_url(re.compile(r"\?sort=balance&page=1$"))
    balance.get_by_role("link").click()
    expect(balance).to_have_attribute("aria-sort", "ascending")
    expect(balance.get_by_role("link")).to_have_accessible_name(
        re.compile(r"^Balance.*sorted ascending")
    )

    mark_page(page)
    page.get_by_label("Search by owner or account name").fill("bob")
    rows = page.locator("#accounts-panel tr[data-account-id]")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/\?q=bob&sort=-balance&page=1$"))
    assert was_not_reloaded(page)  # htmx changed the address, not a reload

    page.reload()
    expect(page.get_by_label("Search by owner or account name")).to_have_value("bob")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("bobby")  # still the smallest first
    expect(balance).to_have_attribute("aria-sort", "ascending")
