"""Staff: a transaction's trace, its events in every application.

On this test's bank (``site_bank``), on SQLite and PostgreSQL. The
followers run inline, right after each command, unless a test holds them
back (``process_inline`` off) to see the trace wait for them.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.provenance import Provenance, acting_as
from esbank_site.web import trace as trace_reading
from tests.support.html import parse
from tests.support.http import HX

REQUEST = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def two_accounts(site_bank):
    accounts = site_bank.accounts
    ada = accounts.open_account("ada", "Current")
    bob = accounts.open_account("bob", "Savings")
    accounts.deposit(ada, "100.00")
    return ada, bob


def url(transaction_id):
    return f"/staff/trace/{transaction_id}/"


def rows(html):
    """(application key, type) of each event listed, in page order."""
    return [
        (r["data-app"], r["data-type"])
        for r in parse(html).elements("tr", data_app=True)
    ]


def row(html, app, type_name):
    return parse(html).element("tr", data_app=app, data_type=type_name)


def followers(html):
    """Each Accounts event's followers: {(type): {follower: processed}}."""
    found = {}
    for r in parse(html).elements("tr", data_app="accounts"):
        found[r["data-type"]] = {
            f["data-follower"]: f["data-processed"] == "yes"
            for f in r.elements("li", data_follower=True)
        }
    return found


def test_a_transfer_s_trace_lists_every_application_s_events(
    as_staff, site_bank, two_accounts
):
    ada, bob = two_accounts
    with acting_as(Provenance("ada", correlation_id=REQUEST)):
        transaction_id = site_bank.accounts.transfer(
            ada, bob, "30.00", idempotency_key="key-1"
        )

    response = as_staff.get(url(transaction_id))

    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(rows(html)) == sorted(
        [
            ("accounts", "TransferSent"),
            ("accounts", "TransferReceived"),
            ("accounts", "Issued"),
            ("ledger", "TransferRecorded"),
            ("transactions", "TransactionLogged"),
        ]
    )
    # Oldest first: the followers answer after Accounts recorded.
    assert [app for app, _ in rows(html)][:3] == ["accounts"] * 3
    times = [t["datetime"] for t in parse(html).elements("time")]
    assert times == sorted(times)
    for app, type_name in rows(html):
        listed = row(html, app, type_name)
        assert listed.element(class_="trace-correlation").words == REQUEST
    sent = row(html, "accounts", "TransferSent")
    assert sent.element(class_="trace-actor").words == "ada"
    assert sent.elements(class_="trace-causation") == []
    assert links_to_account(sent, ada)
    position = sent["data-notification-id"]
    answers = [("ledger", "TransferRecorded"), ("transactions", "TransactionLogged")]
    for app, type_name in answers:
        answer = row(html, app, type_name)
        causation = answer.element(class_="trace-causation").words
        assert causation.startswith(f"Accounts#{position} {ada} v")
        assert answer.element(class_="trace-actor").words.startswith("system:")
    positions = followers(html)
    assert set(positions) == {"TransferSent", "TransferReceived", "Issued"}
    assert all(f and all(f.values()) for f in positions.values())
    assert "hx-trigger" not in html


def links_to_account(element, account_id):
    """Whether the row links to the account's timeline (``{% account_ref %}``)."""
    return any(str(account_id) in a["href"] for a in element.elements("a"))


def test_a_deposit_s_trace(as_staff, site_bank, two_accounts):
    ada, _ = two_accounts
    transaction_id = site_bank.accounts.deposit(ada, "12.34")

    html = as_staff.get(url(transaction_id)).content.decode()

    assert rows(html) == [
        ("accounts", "Deposited"),
        ("ledger", "DepositRecorded"),
        ("transactions", "TransactionLogged"),
    ]
    assert row(html, "accounts", "Deposited").element(class_="trace-actor").words == (
        "system"
    )


