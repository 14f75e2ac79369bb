"""Input at the edge: refused with a clear 4xx, never a 5xx or "database trouble".

On SQLite and PostgreSQL (the views on this test's bank, ``site_bank``):

- Page numbers of the staff's accounts list beyond any page, or beyond what
  a 64-bit integer holds, show the last page (they were a 500 on SQLite and
  a 503 "cannot reach its records" on PostgreSQL).
- NUL in a query string, a form, a cookie or HTTP Basic credentials is a
  400 saying so (a search for it was a 503 on PostgreSQL, logged as
  database trouble).
- Names and references that would show as blank or reverse the text's
  direction are a 422 with the reason next to the field.

Nothing refused records an event, and nothing is logged as database
trouble. The last test sends the same requests to gunicorn on PostgreSQL,
where Django's own tables (users, sessions) are on PostgreSQL too.
"""

from __future__ import annotations

import base64
import http.client
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.errors import InvalidAccountNameError, InvalidDescriptionError
from esbank_site.operations.audit import audit
from esbank_site.web.input_guard import MESSAGE as NUL_REFUSED
from tests.support.http import HX
from tests.support.http_workload import (
    HttpClient,
    Recorder,
    create_site_users,
    gunicorn_site,
    report_line,
    unthrottled,
)

if TYPE_CHECKING:
    from pathlib import Path
    from uuid import UUID

    from esbank_site.bank import Bank

INT64_MAX = "9223372036854775807"
# The staff's list shows 25 accounts a page: 31 accounts make two pages.
ACCOUNTS = 31
TROUBLE = "Database trouble"
FORM = "application/x-www-form-urlencoded"


