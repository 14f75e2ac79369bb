"""Staff: the event stream, the dashboard's latest events and the feed's page.

The views on this test's bank (``site_bank``), on SQLite and PostgreSQL;
the followers run inline, right after each command, so the Ledger's and the
transaction log's events are there as soon as the command returns.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from esbank_site.web import event_pages
from tests.support.html import element, elements, parse
from tests.support.http import HX

EVENTS = "/staff/events/"
LOGS = ("accounts", "ledger", "transactions")


@pytest.fixture
def moved(site_bank):
    """Two accounts, a deposit with a receipt, a transfer: every log has events."""
    accounts = site_bank.accounts
    ada = accounts.open_account("ada", "Current")
    bob = accounts.open_account("bob", "Savings")
    accounts.deposit(ada, "100.00", idempotency_key="key-1")
    accounts.transfer(ada, bob, "30.00")
    site_bank.wait_until_processed()
    return ada, bob


def rows(html):
    """The events listed: (log, notification id, type), in page order.

    ``html`` is a page, or an element of one.
    """
    root = parse(html) if isinstance(html, str) else html
    found = root.elements("tr", data_app=True)
    return [
        (r["data-app"], int(r["data-notification-id"]), r["data-type"]) for r in found
    ]


def times(html):
    return [
        datetime.fromisoformat(t["datetime"])
        for t in parse(html).element(id="event-stream").elements("time")
    ]


def every_notification(bank):
    """(log, id, type) of every event the bank recorded, read from the logs."""
    found = set()
    for key, app in zip(
        LOGS, [bank.accounts, bank.ledger(), bank.transaction_log()], strict=True
    ):
        for notification in app.recorder.select_notifications(1, 10_000):
            event = app.mapper.to_domain_event(notification)
            found.add((key, notification.id, type(event).__name__))
    return found


def link(html, link_id):
    """The href of the link with this id, or None."""
    found = elements(html, "a", id=link_id)
    return found[0]["href"] if found else None


# Who may see it.


@pytest.mark.parametrize("url", [EVENTS, "/staff/events/latest/", "/staff/feed/"])
def test_staff_only(as_staff, as_customer, url):
    assert as_staff.get(url).status_code == 200
    assert as_customer.get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(f"/accounts/login/?next={url}")


# What it lists.


def test_every_application_s_events_are_listed_newest_first(as_staff, site_bank, moved):
    html = as_staff.get(EVENTS).content.decode()
    listed = rows(html)
    assert set(listed) == every_notification(site_bank)
    assert {log for log, _, _ in listed} == set(LOGS)
    types = {kind for _, _, kind in listed}
    assert {"Opened", "AccountIndexed", "Issued", "Deposited", "TransferSent"} <= types
    assert {"TransferReceived", "Started", "DepositRecorded"} <= types
    assert {"TransferRecorded", "TransactionLogged"} <= types
    # Newest first: by time across logs, by notification id within each.
    assert times(html) == sorted(times(html), reverse=True)
    for log in LOGS:
        ids = [number for key, number, _ in listed if key == log]
        assert ids == sorted(ids, reverse=True)


def test_a_row_shows_account_amount_and_time(as_staff, site_bank, moved):
    ada, bob = moved
    html = as_staff.get(EVENTS).content.decode()
    deposit = element(html, "tr", data_app="accounts", data_type="Deposited")
    assert deposit.elements("td")[0].words == "Accounts"
    account = deposit.element("a")
    assert account["href"] == f"/staff/accounts/{ada}/events/"
    assert account["title"] == str(ada)
    assert deposit.element(class_="money", data_amount="100.00")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.+", deposit.element("time")["datetime"])
    # The transaction log's entry names the account it carries.
    logged = elements(html, "tr", data_app="transactions")
    sent = [
        row for row in logged if row.element(data_amount=True)["data-amount"] == "30.00"
    ]
    assert sent[0].element("a")["href"] == f"/staff/accounts/{ada}/events/"
    # The ledger's events belong to no account; a receipt neither.
    for row in elements(html, "tr", data_app="ledger") + elements(
        html, "tr", data_type="Issued"
    ):
        assert not row.elements("a")
    indexed = elements(html, "tr", data_type="AccountIndexed")
    assert {row.element("a")["title"] for row in indexed} == {str(ada), str(bob)}


# Paging.


def walk(client, url, link_id):
    """Follow ``link_id`` from ``url`` to the end: each page's rows, and the URLs."""
    pages, urls = [], []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        pages.append(rows(html))
        urls.append(url)
        url = link(html, link_id)
    return pages, urls


