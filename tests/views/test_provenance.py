"""A request's events say who asked and which request it was.

The deposit's event records the signed-in user's username and the request's
id, the one the response sends back in ``X-Request-ID``; the staff timeline
shows both on the event, apart from its data.
"""

from __future__ import annotations

from accounts.domain import Account
from tests.support.html import element
from tests.support.http import HX


def last_event(django_bank, account_id):
    return list(django_bank.accounts.events.get(account_id))[-1]


def test_a_deposit_records_the_user_and_the_request_id(
    alice_client, django_bank, alice_account
):
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "12.34"}, headers=HX
    )
    assert response.status_code == 200
    deposited = last_event(django_bank, alice_account)
    assert isinstance(deposited, Account.Deposited)
    assert deposited.actor == "alice"
    assert deposited.correlation_id == response.headers["X-Request-ID"]
    assert deposited.causation == ""


def test_a_request_id_given_by_a_proxy_becomes_the_correlation_id(
    alice_client, django_bank, alice_account
):
    alice_client.post(
        f"/accounts/{alice_account}/withdraw/",
        {"amount": "1.00"},
        headers={"X-Request-ID": "lb-7f3e9a"},
    )
    withdrawn = last_event(django_bank, alice_account)
    assert isinstance(withdrawn, Account.Withdrawn)
    assert (withdrawn.actor, withdrawn.correlation_id) == ("alice", "lb-7f3e9a")


def test_the_timeline_shows_actor_and_request_on_each_event(
    alice_client, staff_client, django_bank, alice_account
):
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/", {"amount": "12.34"}, headers=HX
    )
    request_id = response.headers["X-Request-ID"]

    html = staff_client.get(f"/staff/accounts/{alice_account}/events/").content
    newest = element(html.decode(), "li", data_version="3")
    line = newest.element("p", class_="event-provenance muted")
    assert line.element(class_="event-actor").text == "alice"
    assert line.element(class_="event-correlation").text == request_id
    data = newest.element("dl", class_="event-data")
    data_names = {dt.text for dt in data.elements("dt")}
    assert data_names.isdisjoint({"actor", "correlation_id", "causation"})
    # Opened and paid into by the fixture, outside any request.
    opened = element(html.decode(), "li", data_version="1")
    assert opened.element(class_="event-actor").text == "system"
    assert not opened.elements(class_="event-correlation")
