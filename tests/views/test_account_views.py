"""Customer pages and commands, with and without htmx, refused and done."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from uuid import uuid4

import pytest
from django.test import Client
from eventsourcing.persistence import OperationalError

from accounts.errors import ConflictError
from accounts.statements import whole_statement
from esbank_site import bank
from tests.support.html import Element, element, elements
from tests.support.http import HX
from tests.support.spies import count_events_read

MONEY_EVENTS = {"balancesChanged", "ledgerChanged", "transactionsChanged"}


def events_of(django_bank, account_id):
    return [event.type for event in django_bank.accounts.get_history(account_id)]


def balance_of(django_bank, account_id):
    return django_bank.accounts.get_account(account_id).balance


def hidden_token(html):
    return elements(html, name="token", value=True)[0]["value"]


def triggered(response):
    """The names of the events an htmx response announces."""
    return set(json.loads(response.headers.get("HX-Trigger", "{}")))


# The dashboard.


def test_dashboard_lists_only_the_customers_own_accounts(
    alice_client, alice_account, alice_savings, bob_account
):
    response = alice_client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert str(alice_account) in html
    assert str(alice_savings) in html
    assert str(bob_account) not in html
    assert elements(
        html, id="customer-total", class_="money stat-value", data_amount="100.00"
    )


def test_accounts_panel_is_a_fragment_that_refreshes_itself(
    alice_client, alice_account
):
    page = alice_client.get("/").content.decode()
    assert 'hx-get="/accounts/panel/"' in page
    assert "accountsChanged from:body" in page
    assert "every 5s" in page
    fragment = alice_client.get("/accounts/panel/", headers=HX).content.decode()
    assert "<html" not in fragment
    assert str(alice_account) in fragment


# Opening an account.


def test_open_account_without_htmx_redirects_to_the_new_account(
    alice_client, django_bank
):
    response = alice_client.post("/accounts/open/", {"name": "Holiday"}, follow=True)
    (account_id,) = django_bank.accounts.list_owner_account_ids("alice")
    assert response.redirect_chain == [(f"/accounts/{account_id}/", 302)]
    assert "Your account “Holiday” is open." in response.content.decode()
    assert django_bank.accounts.get_account(account_id).name == "Holiday"


def test_open_account_with_htmx_swaps_the_form_and_announces_it(
    alice_client, django_bank
):
    response = alice_client.post("/accounts/open/", {"name": "Holiday"}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="open-account"' in html
    assert "Your account “Holiday” is open." in html
    assert triggered(response) == {"accountsChanged"}
    assert len(django_bank.accounts.list_owner_account_ids("alice")) == 1


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_open_account_refuses_a_bad_name_with_422(
    alice_client, django_bank, name, headers
):
    response = alice_client.post("/accounts/open/", {"name": name}, headers=headers)
    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    assert django_bank.accounts.list_owner_account_ids("alice") == []


# Moving money: success.


def test_deposit_without_htmx_redirects_with_a_message(
    alice_client, django_bank, alice_account
):
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "25.50"}, follow=True
    )
    assert response.redirect_chain == [(f"/accounts/{alice_account}/", 302)]
    html = response.content.decode()
    assert "£25.50 paid in." in html
    assert elements(html, id="balance", class_="money", data_amount="125.50")
    assert balance_of(django_bank, alice_account) == Decimal("125.50")


def test_deposit_with_htmx_returns_a_fresh_form_and_announces_the_change(
    alice_client, django_bank, alice_account
):
    token = str(uuid4())
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "25.50", "token": token},
        headers=HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="form-deposit"' in html
    assert "£25.50 paid in." in html
    assert hidden_token(html) != token  # the next submission is a new one
    assert triggered(response) == MONEY_EVENTS
    assert balance_of(django_bank, alice_account) == Decimal("125.50")


# Each form: its section's id, the page it is on, where it posts, what is
# sent and what its notice says ({a}: Alice's account, {b}: her savings).
FORMS_WITH_NOTICES = {
    "deposit": ("form-deposit", "/accounts/{a}/", "/accounts/{a}/deposit/",
                {"amount": "2.00"}, "paid in"),
    "withdraw": ("form-withdraw", "/accounts/{a}/", "/accounts/{a}/withdraw/",
                 {"amount": "2.00"}, "taken out"),
    "transfer": ("form-transfer", "/accounts/{a}/", "/accounts/{a}/transfer/",
                 {"amount": "2.00", "to_account": "{b}"}, "sent"),
    "open": ("open-account", "/", "/accounts/open/", {"name": "Holiday"}, "is open"),
}  # fmt: skip


@pytest.mark.parametrize("form_name", FORMS_WITH_NOTICES)
def test_a_form_done_with_htmx_puts_its_notice_in_a_status_region_already_there(
    alice_client, alice_account, alice_savings, form_name
):
    """The form is swapped alone; its notice goes into the region beside it.

    The region (``role="status"``) is on the page before the answer comes,
    so screen readers announce what is put into it; the notice can take
    focus (``tabindex="-1"``), and bank.js gives it focus.
    """
    section, page, url, data, said = FORMS_WITH_NOTICES[form_name]
    ids = {"a": alice_account, "b": alice_savings}
    html = alice_client.get(page.format(**ids)).content.decode()
    region = element(html, id=f"{section}-status", role="status")
    assert region.text.strip() == ""
    form = element(html, id=section).element("form")
    assert form["hx-target"] == "this"
    assert form["hx-swap"] == "outerHTML"
    assert form["hx-select"] == f"#{section} > form"
    assert form["hx-select-oob"] == f"#{section}-status:innerHTML"
    # Fields that fetch something of their own (a payee) inherit neither.
    assert set(form["hx-disinherit"].split()) == {"hx-select", "hx-select-oob"}

    values = {key: value.format(**ids) for key, value in data.items()}
    response = alice_client.post(url.format(**ids), values, headers=HX)
    assert response.status_code == 200
    answer = response.content.decode()
    (notice,) = element(answer, id=f"{section}-status", role="status").elements("p")
    assert notice.matches(class_="notice notice-ok", tabindex="-1")
    assert said in notice.text
    assert element(answer, id=section).element("form")


@pytest.mark.parametrize(
    ("command", "values"),
    [("deposit", {"amount": "1.00"}), ("withdraw", {"amount": "1.00"})],
)
def test_a_money_form_reads_the_account_once_its_owner_is_known(  # noqa: PLR0917
    alice_client, django_bank, alice_account, monkeypatch, command, values
):
    url = f"/accounts/{alice_account}/{command}/"
    alice_client.post(url, values | {"token": str(uuid4())}, headers=HX)
    # From the second request on, whose the account is comes from memory
    # (accounts/identities.py): only the command reads the account.
    reads = count_events_read(django_bank.accounts.recorder, monkeypatch)
    response = alice_client.post(url, values | {"token": str(uuid4())}, headers=HX)
    assert response.status_code == 200
    assert len(reads) == 1, reads


def test_a_money_form_on_someone_elses_account_is_still_404_and_staff_403(
    bob_client, staff_client, django_bank, alice_account
):
    url = f"/accounts/{alice_account}/deposit/"
    for _ in range(2):  # the second time, from what is remembered
        assert bob_client.post(url, {"amount": "1.00"}, headers=HX).status_code == 404
        assert staff_client.post(url, {"amount": "1.00"}).status_code == 403
    assert balance_of(django_bank, alice_account) == Decimal("100.00")


def test_withdraw_takes_money_out(alice_client, django_bank, alice_account):
    response = alice_client.post(
        f"/accounts/{alice_account}/withdraw/", {"amount": "99.99"}, headers=HX
    )
    assert response.status_code == 200
    assert "£99.99 taken out." in response.content.decode()
    assert balance_of(django_bank, alice_account) == Decimal("0.01")


def test_transfer_reaches_another_customers_account(
    alice_client, django_bank, alice_account, bob_account
):
    response = alice_client.post(
        f"/accounts/{alice_account}/transfer/",
        {"amount": "40.00", "to_account": str(bob_account)},
        headers=HX,
    )
    assert response.status_code == 200
    assert triggered(response) == MONEY_EVENTS
    assert balance_of(django_bank, alice_account) == Decimal("60.00")
    assert balance_of(django_bank, bob_account) == Decimal("90.00")


def test_transfer_between_own_accounts_is_named_on_the_statement(
    alice_client, django_bank, alice_account, alice_savings
):
    alice_client.post(
        f"/accounts/{alice_account}/transfer/",
        {"amount": "10.00", "to_account": str(alice_savings)},
    )
    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    [transfer] = [
        cell
        for cell in element(html, id="statement").elements("td")
        if cell.words.startswith("Transfer out")
    ]
    number = django_bank.accounts.get_account(alice_savings).number
    assert transfer.words.startswith("Transfer out to Savings")
    [counterparty] = transfer.elements("span", class_="muted counterparty")
    assert counterparty.words.startswith("to Savings")
    [shown] = counterparty.elements("span", class_="account-number")
    assert shown.attrs["data-account-number"] == number
    assert shown.text == f"{number[:4]} {number[4:]}"


@pytest.mark.parametrize("amount", ["0.01", "1000000.00", "7", " 12.3 "])
def test_amounts_at_and_inside_the_limits_are_accepted(
    alice_client, django_bank, alice_account, amount
):
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": amount}, headers=HX
    )
    assert response.status_code == 200
    assert balance_of(django_bank, alice_account) == Decimal("100.00") + Decimal(
        amount.strip()
    )


# Moving money: the error table. Every refusal is a 422 with the message next
# to its field, swapped by htmx or shown on the whole page, and records nothing.

BAD_AMOUNTS = [
    ("", "This field is required."),
    ("abc", "Enter an amount such as 25 or 25.50"),
    ("NaN", "Enter an amount such as 25 or 25.50"),
    ("Infinity", "Enter an amount such as 25 or 25.50"),
    ("-inf", "Enter an amount such as 25 or 25.50"),
    ("1e3", "Enter an amount such as 25 or 25.50"),
    ("1E3", "Enter an amount such as 25 or 25.50"),
    ("10.001", "at most two decimal places"),
    ("0", "Amounts must be between £0.01 and £1,000,000.00."),
    ("0.00", "Amounts must be between £0.01 and £1,000,000.00."),
    ("1000000.01", "Amounts must be between £0.01 and £1,000,000.00."),
    ("-5", "Enter an amount such as 25 or 25.50"),
    ("1,000", "Enter an amount such as 25 or 25.50"),
    ("٣", "Enter an amount such as 25 or 25.50"),
]


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
@pytest.mark.parametrize("action", ["deposit", "withdraw", "transfer"])
@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_invalid_amounts_are_422_next_to_the_field_and_record_nothing(  # noqa: PLR0917
    alice_client,
    django_bank,
    alice_account,
    bob_account,
    action,
    amount,
    message,
    headers,
):
    data = {"amount": amount, "to_account": str(bob_account), "token": "t-1"}
    response = alice_client.post(
        f"/accounts/{alice_account}/{action}/", data, headers=headers
    )
    html = response.content.decode()
    assert response.status_code == 422
    field_error = element(html, id=f"id_{action}_amount_error", role="alert")
    assert message in field_error.text
    assert ("<html" in html) is not bool(headers)
    assert "HX-Trigger" not in response.headers
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited"]
    assert events_of(django_bank, bob_account) == ["Opened", "Deposited"]


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_withdrawing_more_than_the_balance_is_refused_with_the_reason(
    alice_client, django_bank, alice_account, headers
):
    response = alice_client.post(
        f"/accounts/{alice_account}/withdraw/", {"amount": "100.01"}, headers=headers
    )
    html = response.content.decode()
    assert response.status_code == 422
    field_error = element(html, id="id_withdraw_amount_error", role="alert")
    assert field_error.text.startswith("Not enough money")
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited"]


@pytest.mark.parametrize(
    ("to_account", "message"),
    [
        ("", "This field is required."),
        ("not-an-account", "Enter the 8-digit account number, like 1234 5678."),
        (
            "12345678-1234-1234-1234-12345678",
            "Enter the 8-digit account number, like 1234 5678.",
        ),
        (str(uuid4()), "There is no account with that number."),
        ("1234 567", "An account number has 8 digits, like 1234 5678."),
        (
            "1234 5670",
            "1234 5670 is not a valid account number: please check the digits.",
        ),
        ("12345674", "No account has the number 1234 5674."),
        ("SELF", "Choose a different account to transfer to."),
    ],
    ids=[
        "empty",
        "malformed",
        "short",
        "unknown",
        "seven-digits",
        "check-digit",
        "unknown-number",
        "self",
    ],
)
@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_transfer_to_a_bad_account_is_422_next_to_the_account_field(  # noqa: PLR0917
    alice_client, django_bank, alice_account, to_account, message, headers
):
    to_account = str(alice_account) if to_account == "SELF" else to_account
    response = alice_client.post(
        f"/accounts/{alice_account}/transfer/",
        {"amount": "5.00", "to_account": to_account},
        headers=headers,
    )
    html = response.content.decode()
    assert response.status_code == 422
    field_error = element(html, id="id_transfer_to_account_error", role="alert")
    assert field_error.text == message
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited"]


def test_transfer_to_a_closed_account_is_refused(
    alice_client, django_bank, alice_account, alice_savings
):
    django_bank.accounts.close_account(alice_savings)
    response = alice_client.post(
        f"/accounts/{alice_account}/transfer/",
        {"amount": "5.00", "to_account": str(alice_savings)},
        headers=HX,
    )
    assert response.status_code == 422
    assert "That account is closed." in response.content.decode()
    assert balance_of(django_bank, alice_account) == Decimal("100.00")


def test_a_refused_htmx_form_keeps_its_token_and_input(alice_client, alice_account):
    response = alice_client.post(
        f"/accounts/{alice_account}/withdraw/",
        {"amount": "500", "token": "keep-me"},
        headers=HX,
    )
    html = response.content.decode()
    assert hidden_token(html) == "keep-me"
    assert 'value="500"' in html


# Idempotency: the same form submitted twice moves money once.


def test_the_same_token_twice_moves_money_once(
    alice_client, django_bank, alice_account
):
    page = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    form = element(page, id="form-deposit")
    token = form.elements(name="token", value=True)[0]["value"]
    for _ in range(2):
        response = alice_client.post(
            f"/accounts/{alice_account}/deposit/", {"amount": "10.00", "token": token}
        )
        assert response.status_code == 302
    assert balance_of(django_bank, alice_account) == Decimal("110.00")
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited", "Deposited"]


def test_every_rendered_form_has_its_own_token(alice_client, alice_account):
    page = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    tokens = [field["value"] for field in elements(page, name="token", value=True)]
    assert len(tokens) == 3  # deposit, withdraw, transfer
    assert len(set(tokens)) == 3


def test_a_token_reused_for_a_different_amount_is_refused(
    alice_client, django_bank, alice_account
):
    url = f"/accounts/{alice_account}/deposit/"
    alice_client.post(url, {"amount": "10.00", "token": "once"})
    response = alice_client.post(url, {"amount": "20.00", "token": "once"}, headers=HX)
    assert response.status_code == 422
    assert "already used" in response.content.decode()
    assert balance_of(django_bank, alice_account) == Decimal("110.00")


def test_tokens_are_scoped_to_their_user(
    alice_client, bob_client, django_bank, alice_account, bob_account
):
    alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "10.00", "token": "shared"}
    )
    response = bob_client.post(
        f"/accounts/{bob_account}/deposit/", {"amount": "10.00", "token": "shared"}
    )
    assert response.status_code == 302
    assert balance_of(django_bank, bob_account) == Decimal("60.00")


# Closing.


def test_closing_an_account_with_money_is_refused(
    alice_client, django_bank, alice_account
):
    response = alice_client.post(f"/accounts/{alice_account}/close/", headers=HX)
    assert response.status_code == 422
    assert "Only an account with a zero balance can be closed." in (
        response.content.decode()
    )
    assert not django_bank.accounts.get_account(alice_account).is_closed


def test_closing_an_empty_account_swaps_its_forms_out_in_place(
    alice_client, django_bank, alice_savings
):
    response = alice_client.post(f"/accounts/{alice_savings}/close/", headers=HX)
    assert response.status_code == 200
    assert django_bank.accounts.get_account(alice_savings).is_closed
    # The page's side, without its forms, replaces the side with them.
    assert response["HX-Retarget"] == "#account-actions"
    assert response["HX-Reselect"] == "#account-actions"
    assert response["HX-Reswap"] == "outerHTML"
    assert triggered(response) == {"balancesChanged", "accountsChanged"}
    html = response.content.decode()
    side = element(html, "aside", id="account-actions")
    assert "Account closed" in side.text
    assert "/deposit/" not in html
    # The notice goes out of band into the status region already on the page.
    (notice,) = element(html, id="account-status", hx_swap_oob="innerHTML").elements(
        "p", tabindex="-1"
    )
    assert notice.text == "The account “Savings” is closed."
    assert element(html, id="account-state", hx_swap_oob="true").words == "Closed"
    page = alice_client.get(f"/accounts/{alice_savings}/").content.decode()
    assert element(page, id="account-status", role="status")
    assert "/deposit/" not in page
    # Shown in place: not again, as a message, on the next page.
    assert "The account “Savings” is closed." not in page


def test_closing_without_htmx_redirects(alice_client, alice_savings):
    response = alice_client.post(f"/accounts/{alice_savings}/close/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/{alice_savings}/"


def test_money_cannot_move_on_a_closed_account(
    alice_client, django_bank, alice_savings
):
    django_bank.accounts.close_account(alice_savings)
    response = alice_client.post(
        f"/accounts/{alice_savings}/deposit/", {"amount": "5.00"}, headers=HX
    )
    assert response.status_code == 422
    assert "is closed" in response.content.decode()
    assert events_of(django_bank, alice_savings) == ["Opened", "Closed"]


# The account page.


def test_account_page_shows_balance_statement_chart_and_forms(
    alice_client, django_bank, alice_account, bob_account
):
    django_bank.accounts.withdraw(alice_account, "12.34")
    django_bank.accounts.transfer(bob_account, alice_account, "1.50")
    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    assert elements(html, id="balance", class_="money", data_amount="89.16")
    assert "\N{MINUS SIGN}£12.34" in texts(elements(html, data_amount="-12.34"))
    assert "+£1.50" in texts(elements(html, data_amount="1.50"))
    assert elements(html, "svg", class_="chart-svg")
    for action in ["deposit", "withdraw", "transfer", "close"]:
        assert f'action="/accounts/{alice_account}/{action}/"' in html
        assert f'hx-post="/accounts/{alice_account}/{action}/"' in html


def test_every_money_figure_carries_its_exact_amount(alice_client, alice_account):
    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    figures = [span for span in elements(html, "span") if "money" in span.classes]
    assert figures
    exact = re.compile(r"-?\d+\.\d\d")
    assert all(span.matches(data_amount=exact) for span in figures)


def test_summary_fragment_refreshes_the_balance(
    alice_client, django_bank, alice_account
):
    page = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    assert f'hx-get="/accounts/{alice_account}/summary/"' in page
    assert "balancesChanged from:body, every 5s" in page
    django_bank.accounts.deposit(alice_account, "1.00")
    fragment = alice_client.get(
        f"/accounts/{alice_account}/summary/", headers=HX
    ).content.decode()
    assert "<html" not in fragment
    assert elements(fragment, id="balance", class_="money", data_amount="101.00")


def texts(found: list[Element]) -> list[str]:
    """The text of each element found."""
    return [element.text for element in found]


def statement_lines(html: str) -> list[Element]:
    """The statement's lines a page shows, newest first."""
    return element(html, id="statement").elements("tr", data_version=True)