def test_older_and_newer_pages_lose_and_repeat_nothing(
    as_staff, site_bank, moved, monkeypatch
):
    monkeypatch.setattr(event_pages, "EVENTS_PER_PAGE", 7)
    ada, _ = moved
    for number in range(12):
        site_bank.accounts.deposit(ada, f"{number + 1}.00")
    site_bank.wait_until_processed()
    everything = every_notification(site_bank)
    assert len(everything) > 3 * 7

    pages, urls = walk(as_staff, EVENTS, "older-events")
    older = [row for page in pages for row in page]
    assert len(older) == len(set(older)) == len(everything)
    assert set(older) == everything
    assert all(len(page) == 7 for page in pages[:-1])
    # Each cursor names every log's position.
    cursor = parse_qs(urlsplit(urls[1]).query)["before"][0]
    assert re.fullmatch(r"accounts:\d+,ledger:\d+,transactions:\d+", cursor)

    # From the oldest page back: the same events, each once.
    pages, _ = walk(as_staff, urls[-1], "newer-events")
    newer = [row for page in pages[1:] for row in page]
    assert len(newer) == len(set(newer))
    assert set(newer) | set(pages[0]) == everything


def test_only_the_newest_page_refreshes_itself(as_staff, moved, monkeypatch):
    monkeypatch.setattr(event_pages, "EVENTS_PER_PAGE", 2)  # the ledger has 3
    newest = as_staff.get(f"{EVENTS}?app=ledger").content.decode()
    stream = element(newest, id="event-stream")
    assert stream["hx-get"] == f"{EVENTS}?app=ledger"
    assert "every 3s" in stream["hx-trigger"]
    assert stream["hx-swap"] == "outerHTML"
    assert not elements(newest, id="newer-events")
    older = as_staff.get(link(newest, "older-events")).content.decode()
    assert "hx-get" not in element(older, id="event-stream").attrs
    assert link(older, "newest-events") == f"{EVENTS}?app=ledger"
    # htmx gets the panel alone.
    fragment = as_staff.get(f"{EVENTS}?app=ledger", headers=HX).content.decode()
    assert "<html" not in fragment
    assert rows(fragment) == rows(newest)


def test_new_events_arrive_at_the_top(as_staff, site_bank, moved):
    ada, _ = moved
    before = rows(as_staff.get(EVENTS, headers=HX).content.decode())
    site_bank.accounts.withdraw(ada, "5.00")
    site_bank.wait_until_processed()
    after = rows(as_staff.get(EVENTS, headers=HX).content.decode())
    arrived = after[: len(after) - len(before)]
    assert after[len(arrived) :] == before
    assert {kind for _, _, kind in arrived} == {
        "Withdrawn",
        "WithdrawalRecorded",
        "TransactionLogged",
    }


def test_a_reversal_s_events_show_their_accounts_and_signed_amounts(
    as_staff, site_bank, moved
):
    ada, bob = moved
    transfer = site_bank.accounts.transfer(ada, bob, "20.00")
    site_bank.accounts.reversals.reverse(transfer, bob, "carol", "Wrong payee")
    site_bank.wait_until_processed()

    html = as_staff.get(EVENTS).content.decode()

    legs = elements(html, "tr", data_app="accounts", data_type="Reversed")
    shown = {
        row.element("a")["title"]: row.element(data_amount=True)["data-amount"]
        for row in legs
    }
    # The sender gets it back, the receiver gives it back.
    assert shown == {str(ada): "20.00", str(bob): "-20.00"}
    assert element(html, "tr", data_app="accounts", data_type="Requested")
    assert element(html, "tr", data_app="ledger", data_type="TransferReversed")
    assert set(rows(html)) == every_notification(site_bank)


# Filters.


