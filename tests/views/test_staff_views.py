"""Staff pages: the bank overview, the ledger, the log and the event timeline."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from esbank_site import bank
from tests.support.html import element, elements, parse
from tests.support.http import HX


def test_staff_dashboard_shows_every_account_the_ledger_and_the_log(
    staff_client, alice_account, bob_account, django_bank
):
    django_bank.accounts.transfer(alice_account, bob_account, "10.00")
    html = staff_client.get("/").content.decode()
    assert str(alice_account) in html
    assert str(bob_account) in html
    assert elements(
        html, id="ledger-total", class_="money stat-value", data_amount="150.00"
    )
    assert elements(html, id="ledger-transactions", data_count="3")
    log = re.findall(r'data-number="(\d+)"', html)
    assert log == ["3", "2", "1"]  # newest first
    assert "Up to date" in html


def test_staff_panels_refresh_by_polling_and_on_events(staff_client, django_bank):
    html = staff_client.get("/").content.decode()
    assert 'hx-get="/staff/ledger/"' in html
    assert 'hx-trigger="ledgerChanged from:body, every 3s"' in html
    assert 'hx-trigger="transactionsChanged from:body, every 3s"' in html


def test_ledger_panel_fragment_follows_the_money(
    staff_client, django_bank, alice_account
):
    django_bank.accounts.withdraw(alice_account, "0.50")
    response = staff_client.get("/staff/ledger/", headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert elements(
        html, id="ledger-total", class_="money stat-value", data_amount="99.50"
    )


def test_ledger_panel_says_when_processing_lags(
    staff_client, django_bank, alice_account, monkeypatch
):
    statuses = django_bank.processor_status()
    lagging = [replace(status, lag=3) for status in statuses]
    monkeypatch.setattr(bank.get_bank(), "processor_status", lambda: lagging)
    html = staff_client.get("/staff/ledger/", headers=HX).content.decode()
    assert "Updating… 3 events behind" in html


def test_ledger_panel_shows_a_failing_processor(staff_client, django_bank, monkeypatch):
    failing = [
        replace(status, failing=True, failures=2, last_error="ValueError: boom")
        for status in django_bank.processor_status()
    ]
    monkeypatch.setattr(bank.get_bank(), "processor_status", lambda: failing)
    html = staff_client.get("/staff/ledger/", headers=HX).content.decode()
    assert "Processing failing" in html
    assert "ValueError: boom" in html


def test_all_accounts_are_paginated(staff_client, django_bank, alice):
    # More than one customer may hold (ESBANK_MAX_OPEN_ACCOUNTS), for a page.
    django_bank.accounts.open_accounts.most = 30
    for number in range(30):
        django_bank.accounts.open_account("alice", f"Account {number}")
    first = staff_client.get("/").content.decode()
    second = staff_client.get("/?page=2").content.decode()
    assert "Page 1 of 2" in first
    assert "Account 24<" in first
    assert "Account 25<" not in first
    assert "Account 25<" in second
    assert "Account 29<" in second
    assert staff_client.get("/?page=banana").status_code == 200


def test_transaction_log_pages_back_from_the_newest(
    staff_client, django_bank, alice_account
):
    for _ in range(20):
        django_bank.accounts.deposit(alice_account, "1.00")
    newest = staff_client.get("/staff/transactions/").content.decode()
    assert re.findall(r'data-number="(\d+)"', newest)[:2] == ["21", "20"]
    assert 'href="/staff/transactions/?before=7"' in newest
    older = staff_client.get("/staff/transactions/?before=7").content.decode()
    assert re.findall(r'data-number="(\d+)"', older) == [
        str(n) for n in range(6, 0, -1)
    ]
    assert "hx-get" not in element(older, id="transactions-panel").attrs
    fragment = staff_client.get("/staff/transactions/", headers=HX).content.decode()
    assert "<html" not in fragment
    assert staff_client.get("/staff/transactions/?before=x").status_code == 200


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_transaction_log_marks_reversals_and_what_they_reverse(
    staff_client, django_bank, alice_account, bob_account, headers
):
    reversals = django_bank.accounts.reversals
    deposit = django_bank.accounts.deposit(alice_account, "40.00")
    kept = django_bank.accounts.deposit(alice_account, "1960.00")
    transfer = django_bank.accounts.transfer(alice_account, bob_account, "2000.00")
    undone = reversals.reverse(deposit, alice_account, "staff", "Paid twice")
    waiting = reversals.reverse(transfer, bob_account, "staff", "Wrong payee")
    django_bank.wait_until_processed()

    response = staff_client.get("/staff/transactions/", headers=headers)

    html = response.content.decode()
    assert ("<html" in html) is not headers
    log = {e["data-number"]: e for e in parse(html).elements("li", data_number=True)}
    # 1 and 2: the accounts' opening deposits; 6 the deposit's reversal.
    assert list(log) == ["6", "5", "4", "3", "2", "1"]
    reversal = log["6"]
    assert reversal["data-reverses"] == str(deposit)
    assert "log-deposit-reversal" in reversal.classes
    reverses = reversal.element("a", class_="log-kind log-reverses")
    assert (reverses.words, reverses["href"]) == (
        "Reversal of deposit",
        f"/staff/trace/{deposit}/",
    )
    assert reversal.elements(class_="log-reversed") == []
    assert reversal.element(data_amount=True)["data-amount"] == "-40.00"
    original = log["3"]
    assert original["data-reversed"] == "true"
    badge = original.element("a", class_="badge badge-muted log-reversed")
    assert (badge.words, badge["href"]) == (
        "Reversed",
        f"/staff/trace/{undone.transaction_id}/",
    )
    assert log["5"]["data-reversal-pending"] == "true"
    assert log["5"].get("data-reversed") is None
    pending = log["5"].element("a", class_="badge badge-warn log-reversal-pending")
    assert (pending.words, pending["href"]) == (
        "Reversal pending",
        f"/staff/trace/{waiting.transaction_id}/",
    )
    assert log["4"].element(class_="log-kind").words == "Deposit"
    for plain in ("4", "2", "1"):
        assert log[plain].get("data-reversed") is None
        assert log[plain].get("data-reversal-pending") is None
        assert log[plain].get("data-reverses") is None
    assert str(kept) in log["4"].element("a", class_="log-number")["href"]


# The event timeline.


def test_timeline_lists_every_event_with_type_version_time_and_data(
    staff_client, django_bank, alice_account, bob_account
):
    django_bank.accounts.transfer(alice_account, bob_account, "30.00")
    response = staff_client.get(f"/staff/accounts/{alice_account}/events/")
    html = response.content.decode()
    assert response.status_code == 200
    events = elements(html, data_version=True, data_type=True)
    assert [(e["data-version"], e["data-type"]) for e in events] == [
        ("3", "TransferSent"),
        ("2", "Deposited"),
        ("1", "Opened"),
    ]
    assert "Transfer sent" in html
    assertInHTML(f"<code>{bob_account}</code>", html)  # the event's data
    assertInHTML('<span class="money" data-amount="30.00">£30.00</span>', html)
    assert "<time" in html
    assert element(html, id="state-version").text == "3"
    assert elements(html, id="state-balance", class_="money", data_amount="70.00")


def test_timeline_shows_the_state_as_of_a_chosen_version(
    staff_client, django_bank, alice_account
):
    django_bank.accounts.withdraw(alice_account, "30.00")
    html = staff_client.get(
        f"/staff/accounts/{alice_account}/events/?version=2"
    ).content.decode()
    assert element(html, id="state-version").text == "2"
    assert elements(html, id="state-balance", class_="money", data_amount="100.00")
    assert elements(html, class_="event is-selected", data_version="2")
    assert elements(html, class_="event is-later", data_version="3")
    earlier = f"/staff/accounts/{alice_account}/events/?version=1#chosen-event"
    assert element(html, "a", id="step-back")["href"] == earlier
    assert element(html, id="chosen-event")["data-version"] == "2"
    assert element(html, id="chosen-event").elements(id="state")


def test_timeline_polls_and_keeps_the_chosen_version(staff_client, alice_account):
    url = f"/staff/accounts/{alice_account}/events/"
    latest = staff_client.get(url, headers=HX).content.decode()
    chosen = staff_client.get(f"{url}?version=1", headers=HX).content.decode()
    assert elements(latest, id="timeline")
    assert "<html" not in latest
    assert f'hx-get="{url}"' in latest
    assert f'hx-get="{url}?version=1"' in chosen
    assert 'hx-trigger="balancesChanged from:body, every 3s"' in chosen


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
@pytest.mark.parametrize("version", ["abc", "0", "-1", "1.5", "", "1e3"])
def test_timeline_refuses_a_malformed_version_with_422(
    staff_client, alice_account, version, headers
):
    response = staff_client.get(
        f"/staff/accounts/{alice_account}/events/",
        {"version": version},
        headers=headers,
    )
    html = response.content.decode()
    if version == "":
        assert response.status_code == 200  # no version asked for: the latest
    else:
        assert response.status_code == 422
        assert element(html, class_="form-errors").text
    # The latest state, still shown.
    assert element(html, id="state-version").text == "2"
    assert ("<html" in html) == (not headers)


@pytest.mark.parametrize("version", [3, 999, 10**30])
def test_timeline_of_a_version_not_yet_reached_is_a_404_page_saying_so(
    staff_client, alice_account, version
):
    url = f"/staff/accounts/{alice_account}/events/"
    response = staff_client.get(f"{url}?version={version}")
    assert response.status_code == 404
    html = response.content.decode()
    said = f"This account has only 2 events; version {version} is past the latest."
    assert element(html, id="version-past-end").text == said
    assert element(html, "a", id="latest-version")["href"] == url
    # In the site's frame: its navigation and sign-out are there.
    assert "<html" in html
    assert 'action="/accounts/logout/"' in html
    assert "No such version · Event Sourced Bank" in html


def test_timeline_of_a_version_not_yet_reached_tells_htmx_in_a_notice(
    staff_client, django_bank, alice_savings
):
    url = f"/staff/accounts/{alice_savings}/events/?version=999"
    response = staff_client.get(url, headers=HX)
    assert response.status_code == 404
    html = response.content.decode()
    assert "<html" not in html
    notice = element(html, role="alert", data_status="404")
    said = "This account has only 1 event; version 999 is past the latest."
    assert notice.text == said


def test_timeline_of_a_missing_account_is_404(staff_client, django_bank):
    from uuid import uuid4  # noqa: PLC0415

    assert staff_client.get(f"/staff/accounts/{uuid4()}/events/").status_code == 404


def test_timeline_marks_the_versions_with_snapshots(
    staff_client, django_bank, alice_account
):
    for _ in range(49):
        django_bank.accounts.deposit(alice_account, "1.00")
    assert django_bank.accounts.get_snapshot_versions(alice_account) == [50]
    html = staff_client.get(f"/staff/accounts/{alice_account}/events/").content.decode()
    snapshots = elements(html, data_version=True, data_snapshot="true")
    assert [event["data-version"] for event in snapshots] == ["50"]
    assert "1 snapshot" in html
    state = staff_client.get(
        f"/staff/accounts/{alice_account}/events/?version=50"
    ).content.decode()
    assert elements(state, id="state-balance", class_="money", data_amount="148.00")
    assert django_bank.accounts.get_account(alice_account).balance == Decimal("149.00")


def test_staff_search_accounts_by_owner_or_name(
    staff_client, alice_account, alice_savings, bob_account
):
    html = staff_client.get("/?q=SAV").content.decode()
    assert f'data-account-id="{alice_savings}"' in html
    assert f'data-account-id="{alice_account}"' not in html
    assert "1 of 3 accounts match “SAV”" in html
    fragment = staff_client.get("/accounts/panel/?q=bob", headers=HX).content.decode()
    assert f'data-account-id="{bob_account}"' in fragment
    assert f'data-account-id="{alice_account}"' not in fragment
    # The panel keeps polling for the same search.
    assert 'hx-get="/accounts/panel/?q=bob&amp;sort=-opened&amp;page=1"' in fragment


def test_staff_sort_accounts_by_balance(
    staff_client, alice_account, alice_savings, bob_account
):
    html = staff_client.get("/?sort=balance").content.decode()
    rows = elements(html, "tr", data_account_id=True)
    order = [row["data-account-id"] for row in rows]
    assert order == [str(alice_account), str(bob_account), str(alice_savings)]
    assert 'href="?q=&amp;sort=-balance' not in html  # empty search left out
    assert 'href="?sort=-balance&amp;page=1"' in html  # a second click flips it


def test_account_lists_show_the_total_from_the_same_read(
    staff_client, alice_client, alice_account, alice_savings, bob_account
):
    staff = staff_client.get("/").content.decode()
    assert elements(staff, id="accounts-total", class_="money", data_amount="150.00")
    customer = alice_client.get("/").content.decode()
    assert elements(
        customer, id="customer-total", class_="money stat-value", data_amount="100.00"
    )


# Time travel by moment, and snapshots on demand.


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")


def test_timeline_shows_the_account_as_it_was_at_a_moment(
    staff_client, alice_account, django_bank
):
    funded_at = django_bank.accounts.get_account(alice_account).last_activity_at
    django_bank.accounts.deposit(alice_account, "5.00")
    url = f"/staff/accounts/{alice_account}/events/"

    response = staff_client.get(url, {"at": local(funded_at)})
    assert response.status_code == 200
    assert response.context["version"] == 2
    assert elements(
        response.text, id="state-balance", class_="money", data_amount="100.00"
    )

    response = staff_client.get(url, {"at": local(funded_at - timedelta(days=1))})
    assert response.status_code == 422
    assert "was not open yet" in response.text

    response = staff_client.get(url, {"at": "yesterday"})
    assert response.status_code == 422
    assert "Enter a date and time" in response.text


def test_staff_take_a_snapshot_and_the_timeline_marks_it(
    staff_client, alice_account, django_bank
):
    response = staff_client.post(f"/staff/accounts/{alice_account}/snapshot/")
    assert response.status_code == 302
    assert django_bank.accounts.get_snapshot_versions(alice_account) == [2]
    page = staff_client.get(response["Location"])
    assert elements(
        page.text, data_version="2", data_type="Deposited", data_snapshot="true"
    )
    assert "Snapshot stored at version 2." in page.text


def test_customers_cannot_take_snapshots(alice_client, alice_account, django_bank):
    url = f"/staff/accounts/{alice_account}/snapshot/"
    assert alice_client.post(url).status_code == 403
    assert django_bank.accounts.get_snapshot_versions(alice_account) == []


def test_the_staff_nav_links_the_event_feed_s_page(staff_client, alice_client):
    assert 'href="/staff/feed/"' in staff_client.get("/").text
    assert 'href="/staff/feed/"' not in alice_client.get("/").text
