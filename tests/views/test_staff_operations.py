"""Staff operations on an account page: overdraft limit, freeze, unfreeze.

Each URL with and without htmx, done and refused: staff only, a reason
every time, a 422 beside the field that records nothing, and what
customers see of a frozen account.
"""

from __future__ import annotations

import json
from decimal import Decimal
from uuid import uuid4

import pytest

from tests.support.html import element, elements
from tests.support.http import HX

PLAIN_AND_HTMX = pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])


def head(django_bank):
    return django_bank.accounts.recorder.max_notification_id() or 0


def triggered(response):
    return set(json.loads(response.headers.get("HX-Trigger", "{}")))


def url(account_id, operation):
    return f"/staff/accounts/{account_id}/{operation}/"


# The panel on the account page.


def test_staff_see_the_panel_with_a_form_for_each_operation(
    staff_client, alice_account
):
    html = staff_client.get(f"/accounts/{alice_account}/").content.decode()
    panel = element(html, id="staff-actions")
    limit_form = panel.element("form", id="form-set_overdraft_limit")
    assert limit_form["action"] == url(alice_account, "overdraft")
    assert limit_form["hx-post"] == url(alice_account, "overdraft")
    assert limit_form["hx-target"] == "#staff-actions"
    assert limit_form.element("input", name="limit")["value"] == "0.00"
    assert limit_form.element("input", name="reason")["maxlength"] == "200"
    freeze_form = panel.element("form", id="form-freeze_account")
    assert freeze_form["action"] == url(alice_account, "freeze")
    assert freeze_form.element("input", name="reason")
    assert not panel.elements("form", id="form-unfreeze_account")
    assert elements(html, name="csrfmiddlewaretoken")


def test_customers_get_no_panel(alice_client, alice_account):
    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    assert not elements(html, id="staff-actions")
    assert "/staff/accounts/" not in html


def test_a_closed_account_has_no_staff_operations(
    staff_client, django_bank, alice_savings
):
    django_bank.accounts.close_account(alice_savings)
    html = staff_client.get(f"/accounts/{alice_savings}/").content.decode()
    assert not elements(html, id="staff-actions")


# Setting the overdraft limit.


@PLAIN_AND_HTMX
def test_setting_the_overdraft_limit_records_it_with_its_reason(
    staff_client, django_bank, alice_account, headers
):
    response = staff_client.post(
        url(alice_account, "overdraft"),
        {"limit": "250.00", "reason": "Salary paid in here"},
        headers=headers,
    )
    account = django_bank.accounts.get_account(alice_account)
    assert account.overdraft_limit == Decimal("250.00")
    [event] = django_bank.accounts.get_history(alice_account)[-1:]
    assert (event.type, event.data["reason"]) == (
        "OverdraftLimitSet",
        "Salary paid in here",
    )
    if headers:
        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html
        status = element(html, id="account-status", hx_swap_oob="innerHTML")
        notice = status.element("p", class_="notice notice-ok", tabindex="-1")
        assert "Overdraft limit set to £250.00." in notice.text
        panel = element(html, id="staff-actions")
        assert panel.element("input", name="limit")["value"] == "250.00"
        assert triggered(response) == {"balancesChanged", "accountsChanged"}
    else:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/{alice_account}/"
        page = staff_client.get(response["Location"]).content.decode()
        assert "Overdraft limit set to £250.00." in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"limit": "10000.01", "reason": "Big"}, "limit", "between £0.00 and £10,000"),
        ({"limit": "-5", "reason": "Negative"}, "limit", "Enter an amount"),
        ({"limit": "1.234", "reason": "Pence"}, "limit", "two decimal places"),
        ({"limit": "", "reason": "Nothing"}, "limit", "required"),
        ({"limit": "50"}, "reason", "Give a reason"),
        ({"limit": "50", "reason": "   "}, "reason", "Give a reason"),
        ({"limit": "50", "reason": "x" * 201}, "reason", "at most 200 characters"),
        ({"limit": "50", "reason": "\u202eevil"}, "reason", "reverses text"),
    ],
)
@PLAIN_AND_HTMX
def test_a_bad_limit_or_reason_is_422_beside_its_field_and_records_nothing(  # noqa: PLR0917
    staff_client, django_bank, alice_account, data, field, message, headers
):
    before = head(django_bank)
    response = staff_client.post(url(alice_account, "overdraft"), data, headers=headers)
    html = response.content.decode()
    assert response.status_code == 422
    error = element(html, id=f"id_set_overdraft_limit_{field}_error", role="alert")
    assert message in error.text
    assert ("<html" in html) is not bool(headers)
    assert "HX-Trigger" not in response.headers
    assert head(django_bank) == before


