"""The staff feed: who may read it, and that it serves the library's sections."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.signals import user_logged_in
from eventsourcing.interface import NotificationLogJSONService

from tests.support.feed import CUSTOMER_PASSWORD, STAFF_PASSWORD, basic
from tests.support.http import signed_in

FEED = "/staff/notifications/"


def test_index_redirects_to_the_first_section(staff):
    response = signed_in(staff).get(FEED)
    assert response.status_code == 302
    assert response["Location"] == "/staff/notifications/1,10/"


def test_staff_session_reads_the_library_json_of_a_section(history, staff):
    response = signed_in(staff).get(f"{FEED}1,10/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    service = NotificationLogJSONService(history.accounts)
    assert response.content.decode() == service.get_log_section("1,10")
    section = json.loads(response.content)
    local = history.accounts.notification_log["1,10"]
    assert section["id"] == "1,10"
    assert section["next_id"] == "11,20"
    assert [item["id"] for item in section["items"]] == [n.id for n in local.items]
    assert [item["topic"] for item in section["items"]] == [
        n.topic for n in local.items
    ]


def test_sections_link_to_the_end_of_the_log(history, staff):
    client = signed_in(staff)
    head = history.accounts.recorder.max_notification_id()
    assert head == 16
    ids, section_id = [], "1,10"
    while section_id is not None:
        section = client.get(f"{FEED}{section_id}/").json()
        ids += [item["id"] for item in section["items"]]
        section_id = section["next_id"]
    assert ids == list(range(1, head + 1))
    assert client.get(f"{FEED}11,20/").json()["id"] == "11,16"


def test_a_section_past_the_end_is_empty(history, staff):
    response = signed_in(staff).get(f"{FEED}101,110/")
    assert response.status_code == 200
    assert response.json() == {"id": None, "next_id": None, "items": []}


def test_the_largest_notification_id_is_a_valid_empty_section(django_bank, staff):
    largest = 2**63 - 1
    response = signed_in(staff).get(f"{FEED}{largest - 1},{largest}/")
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_basic_credentials_of_staff_read_the_feed(history, staff, client):
    response = client.get(f"{FEED}1,10/", headers=basic("feeder", STAFF_PASSWORD))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 10


def test_basic_credentials_log_the_client_in_once(history, staff, client):
    logins = []

    def count(sender, user, **kwargs):
        logins.append(user.username)

    user_logged_in.connect(count)
    try:
        headers = basic("feeder", STAFF_PASSWORD)
        assert client.get(f"{FEED}1,10/", headers=headers).status_code == 200
        assert client.get(f"{FEED}11,20/", headers=headers).status_code == 200
        # The session cookie alone now reads the feed.
        assert client.get(f"{FEED}11,20/").status_code == 200
    finally:
        user_logged_in.disconnect(count)
    assert logins == ["feeder"]


@pytest.mark.parametrize(
    "headers",
    [
        basic("feeder", "wrong-password"),
        basic("nobody", STAFF_PASSWORD),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + "ZmVlZGVy"},  # "feeder", no colon
        {"Authorization": "Bearer abc"},
        {},
    ],
    ids=["wrong-password", "unknown-user", "not-base64", "no-colon", "bearer", "none"],
)
def test_anonymous_clients_are_challenged_not_redirected(staff, client, headers):
    response = client.get(f"{FEED}1,10/", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Basic realm="Event Sourced Bank staff feed", charset="UTF-8"'
    )
    assert "staff" in response.json()["error"]


def test_the_index_challenges_anonymous_clients_too(staff, client):
    assert client.get(FEED).status_code == 401


def test_inactive_staff_are_refused(staff, client):
    staff.is_active = False
    staff.save()
    response = client.get(f"{FEED}1,10/", headers=basic("feeder", STAFF_PASSWORD))
    assert response.status_code == 401


def test_customers_are_forbidden_by_session_or_basic(customer, client):
    assert signed_in(customer).get(f"{FEED}1,10/").status_code == 403
    response = client.get(f"{FEED}1,10/", headers=basic("carol", CUSTOMER_PASSWORD))
    assert response.status_code == 403
    assert response.json() == {"error": "The feed is for staff only."}
    assert signed_in(customer).get(FEED).status_code == 403


def test_a_customer_session_with_staff_credentials_reads_the_feed(
    customer, staff, history
):
    client = signed_in(customer)
    response = client.get(f"{FEED}1,10/", headers=basic("feeder", STAFF_PASSWORD))
    assert response.status_code == 200


def test_wrong_credentials_are_refused_even_with_a_customer_session(customer, staff):
    client = signed_in(customer)
    response = client.get(f"{FEED}1,10/", headers=basic("feeder", "wrong"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "section_id",
    [
        "abc",
        "1",
        "1,",
        ",10",
        "1,2,3",
        "0,10",
        "10,1",
        "-1,5",
        "1.5,10",
        " 1,10",
        "1;10",
        "99999999999999999999,99999999999999999999",
        f"{2**63},{2**63}",
    ],
)
def test_malformed_section_ids_are_a_400_that_explains(staff, section_id):
    response = signed_in(staff).get(f"{FEED}{section_id}/")
    assert response.status_code == 400
    assert "is not a section id" in response.json()["error"]


def test_only_get_is_allowed(staff):
    response = signed_in(staff).post(f"{FEED}1,10/")
    assert response.status_code == 405