@pytest.mark.parametrize("log", LOGS)
def test_filtered_by_application(as_staff, site_bank, moved, log):
    response = as_staff.get(EVENTS, {"app": log})
    assert response.status_code == 200
    listed = rows(response.content.decode())
    assert listed
    assert {key for key, _, _ in listed} == {log}
    assert set(listed) == {
        row for row in every_notification(site_bank) if row[0] == log
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"type": "Deposited"}, {("accounts", "Deposited")}),
        ({"type": "Issued"}, {("accounts", "Issued")}),
        ({"type": "AccountIndexed"}, {("accounts", "AccountIndexed")}),
        ({"type": "TransactionLogged"}, {("transactions", "TransactionLogged")}),
        (
            {"app": "ledger", "type": "TransferRecorded"},
            {("ledger", "TransferRecorded")},
        ),
        ({"type": "Reversed"}, {("accounts", "Reversed")}),
        ({"type": "Requested"}, {("accounts", "Requested")}),
        ({"type": "ReversalIndexed"}, {("accounts", "ReversalIndexed")}),
        ({"type": "DepositReversed"}, {("ledger", "DepositReversed")}),
    ],
)
def test_filtered_by_type(as_staff, site_bank, moved, query, expected):
    ada, _ = moved
    deposit = site_bank.accounts.deposit(ada, "5.00")
    site_bank.accounts.reversals.reverse(deposit, ada, "carol", "Paid twice")
    response = as_staff.get(EVENTS, query)
    assert response.status_code == 200
    listed = rows(response.content.decode())
    assert listed
    assert {(key, kind) for key, _, kind in listed} == expected


def test_the_filter_form_offers_each_application_s_types(as_staff):
    html = as_staff.get(EVENTS).content.decode()
    form = element(html, "form", class_="event-filters")
    assert form["method"] == "get"
    assert form["action"] == EVENTS
    apps = [o["value"] for o in form.element("select", name="app").elements("option")]
    assert apps == ["", *LOGS]
    groups = form.element("select", name="type").elements("optgroup")
    assert [g["label"] for g in groups] == ["Accounts", "Ledger", "Transactions"]
    receipts = groups[0].element("option", value="Issued")
    assert receipts.words == "Receipt.Issued"
    assert groups[2].element("option", value="TransactionLogged")
    requested = groups[0].element("option", value="Requested")
    assert requested.words == "Reversal.Requested"
    assert groups[1].element("option", value="DepositReversed")


def test_a_type_filter_pages_too(as_staff, site_bank, moved, monkeypatch):
    monkeypatch.setattr(event_pages, "EVENTS_PER_PAGE", 4)
    ada, _ = moved
    for _ in range(9):
        site_bank.accounts.deposit(ada, "1.00")
    pages, urls = walk(as_staff, f"{EVENTS}?type=Deposited", "older-events")
    listed = [row for page in pages for row in page]
    assert len(listed) == len(set(listed)) == 10
    assert {kind for _, _, kind in listed} == {"Deposited"}
    assert all("type=Deposited" in url for url in urls)
    assert re.search(r"before=accounts:\d+$", urls[1])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"app": "vault"}, "vault is not one of the bank's applications."),
        ({"type": "Stolen"}, "No application of the bank records Stolen events."),
        ({"app": "ledger", "type": "Deposited"}, "Ledger records no Deposited events."),
    ],
)
def test_an_unknown_filter_is_refused_with_422_saying_why(
    as_staff, moved, query, message
):
    response = as_staff.get(EVENTS, query)
    assert response.status_code == 422
    html = response.content.decode()
    assert element(html, id="filter-errors").words == message
    # The events the rest of the filters allow, still shown.
    listed = rows(html)
    assert listed
    if query.get("app") == "ledger":
        assert {key for key, _, _ in listed} == {"ledger"}


