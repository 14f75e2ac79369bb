"""A signed-in session: never cached, and ended after idle minutes.

Browsers keep pages in their history and cache: every response to a
signed-in user says ``Cache-Control: no-store``, so Back after logout shows
nothing of the statements. A session left idle for
``ESBANK_SESSION_IDLE_MINUTES`` ends; the next request goes to the login
page, which says why. A panel refreshing itself on a timer is not activity.
The clock is ``esbank_site.web.sessions.now``, moved by the tests.
"""

from __future__ import annotations

import base64
import time
from http import HTTPStatus

import pytest
from django.db import OperationalError
from django.test import Client

from esbank_site.web import sessions
from tests.support.http import HX

# What bank.js adds to a request that a panel's timer made ("every 5s").
POLL = HX | {sessions.POLL_HEADER: "true"}
MINUTE = 60
LOGIN = "/accounts/login/"
TIMED_OUT_LOGIN = f"{LOGIN}?{sessions.TIMED_OUT}=1"


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


# Cache-Control: no-store on every response to a signed-in user.


@pytest.mark.parametrize(
    ("who", "request_line", "headers"),
    [
        ("alice", "GET /", {}),
        ("alice", "GET /accounts/{own}/", {}),
        ("alice", "GET /accounts/{own}/summary/", HX),
        ("alice", "GET /accounts/panel/", HX),
        ("alice", "POST /accounts/{own}/deposit/", HX),
        ("alice", "GET /accounts/00000000-0000-0000-0000-000000000000/", {}),
        ("staff", "GET /", {}),
        ("staff", "GET /staff/accounts/{own}/events/", {}),
        ("staff", "GET /staff/accounts/{own}/events/", HX),
        ("staff", "GET /staff/ledger/", HX),
        ("staff", "GET /staff/transactions/", {}),
        ("staff", "GET /staff/notifications/1,10/", {}),
    ],
    ids=[
        "customer-dashboard",
        "customer-account-page",
        "customer-summary-fragment",
        "customer-account-list-fragment",
        "customer-deposit-command",
        "customer-404",
        "staff-dashboard",
        "staff-timeline-page",
        "staff-timeline-fragment",
        "staff-ledger-fragment",
        "staff-transactions-page",
        "staff-feed",
    ],
)
def test_responses_to_signed_in_users_are_never_stored(
    request, alice_account, who, request_line, headers
):
    client = request.getfixturevalue(f"{who}_client")
    method, path = request_line.split()
    response = client.generic(
        method,
        path.format(own=alice_account),
        data="amount=1.00&token=no-store" if method == "POST" else "",
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code < 500
    assert no_store(response), dict(response.headers)
    assert "private" in response["Cache-Control"]


def test_the_feed_read_with_http_basic_is_never_stored(staff):
    credentials = base64.b64encode(b"staff:staff-secret-1").decode()
    response = Client().get(
        "/staff/notifications/1,10/",
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == HTTPStatus.OK
    assert no_store(response)


# Idle timeout.


class Clock:
    """The time the idle timeout reads, moved by hand.

    It starts at the real time, just after the fixtures' users logged in.
    """

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch, settings) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sessions, "now", clock)
    assert settings.ESBANK_SESSION_IDLE_MINUTES == 15  # the default
    return clock


def idle_limit(settings) -> int:
    return settings.ESBANK_SESSION_IDLE_MINUTES * MINUTE


def test_a_session_idle_past_the_limit_goes_to_the_login_page(
    alice_client, alice_account, clock, settings
):
    page = f"/accounts/{alice_account}/"
    assert alice_client.get(page).status_code == HTTPStatus.OK
    clock.advance(idle_limit(settings) + 1)
    response = alice_client.get(page)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{TIMED_OUT_LOGIN}&next={page}"
    assert "_auth_user_id" not in alice_client.session
    # Signed out for good: coming back later is an ordinary redirect.
    again = alice_client.get(page)
    assert again["Location"] == f"{LOGIN}?next={page}"
    login = alice_client.get(response["Location"])
    assert "signed out because you were inactive" in login.content.decode()