def test_a_limit_below_what_is_owed_is_refused_beside_the_limit(
    staff_client, django_bank, alice_account
):
    django_bank.accounts.staff.set_overdraft_limit(alice_account, "50", "Agreed")
    django_bank.accounts.withdraw(alice_account, "130.00")
    before = head(django_bank)
    response = staff_client.post(
        url(alice_account, "overdraft"),
        {"limit": "10", "reason": "Lower it"},
        headers=HX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    error = element(html, id="id_set_overdraft_limit_limit_error")
    assert "already owes £30.00" in error.text
    # The reason typed is kept, to fix the limit and send again.
    assert element(html, id="id_set_overdraft_limit_reason")["value"] == "Lower it"
    assert head(django_bank) == before


# Freezing and unfreezing.


@PLAIN_AND_HTMX
def test_freezing_then_unfreezing_records_both_with_their_reasons(
    staff_client, django_bank, alice_account, headers
):
    frozen = staff_client.post(
        url(alice_account, "freeze"), {"reason": "Card stolen"}, headers=headers
    )
    assert django_bank.accounts.get_account(alice_account).frozen
    if headers:
        html = frozen.content.decode()
        assert frozen.status_code == 200
        badge = element(html, id="account-state", hx_swap_oob="true")
        assert badge.element("span", class_="badge badge-warn").text == "Frozen"
        panel = element(html, id="staff-actions")
        assert panel.elements("form", id="form-unfreeze_account")
        assert not panel.elements("form", id="form-freeze_account")
        assert "The account is frozen" in element(html, id="account-status").text
    else:
        assert frozen.status_code == 302
    unfrozen = staff_client.post(
        url(alice_account, "unfreeze"), {"reason": "New card sent"}, headers=headers
    )
    assert unfrozen.status_code == (200 if headers else 302)
    assert not django_bank.accounts.get_account(alice_account).frozen
    history = django_bank.accounts.get_history(alice_account)
    assert [(e.type, e.data.get("reason")) for e in history[-2:]] == [
        ("Frozen", "Card stolen"),
        ("Unfrozen", "New card sent"),
    ]


@PLAIN_AND_HTMX
def test_freezing_twice_or_unfreezing_an_open_account_is_422(
    staff_client, django_bank, alice_account, headers
):
    before = head(django_bank)
    response = staff_client.post(
        url(alice_account, "unfreeze"), {"reason": "Why not"}, headers=headers
    )
    assert response.status_code == 422
    error = element(response.content.decode(), id="id_unfreeze_account_reason_error")
    assert "not frozen" in error.text
    django_bank.accounts.staff.freeze(alice_account, "Card stolen")
    before = head(django_bank)
    response = staff_client.post(
        url(alice_account, "freeze"), {"reason": "Again"}, headers=headers
    )
    assert response.status_code == 422
    error = element(response.content.decode(), id="id_freeze_account_reason_error")
    assert "frozen already" in error.text
    assert head(django_bank) == before


@pytest.mark.parametrize("operation", ["freeze", "unfreeze"])
@PLAIN_AND_HTMX
def test_a_missing_reason_is_422_beside_the_field(
    staff_client, django_bank, alice_account, operation, headers
):
    if operation == "unfreeze":
        django_bank.accounts.staff.freeze(alice_account, "Card stolen")
    before = head(django_bank)
    response = staff_client.post(url(alice_account, operation), {}, headers=headers)
    assert response.status_code == 422
    html = response.content.decode()
    error = element(html, id=f"id_{operation}_account_reason_error", role="alert")
    assert "Give a reason" in error.text
    assert head(django_bank) == before


def test_a_closed_account_cannot_be_frozen(staff_client, django_bank, alice_savings):
    django_bank.accounts.close_account(alice_savings)
    before = head(django_bank)
    response = staff_client.post(
        url(alice_savings, "freeze"), {"reason": "Too late"}, headers=HX
    )
    assert response.status_code == 422
    assert "is closed" in response.content.decode()
    assert head(django_bank) == before


# Who may.


@pytest.mark.parametrize("operation", ["overdraft", "freeze", "unfreeze"])
def test_customers_get_403_anonymous_visitors_the_login_page(
    client, alice_client, django_bank, alice_account, operation
):
    data = {"limit": "100", "reason": "Let me"}
    before = head(django_bank)
    assert alice_client.post(url(alice_account, operation), data).status_code == 403
    anonymous = client.post(url(alice_account, operation), data)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")
    assert head(django_bank) == before


@pytest.mark.parametrize("operation", ["overdraft", "freeze", "unfreeze"])
@PLAIN_AND_HTMX
def test_an_unknown_account_is_404(staff_client, operation, headers):
    data = {"limit": "100", "reason": "Who?"}
    response = staff_client.post(url(uuid4(), operation), data, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("operation", ["overdraft", "freeze", "unfreeze"])
def test_only_post_is_allowed(staff_client, alice_account, operation):
    assert staff_client.get(url(alice_account, operation)).status_code == 405


# What customers see of a frozen account.


def test_customers_see_a_frozen_account_and_cannot_take_money_out(
    alice_client, django_bank, alice_account, bob_account
):
    django_bank.accounts.staff.freeze(alice_account, "Card stolen")
    django_bank.wait_until_processed(timeout=10)
    page = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    state = element(page, id="account-state")
    assert state.element("span", class_="badge badge-warn").text == "Frozen"
    dashboard = alice_client.get("/").content.decode()
    [row] = elements(dashboard, "tr", data_account_id=str(alice_account))
    assert row.element("span", class_="badge badge-warn").text == "Frozen"

    before = head(django_bank)
    for action, data in (
        ("withdraw", {"amount": "1.00"}),
        ("transfer", {"amount": "1.00", "to_account": str(bob_account)}),
        ("close", {}),
    ):
        for headers in ({}, HX):
            response = alice_client.post(
                f"/accounts/{alice_account}/{action}/", data, headers=headers
            )
            assert response.status_code == 422, (action, headers)
            assert "This account is frozen" in response.content.decode()
    assert head(django_bank) == before
    # Money may still come in.
    deposit = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "5.00"}, headers=HX
    )
    assert deposit.status_code == 200
    assert django_bank.accounts.get_account(alice_account).balance == Decimal("105.00")


def test_staff_see_frozen_accounts_in_the_list_and_reasons_on_the_timeline(
    staff_client, django_bank, alice_account
):
    django_bank.accounts.staff.freeze(alice_account, "Card reported stolen")
    django_bank.wait_until_processed(timeout=10)
    dashboard = staff_client.get("/").content.decode()
    [row] = elements(dashboard, "tr", data_account_id=str(alice_account))
    assert row.element("span", class_="badge badge-warn").text == "Frozen"
    timeline = staff_client.get(
        f"/staff/accounts/{alice_account}/events/"
    ).content.decode()
    [frozen] = elements(timeline, "li", data_type="Frozen")
    assert frozen.element("q", class_="event-reason").text == "Card reported stolen"
    assert element(timeline, id="state").element("span", class_="badge badge-warn")
