"""Access matrix: every URL, asked by every kind of visitor.

Five actors: anonymous, the account's owner, another customer, staff, and
an inactive user (signed in, then deactivated). Anonymous and inactive
visitors go to the login page (the feed answers them 401), another
customer's account is the same 404 as a missing one, staff pages are 403
for customers, a wrong method is 405, and no refused request records an
event. Then the forms are tampered with: extra fields, another customer's
account in the URL or in hidden fields, another customer's idempotency
token. Money only ever moves out of the poster's own account.

Every test prints its figures and ends with the independent audit.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from esbank_site.operations.audit import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from esbank_site.bank import Bank

ANONYMOUS, OWNER, OTHER, STAFF, INACTIVE = ACTORS = (
    "anonymous",
    "owner",
    "other",
    "staff",
    "inactive",
)
LOGIN = "/accounts/login/"
# "login": a redirect to the login page; "moved": any other redirect.
TO_LOGIN, MOVED = "login", "moved"
REFUSALS = {TO_LOGIN, 401, 403, 404, 405, 422}
OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# (URL name, method, path, expected answer for each actor in ACTORS).
# {own} is the owner's funded account, {bob} the other customer's, {tx} the
# transaction that funded it.
MATRIX: list[tuple[str, str, str, tuple[Any, ...]]] = [
    ("dashboard", "GET", "/", (TO_LOGIN, 200, 200, 200, TO_LOGIN)),
    ("login", "GET", LOGIN, (200, 200, 200, 200, 200)),
    ("health", "GET", "/health/", (200, 200, 200, 200, 200)),
    (
        "accounts:account_list_hx",
        "GET",
        "/accounts/panel/",
        (TO_LOGIN, 200, 200, 200, TO_LOGIN),
    ),
    (
        # Confirmation of payee: any signed-in user may ask whose a number is.
        "accounts:payee",
        "GET",
        "/accounts/payee/",
        (TO_LOGIN, 200, 200, 200, TO_LOGIN),
    ),
    (
        "accounts:account_detail",
        "GET",
        "/accounts/{own}/",
        (TO_LOGIN, 200, 404, 200, TO_LOGIN),
    ),
    (
        "accounts:account_summary_hx",
        "GET",
        "/accounts/{own}/summary/",
        (TO_LOGIN, 200, 404, 200, TO_LOGIN),
    ),
    (
        "accounts:statement_csv",
        "GET",
        "/accounts/{own}/statement.csv",
        (TO_LOGIN, 200, 404, 200, TO_LOGIN),
    ),
    (
        "accounts:account_events",
        "GET",
        "/staff/accounts/{own}/events/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "ledger:panel_hx",
        "GET",
        "/staff/ledger/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "ledger:transactions",
        "GET",
        "/staff/transactions/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "staff_events",
        "GET",
        "/staff/events/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "latest_events_hx",
        "GET",
        "/staff/events/latest/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "trace",
        "GET",
        "/staff/trace/{tx}/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "feed_page",
        "GET",
        "/staff/feed/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "feed:notification_log",
        "GET",
        "/staff/notifications/",
        (401, 403, 403, MOVED, 401),
    ),
    (
        "feed:log_section",
        "GET",
        "/staff/notifications/1,10/",
        (401, 403, 403, 200, 401),
    ),
    (
        "accounts:deposit",
        "POST",
        "/accounts/{own}/deposit/",
        (TO_LOGIN, MOVED, 404, 403, TO_LOGIN),
    ),
    (
        "accounts:withdraw",
        "POST",
        "/accounts/{own}/withdraw/",
        (TO_LOGIN, MOVED, 404, 403, TO_LOGIN),
    ),
    (
        "accounts:transfer",
        "POST",
        "/accounts/{own}/transfer/",
        (TO_LOGIN, MOVED, 404, 403, TO_LOGIN),
    ),
    (
        # The owner's account still holds money: the bank refuses, 422.
        "accounts:close_account",
        "POST",
        "/accounts/{own}/close/",
        (TO_LOGIN, 422, 404, 403, TO_LOGIN),
    ),
    (
        "accounts:take_snapshot",
        "POST",
        "/staff/accounts/{own}/snapshot/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    # Staff operations, each with the form's reason: done for staff only.
    (
        "accounts:set_overdraft_limit",
        "POST",
        "/staff/accounts/{own}/overdraft/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    (
        "accounts:freeze_account",
        "POST",
        "/staff/accounts/{own}/freeze/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    (
        "accounts:unfreeze_account",
        "POST",
        "/staff/accounts/{own}/unfreeze/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    # Reversals: the form (GET) and the reversal of a small deposit found
    # from its id alone, the list, and approving and rejecting large ones
    # another member of staff asked for.
    (
        "accounts:reverse_transaction",
        "GET",
        "/staff/transactions/{small}/reverse/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "accounts:reverse_transaction",
        "POST",
        "/staff/transactions/{small}/reverse/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    (
        "accounts:reversals",
        "GET",
        "/staff/reversals/",
        (TO_LOGIN, 403, 403, 200, TO_LOGIN),
    ),
    (
        "accounts:approve_reversal",
        "POST",
        "/staff/reversals/{to_approve}/approve/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    (
        "accounts:reject_reversal",
        "POST",
        "/staff/reversals/{to_reject}/reject/",
        (TO_LOGIN, 403, 403, MOVED, TO_LOGIN),
    ),
    (
        "accounts:open_account",
        "POST",
        "/accounts/open/",
        (TO_LOGIN, MOVED, MOVED, MOVED, TO_LOGIN),
    ),
    # Signed-in users are sent to the login page without a ?next=.
    (
        "logout",
        "POST",
        "/accounts/logout/",
        (TO_LOGIN, MOVED, MOVED, MOVED, TO_LOGIN),
    ),
]
FORM = {
    "amount": "1.00",
    "to_account": "{bob}",
    "name": "Matrix",
    "limit": "25.00",
    "reason": "Access matrix",
}

# The methods each URL answers; any other is 405 for a signed-in user.
# LoginView treats PUT as POST (Django's FormView), so it is left out.
METHODS = {name: {method} for name, method, _, _ in MATRIX}
METHODS["login"] = {"GET", "POST", "PUT"}
METHODS["accounts:reverse_transaction"] = {"GET", "POST"}


def url_names() -> set[str]:
    """Every named URL the site serves, with its namespace."""

    def walk(patterns: list[Any], namespace: str) -> set[str]:
        names = set()
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else ""
                names |= walk(pattern.url_patterns, inner or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}{pattern.name}")
        return names

    return walk(get_resolver().url_patterns, "")


class Tally:
    """Requests made, how they were answered, events recorded by refusals."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.requests = 0
        self.answers: Counter[Any] = Counter()
        self.refused = 0
        self.events_by_refusals = 0

    def head(self) -> int:
        return self.bank.accounts.recorder.max_notification_id() or 0

    def ask(
        self,
        client: Client,
        method: str,
        path: str,
        *,
        refusal: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Make one request; a refused one must record nothing.

        ``refusal`` marks a request refused with a 200 (a login form
        answering wrong credentials).
        """
        before = self.head()
        response = client.generic(method, path, **kwargs)
        self.requests += 1
        answer = answer_of(response)
        self.answers[answer] += 1
        if refusal or answer in REFUSALS:
            self.refused += 1
            recorded = self.head() - before
            self.events_by_refusals += recorded
            assert recorded == 0, f"{method} {path} ({answer}) recorded {recorded}"
        return response

    def summary(self, title: str) -> str:
        report = audit(self.bank)
        assert report.ok, report.problems
        answers = ", ".join(
            f"{k}: {v}"
            for k, v in sorted(self.answers.items(), key=lambda kv: str(kv[0]))
        )
        return (
            f"\n{title}: {self.requests} requests, {self.refused} refused "
            f"({answers}), 0 conflicts, {self.events_by_refusals} events recorded "
            f"by refusals; audit: {report.events_checked} events checked, ok"
        )


def answer_of(response: Any) -> Any:
    """The status, or whether a redirect sends the visitor to log in."""
    if response.status_code == HTTPStatus.FOUND:
        to_login = response["Location"].startswith(f"{LOGIN}?next=")
        return TO_LOGIN if to_login else MOVED
    return response.status_code


def form_body(data: dict[str, str], ids: dict[str, UUID]) -> str:
    """A url-encoded form, with {own}, {bob} and {carol} filled in."""
    return urlencode({k: v.format(**ids) for k, v in data.items()})


FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture
def people(django_bank: Bank, django_user_model: type[User]) -> dict[str, User]:
    make = django_user_model.objects.create_user
    return {
        OWNER: make("alice", password="alice-secret-1"),
        OTHER: make("bob", password="bob-secret-1"),
        STAFF: make("staff", password="staff-secret-1", is_staff=True),
        INACTIVE: make("carol", password="carol-secret-1"),
    }


@pytest.fixture
def clients(people: dict[str, User]) -> dict[str, Client]:
    """A client per actor; the inactive one signed in before deactivation."""
    clients = {ANONYMOUS: Client()}
    for actor, user in people.items():
        clients[actor] = Client()
        clients[actor].force_login(user)
    people[INACTIVE].is_active = False
    people[INACTIVE].save()
    return clients


@pytest.fixture
def ids(django_bank: Bank, people: dict[str, User]) -> dict[str, UUID]:
    accounts = django_bank.accounts
    own = accounts.open_account("alice", "Everyday")
    tx = accounts.deposit(own, Decimal("100.00"))
    bob = accounts.open_account("bob", "Bob's current")
    accounts.deposit(bob, Decimal("50.00"))
    carol = accounts.open_account("carol", "Carol's")
    accounts.deposit(carol, Decimal("20.00"))
    # Dave's money, for reversals: a small deposit, and two large ones whose
    # reversals another member of staff asked for.
    dave = accounts.open_account("dave", "Dave's")
    small = accounts.deposit(dave, Decimal("10.00"))
    waiting = [
        accounts.reversals.reverse(
            accounts.deposit(dave, Decimal("2000.00")), dave, "supervisor", "Twice"
        ).id
        for _ in range(2)
    ]
    return {
        "own": own,
        "bob": bob,
        "carol": carol,
        "tx": tx,
        "dave": dave,
        "small": small,
        "to_approve": waiting[0],
        "to_reject": waiting[1],
    }


def test_the_matrix_names_every_url():
    assert url_names() == {name for name, *_ in MATRIX}


def test_every_url_for_every_actor(django_bank, clients, ids):
    tally = Tally(django_bank)
    body = form_body(FORM, ids)
    for name, method, template, expected in MATRIX:
        path = template.format(**ids)
        for actor, answer in zip(ACTORS, expected, strict=True):
            # Logout is the last row: it ends the sessions the rest need.
            client = clients[actor]
            kwargs = (
                {"data": body, "content_type": FORM_TYPE} if method == "POST" else {}
            )
            response = tally.ask(client, method, path, **kwargs)
            assert answer_of(response) == answer, (name, actor, response.status_code)
    # Money moved only as the owner asked: +1.00, -1.00, -1.00 to Bob.
    assert django_bank.accounts.get_account(ids["own"]).balance == Decimal("99.00")
    assert django_bank.accounts.get_account(ids["bob"]).balance == Decimal("51.00")
    assert django_bank.accounts.get_account(ids["carol"]).balance == Decimal("20.00")
    # Staff reversed the small deposit and one large one; the other is rejected.
    assert django_bank.accounts.get_account(ids["dave"]).balance == Decimal("2000.00")
    print(tally.summary("access matrix"))


def test_wrong_methods_are_405_for_everyone_signed_in(django_bank, clients, ids):
    tally = Tally(django_bank)
    for name, _, template, _ in MATRIX:
        path = template.format(**ids)
        for actor in (OWNER, OTHER, STAFF):
            for method in OTHER_METHODS:
                if method in METHODS[name] or name == "logout":
                    continue
                response = tally.ask(clients[actor], method, path)
                assert response.status_code == 405, (name, actor, method)
                assert response["Allow"]
                assert "Not available here" in response.content.decode()
    print(tally.summary("wrong methods"))


def test_another_customers_account_is_the_same_404_as_a_missing_one(
    django_bank, clients, ids
):
    tally = Tally(django_bank)
    body = form_body(FORM, ids)
    missing = uuid4()
    for _, method, template, expected in MATRIX:
        if "{own}" not in template or expected[2] != 404:
            continue
        kwargs = {"data": body, "content_type": FORM_TYPE} if method == "POST" else {}
        theirs = tally.ask(
            clients[OTHER], method, template.format(own=ids["own"]), **kwargs
        )
        absent = tally.ask(
            clients[OTHER], method, template.format(own=missing), **kwargs
        )
        assert theirs.status_code == absent.status_code == 404
        assert blank(theirs.content, ids["own"]) == blank(absent.content, missing)
    print(tally.summary("404 for another's account"))


def blank(html: bytes, account_id: UUID) -> bytes:
    """The page without its CSRF tokens and without the id that was asked for."""
    html = re.sub(rb"[A-Za-z0-9]{64}", b"<token>", html)
    return html.replace(str(account_id).encode(), b"<id>")


def test_an_inactive_user_cannot_log_in(django_bank, clients, people):
    tally = Tally(django_bank)
    response = tally.ask(
        Client(),
        "POST",
        LOGIN,
        refusal=True,
        data="username=carol&password=carol-secret-1",
        content_type=FORM_TYPE,
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    # Nor read the feed with HTTP Basic.
    feed = tally.ask(
        Client(),
        "GET",
        "/staff/notifications/1,10/",
        refusal=True,
        headers={"Authorization": "Basic Y2Fyb2w6Y2Fyb2wtc2VjcmV0LTE="},
    )
    assert feed.status_code == 401
    print(tally.summary("inactive user"))


# Tampering: what the page's forms send, changed by hand.


def balances(bank: Bank, ids: dict[str, UUID]) -> dict[str, Decimal]:
    return {
        key: bank.accounts.get_account(ids[key]).balance
        for key in ("own", "bob", "carol")
    }


def test_tampered_forms_never_move_another_customers_money(django_bank, clients, ids):
    tally = Tally(django_bank)
    bob = clients[OTHER]
    alice_ = ids["own"]
    extra = {  # what a tampered hx-vals or hidden input might add
        "account_id": str(alice_),
        "account": str(alice_),
        "from_account": str(alice_),
        "owner": "alice",
        "user": "alice",
        "username": "alice",
    }
    start = balances(django_bank, ids)

    def post(path: str, data: dict[str, str]) -> Any:
        return tally.ask(
            bob,
            "POST",
            path.format(**ids),
            data=form_body(data, ids),
            content_type=FORM_TYPE,
        )

    # Alice's account in the URL: 404 for every command, nothing moves.
    for action in ("deposit", "withdraw", "transfer", "close"):
        response = post(
            f"/accounts/{alice_}/{action}/",
            {"amount": "10.00", "to_account": "{bob}", **extra},
        )
        assert response.status_code == 404
    # Bob's own URL with Alice named in every extra field: only Bob's moves.
    assert (
        post("/accounts/{bob}/withdraw/", {"amount": "5.00", **extra}).status_code
        == 302
    )
    assert (
        post("/accounts/{bob}/deposit/", {"amount": "2.00", **extra}).status_code == 302
    )
    # A transfer from Bob's URL "from" Alice's account sends Bob's money.
    response = post(
        "/accounts/{bob}/transfer/",
        {"amount": "3.00", "to_account": "{carol}", **extra},
    )
    assert response.status_code == 302
    # Sending to Alice is legal: it is Bob's money, given to her.
    response = post(
        "/accounts/{bob}/transfer/", {"amount": "4.00", "to_account": "{own}"}
    )
    assert response.status_code == 302
    # The same URL in the query string changes nothing either.
    query = f"/accounts/{{bob}}/withdraw/?account_id={alice_}&owner=alice"
    assert post(query, {"amount": "1.00"}).status_code == 302
    # An account opened with someone else's name is still Bob's.
    assert post("/accounts/open/", {"name": "Mine", **extra}).status_code == 302
    opened = django_bank.accounts.list_owner_account_ids("bob")
    assert len(opened) == 2
    assert django_bank.accounts.list_owner_account_ids("alice") == [alice_]

    assert balances(django_bank, ids) == {
        "own": start["own"] + 4,
        "bob": start["bob"] - 5 + 2 - 3 - 4 - 1,
        "carol": start["carol"] + 3,
    }
    print(tally.summary("tampered forms"))


def test_another_customers_idempotency_token_replays_nothing(django_bank, clients, ids):
    """A token is scoped to its user: Bob reusing Alice's moves Bob's money."""
    tally = Tally(django_bank)
    token = str(uuid4())
    alice_, bob = clients[OWNER], clients[OTHER]
    body = {"amount": "7.00", "token": token}
    for client, account in ((alice_, "{own}"), (bob, "{bob}"), (bob, "{bob}")):
        response = tally.ask(
            client,
            "POST",
            f"/accounts/{account}/withdraw/".format(**ids),
            data=form_body(body, ids),
            content_type=FORM_TYPE,
        )
        assert response.status_code == 302
    # Alice's withdrawal, Bob's once (his second was a double submit).
    assert balances(django_bank, ids) == {
        "own": Decimal("93.00"),
        "bob": Decimal("43.00"),
        "carol": Decimal("20.00"),
    }
    print(tally.summary("borrowed tokens"))


def test_staff_cannot_move_customers_money_whatever_they_send(
    django_bank, clients, ids
):
    tally = Tally(django_bank)
    start = balances(django_bank, ids)
    for action in ("deposit", "withdraw", "transfer", "close"):
        for account in ("own", "bob"):
            response = tally.ask(
                clients[STAFF],
                "POST",
                f"/accounts/{ids[account]}/{action}/",
                data=form_body(
                    {"amount": "1.00", "to_account": "{carol}", "owner": "staff"}, ids
                ),
                content_type=FORM_TYPE,
            )
            assert response.status_code == 403
    assert balances(django_bank, ids) == start
    print(tally.summary("staff posting"))
