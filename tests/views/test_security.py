"""Security headers, login lockout, the money-moving throttle, error pages."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from esbank_site.web import security
from tests.support.http import HX

LOGIN = "/accounts/login/"


@pytest.fixture
def frozen_clock(monkeypatch):
    """The middle of a throttle window, so no test straddles two."""
    now = 1_800_000_030.0
    monkeypatch.setattr(security.time, "time", lambda: now)
    return now


def recorded(django_bank) -> int:
    return django_bank.accounts.recorder.max_notification_id() or 0


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/health/"])
def test_every_response_carries_the_security_headers(alice_client, path):
    response = alice_client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_csp_header_is_the_setting_joined():
    policy = {"default-src": ["'self'"], "img-src": ["'self'", "data:"]}
    assert security.content_security_policy(policy) == (
        "default-src 'self'; img-src 'self' data:"
    )


# Login throttling (django-axes).


def log_in(client: Client, password: str):
    return client.post(LOGIN, {"username": "alice", "password": password})


def test_failed_logins_lock_out_that_username_from_that_address(alice, settings):
    client = Client()
    statuses = [
        log_in(client, "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    # The right password does not help while the lockout lasts.
    locked = log_in(client, "alice-secret-1")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Someone else, elsewhere, still logs in as alice with her password.
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert log_in(elsewhere, "alice-secret-1").status_code == 302


def test_a_successful_login_resets_the_failure_count(alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, "alice-secret-1").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200


def test_feed_basic_auth_is_locked_out_too_with_json(staff, settings):
    client = Client()
    wrong = {"Authorization": "Basic c3RhZmY6d3Jvbmc="}  # staff:wrong
    statuses = [
        client.get("/staff/notifications/1,10/", headers=wrong).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [401] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    right = {"Authorization": "Basic c3RhZmY6c3RhZmYtc2VjcmV0LTE="}
    response = client.get("/staff/notifications/1,10/", headers=right)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.json()["error"]


# The per-user limit on money-moving POSTs.


@override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=3)
@pytest.mark.usefixtures("frozen_clock")
def test_money_posts_beyond_the_limit_are_429_and_move_nothing(
    alice_client, bob_client, django_bank, alice_account, bob_account
):
    url = f"/accounts/{alice_account}/deposit/"
    allowed = [alice_client.post(url, {"amount": "1.00"}).status_code for _ in "abc"]
    before = recorded(django_bank)
    refused = alice_client.post(url, {"amount": "1.00"})
    assert allowed == [302, 302, 302]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert "try again in 30 seconds" in refused.content.decode()
    assert f'href="/accounts/{alice_account}/"' in refused.content.decode()
    assert recorded(django_bank) == before
    assert django_bank.accounts.get_account(alice_account).balance == 103
    # Another customer has a limit of their own.
    bob = bob_client.post(f"/accounts/{bob_account}/withdraw/", {"amount": "1.00"})
    assert bob.status_code == 302


@override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=1)
def test_htmx_gets_a_notice_and_retry_after(alice_client, alice_account, frozen_clock):
    url = f"/accounts/{alice_account}/transfer/"
    alice_client.post(url, {"amount": "1.00", "to_account": "x"}, headers=HX)
    response = alice_client.post(url, {"amount": "1.00"}, headers=HX)
    assert response.status_code == 429
    assert "<html" not in response.content.decode()
    assert 'data-status="429"' in response.content.decode()
    assert int(response["Retry-After"]) == 30


@override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=1)
def test_the_limit_starts_again_next_minute(
    alice_client, alice_account, monkeypatch, frozen_clock
):
    url = f"/accounts/{alice_account}/withdraw/"
    assert alice_client.post(url, {"amount": "1.00"}).status_code == 302
    assert alice_client.post(url, {"amount": "1.00"}).status_code == 429
    monkeypatch.setattr(security.time, "time", lambda: frozen_clock + 30)
    assert alice_client.post(url, {"amount": "1.00"}).status_code == 302


@override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=1)
@pytest.mark.usefixtures("frozen_clock")
def test_pages_and_other_commands_are_not_counted(alice_client, alice_account):
    for _ in range(3):
        assert alice_client.get(f"/accounts/{alice_account}/").status_code == 200
        assert alice_client.post("/accounts/open/", {"name": "x"}).status_code == 302
    deposit = f"/accounts/{alice_account}/deposit/"
    assert alice_client.post(deposit, {"amount": "1.00"}).status_code == 302


@override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=0)
@pytest.mark.usefixtures("frozen_clock")
def test_a_limit_of_zero_switches_the_throttle_off(alice_client, alice_account):
    url = f"/accounts/{alice_account}/deposit/"
    statuses = {alice_client.post(url, {"amount": "1.00"}).status_code for _ in "ab"}
    assert statuses == {302}


# Errors mapped: a message for people, never a stack trace.


def test_wrong_method_is_405_with_a_message_and_allow(alice_client, alice_account):
    response = alice_client.get(f"/accounts/{alice_account}/deposit/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Not available here" in response.content.decode()
    assert "Content-Security-Policy" in response
    # The empty 405's length is not kept: a browser would read no page.
    assert response.get("Content-Length", str(len(response.content))) == str(
        len(response.content)
    )


def test_unknown_host_is_400_with_a_message(client):
    response = client.get("/accounts/login/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Bad request" in body
    assert "Traceback" not in body
    assert "evil.example" not in body


def test_csrf_failure_is_403_with_a_message(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/accounts/open/", {"name": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired" in body
    assert "Traceback" not in body
    assert "cookie not set" not in body  # the reason is logged, not shown


@override_settings(ESBANK_PAYEE_CHECKS_PER_MINUTE=3)
@pytest.mark.usefixtures("frozen_clock")
def test_payee_checks_beyond_the_limit_are_429_without_a_lookup(
    alice_client, bob_client, django_bank, bob_account, monkeypatch
):
    number = django_bank.accounts.get_account(bob_account).number
    allowed = [
        alice_client.get("/accounts/payee/", {"to_account": number}, headers=HX)
        for _ in "abc"
    ]
    assert [r.status_code for r in allowed] == [200, 200, 200]
    looked_up = []
    monkeypatch.setattr(
        django_bank.accounts, "find_account", lambda *a: looked_up.append(a)
    )
    refused = alice_client.get("/accounts/payee/", {"to_account": number}, headers=HX)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert looked_up == []
    page = alice_client.get("/accounts/payee/", {"to_account": number})
    assert page.status_code == 429
    assert "asked whose accounts are too many times" in page.content.decode()
    # Another customer has a limit of their own.
    other = bob_client.get("/accounts/payee/", {"to_account": number}, headers=HX)
    assert other.status_code == 200


@override_settings(ESBANK_PAYEE_CHECKS_PER_MINUTE=0)
def test_no_payee_limit_when_it_is_zero(alice_client, django_bank, bob_account):
    number = django_bank.accounts.get_account(bob_account).number
    answers = {
        alice_client.get("/accounts/payee/", {"to_account": number}).status_code
        for _ in range(40)
    }
    assert answers == {200}