def test_the_login_page_says_nothing_of_inactivity_otherwise(client):
    assert "inactive" not in client.get(LOGIN).content.decode()


def test_an_active_session_continues_past_the_limit(
    alice_client, alice_account, clock, settings
):
    page = f"/accounts/{alice_account}/"
    statuses = []
    for _ in range(6):
        statuses.append(alice_client.get(page).status_code)
        clock.advance(idle_limit(settings) - MINUTE)
    print(
        f"\nactive session: {len(statuses)} requests "
        f"{(idle_limit(settings) - MINUTE) // MINUTE} minutes apart, {statuses}"
    )
    assert statuses == [HTTPStatus.OK] * 6


def test_polling_panels_do_not_keep_a_session_alive(
    alice_client, alice_account, clock, settings
):
    page = f"/accounts/{alice_account}/"
    summary = f"{page}summary/"
    poll = POLL | {"HX-Current-URL": f"http://testserver{page}"}
    assert alice_client.get(page).status_code == HTTPStatus.OK
    # A poll every few minutes, the last a second before the limit.
    polls = []
    for wait in (5 * MINUTE, 5 * MINUTE, idle_limit(settings) - 10 * MINUTE - 1):
        clock.advance(wait)
        polls.append(alice_client.get(summary, headers=poll).status_code)
    assert polls == [HTTPStatus.OK] * 3
    clock.advance(2)
    response = alice_client.get(summary, headers=poll)
    # htmx follows HX-Redirect with a full page load: the login page.
    assert response["HX-Redirect"] == (
        f"{TIMED_OUT_LOGIN}&next=/accounts/{alice_account}/"
    )
    assert "_auth_user_id" not in alice_client.session


def test_an_htmx_command_after_the_limit_records_nothing(
    alice_client, alice_account, clock, settings, django_bank
):
    assert alice_client.get("/").status_code == HTTPStatus.OK
    head = django_bank.accounts.recorder.max_notification_id()
    clock.advance(idle_limit(settings) + 1)
    response = alice_client.post(
        f"/accounts/{alice_account}/deposit/",
        {"amount": "5.00", "token": "late"},
        headers=HX | {"HX-Current-URL": f"http://testserver/accounts/{alice_account}/"},
    )
    assert response["HX-Redirect"].startswith(TIMED_OUT_LOGIN)
    assert django_bank.accounts.recorder.max_notification_id() == head


def test_activity_is_written_at_most_once_a_minute(alice_client, clock):
    alice_client.get("/")
    first = alice_client.session[sessions.LAST_ACTIVITY]
    clock.advance(30)
    alice_client.get("/")
    assert alice_client.session[sessions.LAST_ACTIVITY] == first
    clock.advance(31)
    alice_client.get("/")
    assert alice_client.session[sessions.LAST_ACTIVITY] == clock.now


def test_zero_minutes_switches_the_idle_timeout_off(alice_client, clock, settings):
    settings.ESBANK_SESSION_IDLE_MINUTES = 0
    alice_client.get("/")
    clock.advance(24 * 60 * MINUTE)
    assert alice_client.get("/").status_code == HTTPStatus.OK


def test_the_cookie_ends_with_the_browser_and_the_stored_session_soon_after(
    settings,
):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert (
        settings.SESSION_COOKIE_AGE
        == (settings.ESBANK_SESSION_IDLE_MINUTES + 60) * MINUTE
    )


def test_logging_in_starts_the_clock(alice, clock):
    client = Client()
    client.post(LOGIN, {"username": "alice", "password": "alice-secret-1"})
    assert client.session[sessions.LAST_ACTIVITY] == clock.now


def test_a_write_the_database_refuses_costs_the_stamp_not_the_answer(
    alice_client, clock, monkeypatch, caplog
):
    alice_client.get("/")
    first = alice_client.session[sessions.LAST_ACTIVITY]
    clock.advance(2 * MINUTE)

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(type(alice_client.session), "save", locked)
    response = alice_client.get("/")
    monkeypatch.undo()
    assert response.status_code == HTTPStatus.OK
    assert alice_client.session[sessions.LAST_ACTIVITY] == first
    assert "Session activity not recorded" in caplog.text