def test_before_the_followers_run_it_says_not_yet_and_refreshes_itself(
    as_staff, site_bank, two_accounts, monkeypatch
):
    ada, _ = two_accounts
    monkeypatch.setattr(site_bank, "process_inline", False)
    transaction_id = site_bank.accounts.withdraw(ada, "10.00")

    waiting = as_staff.get(url(transaction_id)).content.decode()

    assert rows(waiting) == [("accounts", "Withdrawn")]
    waiting_for = followers(waiting)["Withdrawn"]
    assert waiting_for
    assert not any(waiting_for.values())
    assert "not yet" in parse(waiting).element(id="trace-panel").words
    panel = parse(waiting).element(id="trace-panel")
    assert panel["hx-get"] == url(transaction_id)
    assert panel["hx-trigger"] == "every 2s"

    site_bank.process_all()
    done = as_staff.get(url(transaction_id), headers=HX)

    assert done.status_code == 200
    fragment = done.content.decode()
    assert fragment.lstrip().startswith("<section")
    assert rows(fragment) == [
        ("accounts", "Withdrawn"),
        ("ledger", "WithdrawalRecorded"),
        ("transactions", "TransactionLogged"),
    ]
    assert all(followers(fragment)["Withdrawn"].values())
    assert set(followers(fragment)["Withdrawn"]) == {
        s.name for s in site_bank.processor_status()
    }
    panel = parse(fragment).element(id="trace-panel")
    assert panel.get("hx-trigger") is None
    assert panel.get("hx-get") is None


def test_a_poll_with_nothing_new_is_not_modified(as_staff, site_bank, two_accounts):
    ada, _ = two_accounts
    transaction_id = site_bank.accounts.deposit(ada, "1.00")
    first = as_staff.get(url(transaction_id), headers=HX)
    again = as_staff.get(
        url(transaction_id), headers={**HX, "If-None-Match": first["ETag"]}
    )
    assert again.status_code == 304


def test_an_unknown_transaction_is_a_404_saying_so(as_staff, two_accounts):
    unknown = uuid.uuid4()
    response = as_staff.get(url(unknown))
    assert response.status_code == 404
    message = parse(response.content.decode()).element(id="trace-not-found")
    assert str(unknown) in message.words


@pytest.mark.parametrize("malformed", ["not-a-uuid", "1234", "%00"])
def test_a_malformed_id_is_a_404(as_staff, malformed):
    assert as_staff.get(f"/staff/trace/{malformed}/").status_code == 404


def test_staff_only(as_staff, as_customer, site_bank, two_accounts):
    ada, _ = two_accounts
    transaction_id = site_bank.accounts.deposit(ada, "1.00")
    assert as_customer.get(url(transaction_id)).status_code == 403
    anonymous = Client().get(url(transaction_id))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(
        f"/accounts/login/?next={url(transaction_id)}"
    )


def test_the_timeline_and_the_transaction_log_link_to_the_trace(
    as_staff, site_bank, two_accounts
):
    ada, bob = two_accounts
    transaction_id = site_bank.accounts.transfer(ada, bob, "5.00")
    trace = url(transaction_id)

    timeline = as_staff.get(f"/staff/accounts/{ada}/events/").content.decode()
    log = as_staff.get("/staff/transactions/").content.decode()

    assert parse(timeline).elements("a", href=trace)
    assert parse(log).elements("a", href=trace)