class Edge:
    """The site on this test's bank: a customer, staff, and what was recorded."""

    def __init__(self, bank: Bank, users: dict[str, Any]) -> None:
        self.bank = bank
        self.users = users
        self.clients = {"anonymous": Client()}
        for role, user in users.items():
            self.clients[role] = Client()
            self.clients[role].force_login(user)
        self.own = bank.accounts.open_account("alice", "Everyday")
        bank.accounts.deposit(self.own, "100.00")
        self.requests = 0

    def head(self) -> int:
        return self.bank.accounts.recorder.max_notification_id() or 0

    def ask(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        """One request, which must record nothing; a dict of data is a form."""
        if isinstance(kwargs.get("data"), dict):
            kwargs |= {"data": urlencode(kwargs["data"]), "content_type": FORM}
        before = self.head()
        response = self.clients[role].generic(method, path, **kwargs)
        self.requests += 1
        assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, (
            path,
            response.status_code,
        )
        assert self.head() == before, (method, path, "recorded events")
        return response


@pytest.fixture
def edge(
    site_bank: Bank, transactional_db: None, settings: Any, django_user_model: Any
) -> Edge:
    unthrottled(settings)
    users = {
        "alice": django_user_model.objects.create_user("alice", password="pw-alice-1"),
        "staff": django_user_model.objects.create_user(
            "staff", password="pw-staff-1", is_staff=True
        ),
    }
    return Edge(site_bank, users)


def engine_of(database: dict[str, Any]) -> str:
    return str(database["ENGINE"]).rsplit(".", 1)[-1]


def no_database_trouble(caplog: pytest.LogCaptureFixture) -> None:
    trouble = [r.getMessage() for r in caplog.records if TROUBLE in r.getMessage()]
    assert trouble == []


# Pages.

BEYOND_THE_LAST = [
    INT64_MAX,
    "9223372036854775808",
    "1" + "0" * 40,
    "1000001",
    "1000000",
    "3",
]
NOT_A_PAGE = ["0", "-1", f"-{INT64_MAX}", "2.5", "1e9", "banana", "", "9" * 5000]


def test_pages_beyond_the_last_show_the_last_page(
    edge: Edge, database: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(ACCOUNTS - 1):
        # Spread over owners: one may hold a limited number of accounts.
        owner = f"customer{number % 3}"
        edge.bank.accounts.open_account(owner, f"Account {number}")
    edge.bank.wait_until_processed()
    answered = 0
    for page in BEYOND_THE_LAST:
        for path, headers in (
            (f"/?page={page}", {}),
            (f"/accounts/panel/?page={page}", HX),
        ):
            response = edge.ask("staff", "GET", path, headers=headers)
            answered += 1
            assert response.status_code == HTTPStatus.OK, (path, response.status_code)
            html = response.content.decode()
            assert "Page 2 of 2" in html, path
            assert "Account 29<" in html, path  # the newest: the list is oldest first
    for page in NOT_A_PAGE:
        response = edge.ask("staff", "GET", f"/?page={page}")
        answered += 1
        assert response.status_code == HTTPStatus.OK, page[:20]
        assert "Page 1 of 2" in response.content.decode(), page[:20]
    no_database_trouble(caplog)
    print(report_line(f"page numbers ({engine_of(database)})", answered=answered))


# NUL.


def basic(credentials: str) -> dict[str, str]:
    encoded = base64.b64encode(credentials.encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


NulRequest = tuple[str, str, str, str, dict[str, str]]


def nul_requests(own: UUID) -> list[NulRequest]:
    """(who, method, path, form body, headers) of requests carrying NUL."""
    account = f"/accounts/{own}"
    feed = "/staff/notifications/1,10/"
    return [
        ("staff", "GET", "/accounts/panel/?q=%00", "", HX),
        ("staff", "GET", "/?q=a%00b", "", {}),
        ("staff", "GET", "/?sort=%00&page=2", "", {}),
        ("staff", "GET", f"/staff/accounts/{own}/events/?version=%00", "", {}),
        ("alice", "GET", f"{account}/?before=%00", "", {}),
        ("alice", "GET", "/?%00=1", "", {}),
        ("alice", "POST", f"{account}/deposit/", "amount=1&description=a%00b", {}),
        ("alice", "POST", f"{account}/deposit/", "amount=1&token=%00", HX),
        ("alice", "POST", f"{account}/withdraw/", "amount=1%00", {}),
        ("alice", "POST", "/accounts/open/", "name=%00", {}),
        ("alice", "POST", "/accounts/open/", "name=Savings&x%00=1", {}),
        ("anonymous", "GET", feed, "", basic("staff\x00:pw")),
        ("anonymous", "GET", "/staff/notifications/", "", basic("staff:pw\x00")),
        ("alice", "GET", feed, "", basic("\x00:\x00")),
        ("anonymous", "POST", "/accounts/login/", "username=alice%00&password=x", {}),
        ("anonymous", "GET", "/accounts/login/?next=/%00", "", {}),
    ]


def test_nul_anywhere_is_a_400_that_says_so(
    edge: Edge, database: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    statuses = []
    for who, method, path, body, headers in nul_requests(edge.own):
        response = edge.ask(
            who, method, path, data=body, content_type=FORM, headers=headers
        )
        statuses.append(response.status_code)
        assert response.status_code == HTTPStatus.BAD_REQUEST, (who, path, body)
        if "Authorization" in headers:
            assert response.json() == {"error": NUL_REFUSED}
        else:
            assert NUL_REFUSED in response.content.decode(), path
    # In a cookie: the session cookie, or any other.
    for name in ("sessionid", "theme"):
        client = Client()
        client.force_login(edge.users["alice"])
        client.cookies[name] = "abc\x00defghijk"
        response = client.get("/")
        statuses.append(response.status_code)
        assert response.status_code == HTTPStatus.BAD_REQUEST, name
    # Anonymous visitors are sent to log in before their form is read.
    deposit = f"/accounts/{edge.own}/deposit/"
    response = edge.ask(
        "anonymous", "POST", deposit, data="amount=%00", content_type=FORM
    )
    assert response.status_code == HTTPStatus.FOUND
    no_database_trouble(caplog)
    assert edge.bank.accounts.get_account(edge.own).balance == 100
    print(
        report_line(
            f"NUL refused ({engine_of(database)})",
            requests=len(statuses),
            statuses=sorted(set(statuses)),
        )
    )


# Names and references.

UNREADABLE = {
    "zero-width": ("\u200b\u200b", "would show as blank"),
    "Hangul filler": ("\u3164", "would show as blank"),
    "combining marks": ("\u0301\u0302", "would show as blank"),
    "C1 controls": ("\x85\x9f", "would show as blank"),
    "DEL": ("\x7f", "would show as blank"),
    "right-to-left override": ("Rent \u202e1 flat", "reverses text direction"),
    "isolate": ("\u2067Rent", "reverses text direction"),
    "Arabic letter mark": ("Rent\u061c", "reverses text direction"),
}


@pytest.mark.parametrize(("text", "reason"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_names_and_references_are_422_and_record_nothing(
    edge: Edge, text: str, reason: str
) -> None:
    for headers in ({}, HX):
        opened = edge.ask(
            "alice", "POST", "/accounts/open/", data={"name": text}, headers=headers
        )
        assert opened.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
        assert reason in opened.content.decode()
        paid = edge.ask(
            "alice",
            "POST",
            f"/accounts/{edge.own}/deposit/",
            data={"amount": "5.00", "description": text, "token": "t"},
            headers=headers,
        )
        assert paid.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
        assert reason in paid.content.decode()
    assert edge.bank.accounts.list_owner_account_ids("alice") == [edge.own]


def test_readable_names_in_any_script_are_accepted(edge: Edge) -> None:
    for name in ("한국 계좌", "حساب", "Cafe\u0301", "👨\u200d👩\u200d👧"):
        response = edge.clients["alice"].post("/accounts/open/", {"name": name})
        assert response.status_code == HTTPStatus.FOUND, name
    names = [
        edge.bank.accounts.get_account(i).name
        for i in edge.bank.accounts.list_owner_account_ids("alice")
    ]
    assert names == [
        "Everyday",
        "한국 계좌",
        "حساب",
        "Cafe\u0301",
        "👨\u200d👩\u200d👧",
    ]
    edge.bank.wait_until_processed()
    report = audit(edge.bank)
    assert report.ok, report.problems


def test_a_name_with_nul_never_reaches_the_accounts_list(bank: Bank) -> None:
    """PostgreSQL's list could never record it: it stopped at that event for good."""
    head = bank.accounts.recorder.max_notification_id()
    with pytest.raises(InvalidAccountNameError, match="control character"):
        bank.accounts.open_account("ada", "Rent\x00")
    with pytest.raises(InvalidDescriptionError, match="control character"):
        bank.accounts.deposit(
            bank.accounts.open_account("ada", "Ok"), "1", description="a\x00"
        )
    bank.wait_until_processed()
    # The one account opened: Opened, its number and two index entries.
    assert bank.accounts.recorder.max_notification_id() == (head or 0) + 4
    assert not any(status.failing for status in bank.processor_status())


# Through gunicorn, on PostgreSQL throughout.


def raw_get(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.mark.multiprocess
def test_input_at_the_edge_through_gunicorn_on_postgres(tmp_path: Path) -> None:
    with gunicorn_site(tmp_path, workers=1) as site:
        create_site_users(site, ["alice", "staff"], staff=("staff",))
        [own] = site.accounts_for(["alice"], 1, "10.00")["alice"]
        site.settle()
        staff = HttpClient(site.base_url, "staff", Recorder())
        staff.log_in()
        alice = HttpClient(site.base_url, "alice", Recorder())
        alice.log_in()
        answers = {
            "staff: huge page": staff.get(f"/?page={INT64_MAX}").status,
            "staff: panel, huge page": staff.get(
                f"/accounts/panel/?page={INT64_MAX}", htmx=True
            ).status,
            "staff: search for NUL": staff.get(
                "/accounts/panel/?q=%00", htmx=True
            ).status,
            "alice: open, name NUL": alice.post(
                "/accounts/open/", {"name": "a\x00b"}
            ).status,
            "alice: open, name reversed": alice.post(
                "/accounts/open/", {"name": "\u202eabc"}
            ).status,
            "anonymous: feed, NUL in Basic username": raw_get(
                site.base_url,
                "/staff/notifications/1,10/",
                basic("staff\x00:whatever"),
            )[0],
            "staff: account, huge statement page": staff.get(
                f"/accounts/{own}/?before={INT64_MAX}0"
            ).status,
        }
        health = json.loads(raw_get(site.base_url, "/health/", {})[1])
        print(report_line("through gunicorn (postgres)", **answers))
        assert answers == {
            "staff: huge page": 200,
            "staff: panel, huge page": 200,
            "staff: search for NUL": 400,
            "alice: open, name NUL": 400,
            "alice: open, name reversed": 422,
            "anonymous: feed, NUL in Basic username": 400,
            "staff: account, huge statement page": 200,
        }
        assert health["status"] == "ok"