def statement_versions(html):
    """The versions of the statement lines a page shows, newest first."""
    return [int(line["data-version"]) for line in statement_lines(html)]


def statement_balances(html):
    """The running balance of each statement line shown, newest first."""
    return [
        Decimal(line.elements(data_amount=True)[-1]["data-amount"])
        for line in statement_lines(html)
    ]


def link(html, element_id):
    """The href of the link with ``element_id``, or None if there is none."""
    found = elements(html, id=element_id, href=True)
    return found[0]["href"] if found else None


@pytest.fixture
def long_history(django_bank, alice_account):
    """Alice's account with 45 movements: £100.00, then £1.00 to £44.00 paid in."""
    for amount in range(1, 45):
        django_bank.accounts.deposit(alice_account, amount)
    return alice_account


def test_account_page_shows_the_newest_statement_lines_and_links_to_older(
    alice_client, long_history
):
    url = f"/accounts/{long_history}/"
    html = alice_client.get(url).content.decode()
    assert statement_versions(html) == list(range(46, 26, -1))
    assert statement_balances(html)[0] == Decimal(100 + 44 * 45 // 2)
    assert link(html, "statement-older") == f"{url}?before=27"
    assert link(html, "statement-newer") is None
    assert elements(html, hx_get=f"{url}?before=27", hx_push_url="true")


def test_older_statement_pages_keep_their_running_balances(
    alice_client, django_bank, long_history
):
    url = f"/accounts/{long_history}/"
    full = whole_statement(django_bank.accounts.events, long_history)
    expected = {line.version: line.balance for line in full}
    pages = []
    html = alice_client.get(url).content.decode()
    while True:
        pages.append(statement_versions(html))
        assert statement_balances(html) == [expected[v] for v in pages[-1]]
        older = link(html, "statement-older")
        if older is None:
            break
        response = alice_client.get(older)
        assert response.status_code == 200
        html = response.content.decode()
    assert [len(page) for page in pages] == [20, 20, 5]
    assert [v for page in pages for v in page] == [
        line.version for line in reversed(full)
    ]
    # Newer from the oldest page comes back a page at a time, to the latest.
    assert link(html, "statement-newer") == f"{url}?before=27"
    middle = alice_client.get(f"{url}?before=27").content.decode()
    assert statement_versions(middle) == pages[1]
    assert link(middle, "statement-newer") == url


def test_htmx_gets_only_the_statement_panel_of_the_page_asked_for(
    alice_client, long_history
):
    url = f"/accounts/{long_history}/"
    response = alice_client.get(f"{url}?before=27", headers=HX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert "<html" not in fragment
    assert 'id="account-summary"' in fragment
    assert statement_versions(fragment) == list(range(26, 6, -1))
    # The panel's own refreshes stay on this page.
    assert f'hx-get="/accounts/{long_history}/summary/?before=27"' in fragment
    refreshed = alice_client.get(
        f"/accounts/{long_history}/summary/?before=27", headers=HX
    ).content.decode()
    assert statement_versions(refreshed) == list(range(26, 6, -1))


def test_restoring_a_statement_page_from_history_gets_the_whole_page(
    alice_client, long_history
):
    headers = HX | {"HX-History-Restore-Request": "true"}
    response = alice_client.get(f"/accounts/{long_history}/?before=27", headers=headers)
    assert "<html" in response.content.decode()
    assert statement_versions(response.content.decode()) == list(range(26, 6, -1))


@pytest.mark.parametrize("before", ["abc", "-3", "0", "1", "2.5", "9" * 5000])
def test_a_statement_page_that_cannot_exist_is_a_bad_request(
    alice_client, alice_account, before
):
    for path in ["", "summary/"]:
        url = f"/accounts/{alice_account}/{path}"
        response = alice_client.get(url, {"before": before}, headers=HX)
        assert response.status_code == 400


def test_a_statement_page_beyond_the_history_is_the_latest(alice_client, long_history):
    url = f"/accounts/{long_history}/"
    html = alice_client.get(url, {"before": "99999"}).content.decode()
    assert statement_versions(html) == list(range(46, 26, -1))
    assert link(html, "statement-newer") is None
    assert f'hx-get="/accounts/{long_history}/summary/"' in html


def test_closed_accounts_are_marked_and_have_no_forms(
    alice_client, django_bank, alice_savings
):
    django_bank.accounts.close_account(alice_savings)
    html = alice_client.get(f"/accounts/{alice_savings}/").content.decode()
    assert "Account closed" in html
    assert "hx-post" not in html


# htmx, CSRF and static files.


def test_base_page_configures_htmx_and_loads_nothing_from_elsewhere(
    alice_client, alice_account
):
    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    config = element(html, "meta", name="htmx-config")["content"]
    assert '{"code": "422", "swap": true, "error": false}' in config
    assert '{"code": "409", "swap": true, "error": false}' in config
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|svg))"', html)
    assert "/static/js/htmx-2.0.11.min.js" in sources
    assert all(source.startswith("/static/") for source in sources)
    assert "<script>" not in html  # no inline scripts, only files
    csrf_header = re.compile(r'\{"X-CSRFToken": "[A-Za-z0-9]{64}"\}')
    assert element(html, "body").matches(hx_headers=csrf_header)