def test_restoring_history_gets_the_whole_page(as_staff, site_bank, two_accounts):
    ada, _ = two_accounts
    transaction_id = site_bank.accounts.deposit(ada, "1.00")
    response = as_staff.get(
        url(transaction_id), headers=HX | {"HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


# Reversals.


def reversal_line(html):
    """The trace page's line about reversals, or None."""
    found = parse(html).elements(id="trace-reversal")
    return found[0] if found else None


def test_a_transfer_reversal_s_trace_lists_both_legs_its_request_and_answers(
    as_staff, site_bank, two_accounts
):
    ada, bob = two_accounts
    transfer = site_bank.accounts.transfer(ada, bob, "30.00")
    reversal = site_bank.accounts.reversals.reverse(transfer, bob, "carol", "Wrong")

    html = as_staff.get(url(reversal.transaction_id)).content.decode()

    assert sorted(rows(html)) == sorted(
        [
            ("accounts", "Reversed"),
            ("accounts", "Reversed"),
            ("accounts", "Requested"),
            ("ledger", "TransferReversed"),
            ("transactions", "TransactionLogged"),
        ]
    )
    legs = parse(html).elements("tr", data_app="accounts", data_type="Reversed")
    assert {links_to_account(leg, ada) for leg in legs} == {True, False}
    assert {links_to_account(leg, bob) for leg in legs} == {True, False}
    # Every follower has processed each of them: nothing waits.
    assert all(all(f.values()) for f in followers(html).values())
    assert "hx-trigger" not in parse(html).element(id="trace-panel").attrs
    line = reversal_line(html)
    assert line.element("a", id="trace-reverses")["href"] == url(transfer)
    assert line.elements(id="trace-reversed-by") == []

    original = as_staff.get(url(transfer)).content.decode()

    assert ("accounts", "Reversed") not in rows(original)
    reversed_by = reversal_line(original).element("a", id="trace-reversed-by")
    assert reversed_by["href"] == url(reversal.transaction_id)
    assert reversed_by["data-status"] == "carried out"
    assert "Reversed by" in reversal_line(original).words


def test_an_approved_reversal_s_trace_reaches_back_for_its_request(
    as_staff, site_bank, two_accounts, monkeypatch
):
    # Windows smaller than the gap below, so reading must go on past one.
    monkeypatch.setattr(trace_reading, "READ_SIZE", 3)
    ada, _ = two_accounts
    deposit = site_bank.accounts.deposit(ada, "1500.00")
    request = site_bank.accounts.reversals.reverse(deposit, ada, "carol", "Bounced")

    waiting = as_staff.get(url(request.transaction_id)).content.decode()
    original = as_staff.get(url(deposit)).content.decode()

    assert rows(waiting) == [("accounts", "Requested")]
    assert reversal_line(waiting).element(id="trace-reverses")["href"] == url(deposit)
    pending = reversal_line(original).element("a", id="trace-reversed-by")
    assert pending["data-status"] == "pending"
    assert "waits for approval" in reversal_line(original).words

    # More saves than one save spans, between the request and its approval.
    for _ in range(6):
        site_bank.accounts.deposit(ada, "1.00")
    site_bank.accounts.reversals.approve(request.id, "dave")

    html = as_staff.get(url(request.transaction_id)).content.decode()

    assert rows(html) == [
        ("accounts", "Requested"),
        ("accounts", "Reversed"),
        ("ledger", "DepositReversed"),
        ("transactions", "TransactionLogged"),
    ]
    assert set(followers(html)) == {"Requested", "Reversed"}
    done = reversal_line(as_staff.get(url(deposit)).content.decode())
    assert done.element(id="trace-reversed-by")["data-status"] == "carried out"


def test_a_transaction_never_reversed_says_nothing_of_reversals(
    as_staff, site_bank, two_accounts
):
    ada, _ = two_accounts
    transaction_id = site_bank.accounts.deposit(ada, "1.00")
    assert reversal_line(as_staff.get(url(transaction_id)).content.decode()) is None


def test_a_reversal_asked_for_again_names_what_it_reverses(
    as_staff, site_bank, two_accounts
):
    ada, _ = two_accounts
    deposit = site_bank.accounts.deposit(ada, "5000.00")
    reversals = site_bank.accounts.reversals
    first = reversals.reverse(deposit, ada, "carol", "Bounced")
    reversals.reject(first.id, "dave", "It cleared")

    rejected = as_staff.get(url(deposit)).content.decode()
    again = reversals.reverse(deposit, ada, "dave", "Bounced now")
    html = as_staff.get(url(again.transaction_id)).content.decode()

    said = reversal_line(rejected)
    assert said.element(id="trace-reversed-by")["data-status"] == "rejected"
    assert "rejected by dave" in said.words
    # Only the request made again carries this transaction id.
    assert rows(html) == [("accounts", "RequestedAgain")]
    assert reversal_line(html).element(id="trace-reverses")["href"] == url(deposit)
