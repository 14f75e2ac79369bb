"""Account numbers on the pages: shown everywhere, typed to pay, checked as typed."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from accounts.domain import Account
from tests.support.html import element, elements
from tests.support.http import HX


def number_of(django_bank, account_id) -> str:
    return django_bank.accounts.get_account(account_id).number


def spaced(number: str) -> str:
    return f"{number[:4]} {number[4:]}"


def test_every_page_naming_an_account_shows_its_number(
    alice_client, staff_client, django_bank, alice_account
):
    number = number_of(django_bank, alice_account)
    pages = [
        (alice_client, "/"),
        (alice_client, f"/accounts/{alice_account}/"),
        (staff_client, "/"),
        (staff_client, f"/staff/accounts/{alice_account}/events/"),
    ]
    for client, url in pages:
        html = client.get(url).content.decode()
        [shown, *_] = elements(html, "span", data_account_number=number)
        assert shown.text == spaced(number), url
    page = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    header = element(page, id="account-number")
    [copy] = header.elements("button", class_="copy-number")
    assert copy["data-copy"] == number
    assert copy["aria-label"] == f"Copy account number {spaced(number)}"


def test_a_transfer_to_a_typed_number_names_the_payee_and_carries_the_reference(
    alice_client, bob_client, django_bank, alice_account, bob_account
):
    bobs = number_of(django_bank, bob_account)
    response = alice_client.post(
        f"/accounts/{alice_account}/transfer/",
        {"to_account": spaced(bobs), "amount": "12.50", "description": "Pizza"},
        headers=HX,
    )
    assert response.status_code == 200
    notice = element(response.content.decode(), class_="notice notice-ok")
    assert notice.text == f"£12.50 sent to Bob's current ({spaced(bobs)})."
    assert django_bank.accounts.get_account(bob_account).balance == Decimal("62.50")

    alices = number_of(django_bank, alice_account)
    for client, account, word, other, number in [
        (alice_client, alice_account, "to", "Bob's current", bobs),
        (bob_client, bob_account, "from", "Everyday", alices),
    ]:
        html = client.get(f"/accounts/{account}/").content.decode()
        [cell] = [
            td
            for td in element(html, id="statement").elements("td")
            if td.words.startswith("Transfer")
        ]
        assert "Pizza" in cell.words
        [counterparty] = cell.elements("span", class_="muted counterparty")
        assert counterparty.words == f"{word} {other} {spaced(number)}"
        assert counterparty.elements("span", data_account_number=number)


def test_the_number_typed_without_its_space_or_as_the_full_id_works_too(
    alice_client, django_bank, alice_account, bob_account
):
    for typed in [number_of(django_bank, bob_account), str(bob_account)]:
        response = alice_client.post(
            f"/accounts/{alice_account}/transfer/",
            {"to_account": typed, "amount": "1.00"},
            headers=HX,
        )
        assert response.status_code == 200
    assert django_bank.accounts.get_account(bob_account).balance == Decimal("52.00")


def test_the_payee_is_confirmed_as_the_number_is_typed(
    alice_client, django_bank, alice_account, bob_account
):
    bobs = number_of(django_bank, bob_account)
    form = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    field = element(form, "input", id="id_transfer_to_account")
    assert field["hx-get"] == "/accounts/payee/"
    assert field["hx-target"] == "#id_transfer_to_account_payee"
    assert element(form, id="id_transfer_to_account_payee")["aria-live"] == "polite"

    found = alice_client.get(
        "/accounts/payee/", {"to_account": spaced(bobs)}, headers=HX
    )
    payee = element(found.content.decode(), class_="payee payee-found")
    assert payee.words == f"Paying Bob's current, held by bob · {spaced(bobs)}"


def test_the_payee_check_says_plainly_what_is_wrong(
    alice_client, django_bank, alice_savings
):
    django_bank.accounts.close_account(alice_savings)
    closed = number_of(django_bank, alice_savings)
    answers = {
        "12345674": "No account has the number 1234 5674.",
        "1234 5675": (
            "1234 5675 is not a valid account number: please check the digits."
        ),
        "1234": "An account number has 8 digits, like 1234 5678.",
        "bob": "Enter the 8-digit account number, like 1234 5678.",
        closed: "That account (Savings) is closed: it cannot receive money.",
    }
    for typed, message in answers.items():
        response = alice_client.get("/accounts/payee/", {"to_account": typed})
        assert response.status_code == 200
        problem = element(response.content.decode(), class_="payee payee-problem")
        assert problem.text == message, typed
    empty = alice_client.get("/accounts/payee/", {"to_account": " "})
    assert empty.content.decode().strip() == ""


def test_the_payee_check_is_for_signed_in_users_only(client):
    response = client.get("/accounts/payee/", {"to_account": "12345674"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_search_matches_numbers_with_or_without_the_space(
    staff_client, django_bank, alice_account, bob_account
):
    bobs = number_of(django_bank, bob_account)
    for search in [spaced(bobs), bobs, bobs[:5]]:
        html = staff_client.get("/accounts/panel/", {"q": search}, headers=HX)
        rows = elements(html.content.decode(), "tr", data_account_id=True)
        assert [row["data-account-id"] for row in rows] == [str(bob_account)], search


def test_number_accounts_numbers_old_accounts_once(django_bank):
    accounts = django_bank.accounts
    old = Account(owner="ada", name="Legacy", currency="GBP", number="")
    accounts.save(old, accounts.account_index.trigger_event(account_id=old.id))
    accounts.open_account("bob", "New")

    out = StringIO()
    call_command("number_accounts", stdout=out)
    assert out.getvalue().strip() == (
        "Numbered 1 of 2 accounts; the other 1 had numbers already."
    )
    number = accounts.get_account(old.id).number
    assert accounts.find_account(number).id == old.id

    again = StringIO()
    call_command("number_accounts", stdout=again)
    assert again.getvalue().startswith("Numbered 0 of 2 accounts")
    assert accounts.get_account(old.id).number == number