@pytest.mark.parametrize(
    "query",
    [
        {"before": "yesterday"},
        {"before": ""},
        {"before": "accounts:1," * 500},
        {"before": "accounts:5"},  # not every log named
        {"before": "accounts:5,ledger:2,transactions:2,vault:1"},
        {"before": "accounts:5,accounts:5,ledger:2,transactions:2"},
        {"before": "accounts:0,ledger:2,transactions:2"},
        {"before": f"accounts:{10**30},ledger:2,transactions:2"},
        {"after": "accounts:-1,ledger:2,transactions:2"},
        {"before": "accounts:5,ledger:2,transactions:2", "after": "accounts:1"},
        {"app": "ledger", "before": "accounts:5,ledger:2,transactions:2"},
    ],
)
def test_a_malformed_page_position_is_a_400_page_saying_so(as_staff, moved, query):
    response = as_staff.get(EVENTS, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "page position" in element(html, id="bad-cursor").words
    assert link(html, "newest-events").startswith(EVENTS)
    assert "<html" in html
    fragment = as_staff.get(EVENTS, query, headers=HX)
    assert fragment.status_code == 400
    assert "<html" not in fragment.content.decode()


def test_a_position_past_either_end_is_an_empty_page(as_staff, moved):
    start = as_staff.get(EVENTS, {"before": "accounts:1,ledger:1,transactions:1"})
    assert start.status_code == 200
    html = start.content.decode()
    assert rows(html) == []
    assert not elements(html, id="older-events")
    assert elements(html, id="newer-events")
    far = "accounts:99999,ledger:99999,transactions:99999"
    end = as_staff.get(EVENTS, {"after": far}).content.decode()
    assert rows(end) == []
    assert not elements(end, id="newer-events")


# The dashboard, the feed's page, the menu.


def test_the_dashboard_shows_the_latest_ten_events_live(as_staff, moved):
    html = as_staff.get("/").content.decode()
    panel = element(html, id="latest-events-panel")
    assert panel["hx-get"] == "/staff/events/latest/"
    assert "every 3s" in panel["hx-trigger"]
    latest = rows(panel)
    assert len(latest) == 10
    assert latest == rows(as_staff.get(EVENTS).content.decode())[:10]
    assert element(html, "a", id="all-events").words == "All events"
    assert link(html, "all-events") == EVENTS
    fragment = as_staff.get("/staff/events/latest/", headers=HX).content.decode()
    assert "<html" not in fragment
    assert rows(fragment) == latest


def test_the_feed_page_explains_the_feed_and_links_to_its_sections(
    as_staff, site_bank, moved
):
    accounts = site_bank.accounts
    for _ in range(8):
        accounts.deposit(moved[0], "1.00")
    head = accounts.recorder.max_notification_id()
    assert 10 < head <= 20
    html = as_staff.get("/staff/feed/").content.decode()
    assert link(html, "first-section") == "/staff/notifications/1,10/"
    assert link(html, "current-section") == "/staff/notifications/11,20/"
    assert element(html, id="feed-head").words == str(head)
    about = element(html, id="feed-about").words
    for said in ("notification log", "next_id", "HTTP Basic", "follow_notifications"):
        assert said in about
    assert "docs/FEED.md" in about
    # In the site's frame.
    assert 'action="/accounts/logout/"' in html


def test_the_feed_page_of_an_empty_bank_links_to_the_first_section(as_staff):
    html = as_staff.get("/staff/feed/").content.decode()
    assert link(html, "current-section") == "/staff/notifications/1,10/"


def test_staff_menu_links_to_events_and_the_feed_page(as_staff, as_customer):
    staff = as_staff.get(EVENTS).content.decode()
    nav = element(staff, "nav", class_="nav")
    links = {a.words: a for a in nav.elements("a")}
    assert links["Events"]["href"] == EVENTS
    assert links["Events"]["aria-current"] == "page"
    assert links["Event feed"]["href"] == "/staff/feed/"
    customer = as_customer.get("/").content.decode()
    assert 'href="/staff/events/"' not in customer
    assert 'href="/staff/feed/"' not in customer


def test_amounts_are_exact_pence(as_staff, site_bank, moved):
    site_bank.accounts.deposit(moved[0], Decimal("0.10"))
    html = as_staff.get(EVENTS, {"type": "Deposited"}).content.decode()
    amounts = [e["data-amount"] for e in elements(html, class_="money")]
    assert amounts[0] == "0.10"


POLLED = {  # page: (the panel's own URL, its root element's id)
    EVENTS: (EVENTS, "event-stream"),
    "/": ("/staff/events/latest/", "latest-events-panel"),
}


@pytest.mark.parametrize("page", POLLED)
def test_a_poll_with_nothing_new_is_not_modified(as_staff, site_bank, moved, page):
    panel, root_id = POLLED[page]
    html = as_staff.get(page).content.decode()
    etag = f'"{element(html, id=root_id)["data-etag"]}"'
    unchanged = as_staff.get(panel, headers=HX | {"If-None-Match": etag})
    assert unchanged.status_code == 304
    site_bank.accounts.deposit(moved[0], "1.00")
    changed = as_staff.get(panel, headers=HX | {"If-None-Match": etag})
    assert changed.status_code == 200
    assert rows(changed.content.decode())[0][2] in {
        "Deposited",
        "DepositRecorded",
        "TransactionLogged",
    }