def test_htmx_is_served_from_static(alice_client):
    from django.contrib.staticfiles import finders  # noqa: PLC0415

    path = finders.find("js/htmx-2.0.11.min.js")
    assert path
    with open(path, encoding="utf-8") as script:
        assert script.read().startswith("var htmx=function()")


@pytest.fixture
def csrf_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/open/",
        "/accounts/{id}/deposit/",
        "/accounts/{id}/withdraw/",
        "/accounts/{id}/transfer/",
        "/accounts/{id}/close/",
    ],
)
def test_posts_without_a_csrf_token_are_refused(
    csrf_client, django_bank, alice_account, path
):
    data = {"name": "Sneaky", "amount": "1.00", "to_account": str(alice_account)}
    for headers in [{}, HX]:
        response = csrf_client.post(
            path.format(id=alice_account), data, headers=headers
        )
        assert response.status_code == 403
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited"]
    assert len(django_bank.accounts.list_owner_account_ids("alice")) == 1


def test_htmx_posts_pass_with_the_token_from_hx_headers(
    csrf_client, django_bank, alice_account
):
    page = csrf_client.get(f"/accounts/{alice_account}/").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = csrf_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "1.00"},
        headers=HX | {"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert balance_of(django_bank, alice_account) == Decimal("101.00")


def test_plain_posts_pass_with_the_form_token(csrf_client, django_bank, alice_account):
    page = csrf_client.get(f"/accounts/{alice_account}/").content.decode()
    token = elements(page, name="csrfmiddlewaretoken", value=True)[0]["value"]
    response = csrf_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "1.00", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


# Conflicts and database trouble: 409 and 503, never a 500.


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_conflict_after_every_retry_is_409_try_again(
    alice_client, alice_account, monkeypatch, headers
):
    def busy(*args, **kwargs):
        raise ConflictError

    monkeypatch.setattr(bank.get_bank().accounts, "deposit", busy)
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "1.00"}, headers=headers
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Please try again." in html
    assert 'id="form-deposit"' in html


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_database_trouble_is_503_with_retry_after(
    alice_client, django_bank, alice_account, monkeypatch, headers
):
    def unreachable(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(bank.get_bank().accounts, "deposit", unreachable)
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "1.00"}, headers=headers
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again in a few seconds" in response.content.decode()
    assert ("<html" in response.content.decode()) is not bool(headers)
    assert events_of(django_bank, alice_account) == ["Opened", "Deposited"]


def test_database_trouble_on_a_page_is_503_too(alice_client, monkeypatch):
    from django.db import OperationalError as DjangoOperationalError  # noqa: PLC0415

    def unreachable(*args, **kwargs):
        raise DjangoOperationalError("connection refused")

    monkeypatch.setattr(
        bank.get_bank().accounts_list(), "get_accounts_page", unreachable
    )
    response = alice_client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_deposit_reference_is_stored_and_shown_on_the_statement(
    alice_client, django_bank, alice_account
):
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "12.00", "description": "Birthday money"},
        follow=True,
    )
    assert "Birthday money" in response.content.decode()
    last = whole_statement(django_bank.accounts.events, alice_account)[-1]
    assert (last.amount, last.description) == (Decimal("12.00"), "Birthday money")


def test_overlong_deposit_reference_is_refused_in_place(
    alice_client, django_bank, alice_account
):
    head = django_bank.accounts.recorder.max_notification_id()
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "12.00", "description": "x" * 141},
        headers=HX,
    )
    assert response.status_code == 422
    assert "at most 140 characters" in response.content.decode()
    assert django_bank.accounts.recorder.max_notification_id() == head
