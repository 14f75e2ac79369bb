"""Site-wide views: logging in and out, the health check, trouble pages."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import OperationalError as DjangoOperationalError
from django.db import connection
from django.test import RequestFactory
from eventsourcing.persistence import OperationalError

from esbank_site import bank
from esbank_site.persistence.schema import check_tables_are_migrated
from esbank_site.web import views
from tests.support.html import Element, parse
from tests.support.http import HX


def test_login_page_logs_a_customer_in_to_the_dashboard(client, alice):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-secret-1"},
        follow=True,
    )
    assert response.redirect_chain == [("/", 302)]
    assert "Your accounts" in response.content.decode()


def test_wrong_password_is_refused_on_the_login_page(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "nope"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in (response.content.decode())


def test_login_returns_to_the_page_asked_for(client, alice, alice_account):
    response = client.post(
        f"/accounts/login/?next=/accounts/{alice_account}/",
        {
            "username": "alice",
            "password": "alice-secret-1",
            "next": f"/accounts/{alice_account}/",
        },
    )
    assert response["Location"] == f"/accounts/{alice_account}/"


def test_logout_is_a_post_and_ends_the_session(alice_client):
    assert alice_client.get("/accounts/logout/").status_code == 405
    response = alice_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert alice_client.get("/").status_code == 302


def test_every_page_offers_logout_and_names_the_user(alice_client, staff_client):
    customer = alice_client.get("/").content.decode()
    staff = staff_client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in customer
    assert "Customer</span>" in customer
    assert "Staff</span>" in staff
    assert 'href="/staff/transactions/"' in staff
    assert 'href="/staff/transactions/"' not in customer


# Health: the status for everyone, the details for staff.


def failing_processors(django_bank, monkeypatch):
    failing = [
        replace(status, failing=True, failures=1, last_error="ValueError: boom")
        for status in django_bank.processor_status()
    ]
    monkeypatch.setattr(bank.get_bank(), "processor_status", lambda: failing)


def unreachable_database(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection to db.internal:5432 refused")

    monkeypatch.setattr(bank.get_bank(), "processor_status", unreachable)


def test_health_tells_anyone_the_status_only(client, alice_client, alice_account):
    for caller in (client, alice_client):
        response = caller.get("/health/")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_health_gives_staff_the_database_and_each_processor(
    staff_client, alice_account
):
    response = staff_client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert {"Ledger", "Transactions"} <= set(body["processors"])
    ledger = body["processors"]["Ledger"]
    assert ledger["lag"] == 0
    assert ledger["last_error"] is None
    assert ledger["position"] == ledger["leader_position"] > 0
    assert ledger["held_by"] is None  # SQLite: no separate worker
    assert ledger["processed_here"] is True


def test_health_is_degraded_not_down_when_a_processor_fails(
    client, staff_client, django_bank, monkeypatch
):
    failing_processors(django_bank, monkeypatch)
    response = client.get("/health/")
    # Commands are still recorded: a load balancer keeps this process.
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}
    details = staff_client.get("/health/")
    assert details.status_code == 200
    assert details.json()["status"] == "degraded"
    assert details.json()["processors"]["Ledger"]["last_error"] == "ValueError: boom"


def test_health_is_degraded_when_nothing_processes_the_followers(
    client, django_bank, monkeypatch
):
    # A web process that processes nothing itself, and no worker holds them.
    monkeypatch.setattr(bank.get_bank(), "process_inline", False)
    monkeypatch.setattr(bank.get_bank(), "poll_interval", None)
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}


def test_health_is_down_503_without_the_error_when_the_database_is_unreachable(
    client, staff_client, django_bank, monkeypatch
):
    unreachable_database(monkeypatch)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"status": "down"}
    assert "5432" not in response.content.decode()
    details = staff_client.get("/health/")
    assert details.status_code == 503
    assert details.json()["database"] == "unreachable"
    assert "db.internal:5432" in details.json()["error"]


def test_health_answers_json_to_a_signed_in_browser_when_the_database_is_down(
    staff_client, django_bank, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    # The session's user cannot be read either: the status, without details.
    monkeypatch.setattr("django.contrib.auth.get_user", unreachable)
    unreachable_database(monkeypatch)
    response = staff_client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


@pytest.mark.parametrize("trouble", ["none", "failing", "unreachable"])
def test_health_answers_head_with_the_status_and_no_body(
    client, django_bank, monkeypatch, trouble
):
    if trouble == "failing":
        failing_processors(django_bank, monkeypatch)
    elif trouble == "unreachable":
        unreachable_database(monkeypatch)
    get = client.get("/health/")
    head = client.head("/health/")
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head["Content-Type"] == "application/json"
    assert head.get("Retry-After") == get.get("Retry-After")


def test_health_is_never_cached(client, django_bank):
    assert "no-cache" in client.get("/health/")["Cache-Control"]


# The 500 handler turns database trouble raised outside views into a 503.


def test_server_error_handler_answers_database_trouble_with_503(django_bank):
    request = RequestFactory().get("/")
    try:
        raise DjangoOperationalError("database is locked")
    except DjangoOperationalError:
        response = views.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_server_error_handler_is_a_plain_500_otherwise(django_bank):
    request = RequestFactory().get("/")
    try:
        raise ValueError
    except ValueError:
        response = views.server_error(request)
    assert response.status_code == 500


def test_trouble_page_for_htmx_is_a_notice_not_a_page(
    alice_client, alice_account, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(bank.get_bank().accounts, "get_recent_statement", unreachable)
    response = alice_client.get(f"/accounts/{alice_account}/summary/", headers=HX)
    assert response.status_code == 503
    [first, *_] = parse(response.content.decode()).children
    assert isinstance(first, Element)
    assert first.matches("div", class_="notice notice-error")


@pytest.mark.django_db(transaction=True)
def test_the_bank_refuses_to_start_before_migrate():
    check_tables_are_migrated(connection)  # migrated: no complaint
    call_command("migrate", "esbank_site", "zero", verbosity=0)
    try:
        with pytest.raises(
            ImproperlyConfigured, match=r"run `manage\.py migrate` first"
        ):
            check_tables_are_migrated(connection)
    finally:
        call_command("migrate", verbosity=0)
