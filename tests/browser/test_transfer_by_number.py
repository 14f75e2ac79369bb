"""Paying someone by the 8-digit number they read out, as a person would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import PASSWORD, log_in, mark_page, was_not_reloaded

pytestmark = pytest.mark.browser


@pytest.fixture
def bob(django_bank, django_user_model):
    return django_user_model.objects.create_user("bob", password=PASSWORD)


def test_a_typed_number_names_the_payee_before_sending_and_both_statements_agree(  # noqa: PLR0917 (fixtures)
    live_server, new_context, customer, bob, django_bank, screenshot
):
    accounts = django_bank.accounts
    everyday = accounts.open_account("alice", "Everyday")
    accounts.deposit(everyday, "200.00")
    bobs_account = accounts.open_account("bob", "Bob's current")
    bobs = accounts.get_account(bobs_account).number
    alices = accounts.get_account(everyday).number

    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/{everyday}/")
    mark_page(page)
    transfer = page.locator("#form-transfer")
    payee = transfer.locator("#id_transfer_to_account_payee")

    # A digit wrong: the check digit says so, before anything is sent.
    wrong = bobs[:7] + str((int(bobs[7]) + 1) % 10)
    transfer.get_by_label("To account number").fill(f"{wrong[:4]} {wrong[4:]}")
    expect(payee).to_contain_text("is not a valid account number")

    transfer.get_by_label("To account number").fill(f"{bobs[:4]} {bobs[4:]}")
    expect(payee).to_have_text(
        f"Paying Bob's current, held by bob · {bobs[:4]} {bobs[4:]}"
    )
    transfer.get_by_label("Amount").fill("42.00")
    transfer.get_by_label("Reference (optional)").fill("Concert tickets")
    screenshot(page, "transfer-payee.png")
    transfer.get_by_role("button", name="Transfer").click()
    expect(transfer.locator(".notice")).to_have_text(
        f"£42.00 sent to Bob's current ({bobs[:4]} {bobs[4:]})."
    )
    expect(page.locator("#balance")).to_have_attribute("data-amount", "158.00")
    line = page.locator("#statement tr", has_text="Concert tickets")
    expect(line).to_contain_text(f"to Bob's current {bobs[:4]} {bobs[4:]}")
    assert was_not_reloaded(page)

    bobs_page = new_context().new_page()
    log_in(bobs_page, live_server.url, "bob")
    bobs_page.goto(f"{live_server.url}/accounts/{bobs_account}/")
    received = bobs_page.locator("#statement tr", has_text="Concert tickets")
    expect(received).to_contain_text(f"from Everyday {alices[:4]} {alices[4:]}")
    expect(bobs_page.locator("#balance")).to_have_attribute("data-amount", "42.00")
    expect(
        bobs_page.locator(f'#account-number [data-account-number="{bobs}"]')
    ).to_have_text(f"{bobs[:4]} {bobs[4:]}")
    copy = bobs_page.get_by_role(
        "button", name=re.compile(f"Copy account number {bobs[:4]} {bobs[4:]}")
    )
    expect(copy).to_be_visible()  # shown by bank.js where the clipboard exists


def test_no_open_account_with_that_number_is_said_plainly(
    live_server, new_context, customer, django_bank
):
    accounts = django_bank.accounts
    everyday = accounts.open_account("alice", "Everyday")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/{everyday}/")
    transfer = page.locator("#form-transfer")
    transfer.get_by_label("To account number").fill("1234 5674")
    expect(transfer.locator("#id_transfer_to_account_payee")).to_have_text(
        "No account has the number 1234 5674."
    )
