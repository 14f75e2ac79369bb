"""CSRF: every POST, with the checks a browser's request goes through.

Clients enforce CSRF checks, as browsers' requests meet them. No token, a
wrong token, another visitor's token, a foreign or opaque ``Origin`` and,
over HTTPS, a foreign ``Referer`` are all refused with 403 and record
nothing; the page's token passes, in the ``X-CSRFToken`` header (as htmx
sends it from ``hx-headers`` on ``<body>``) or in the form.

Every test prints its figures and ends with the independent audit.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.middleware.csrf import CSRF_TOKEN_LENGTH, get_random_string
from django.test import Client

from esbank_site.operations.audit import audit
from tests.support.html import elements
from tests.support.http import HX

if TYPE_CHECKING:
    from uuid import UUID

    from django.contrib.auth.models import User

    from esbank_site.bank import Bank

HEADER_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')

# Every POST a customer makes, and the staff's, with a valid body.
POSTS = [
    ("customer", "/accounts/open/", {"name": "Via CSRF"}),
    ("customer", "/accounts/{own}/deposit/", {"amount": "1.00"}),
    ("customer", "/accounts/{own}/withdraw/", {"amount": "1.00"}),
    ("customer", "/accounts/{own}/transfer/", {"amount": "1.00", "to_account": "{to}"}),
    ("customer", "/accounts/{empty}/close/", {}),
    ("staff", "/staff/accounts/{own}/snapshot/", {}),
    ("staff", "/staff/accounts/{own}/overdraft/", {"limit": "50", "reason": "CSRF"}),
    ("staff", "/staff/accounts/{own}/freeze/", {"reason": "CSRF check"}),
    ("staff", "/staff/accounts/{frozen}/unfreeze/", {"reason": "CSRF check"}),
    ("staff", "/staff/transactions/{small}/reverse/", {"reason": "CSRF check"}),
    ("staff", "/staff/reversals/{waiting}/approve/", {}),
    ("staff", "/staff/reversals/{waiting}/reject/", {"reason": "CSRF check"}),
    ("customer", "/accounts/logout/", {}),
]
POST_IDS = [path.split("/")[-2] for _, path, _ in POSTS]


class Tally:
    """Requests made, refused, and events recorded by refused ones."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.requests = 0
        self.answers: Counter[int] = Counter()
        self.events_by_refusals = 0

    def head(self) -> int:
        return self.bank.accounts.recorder.max_notification_id() or 0

    def post(self, client: Client, path: str, data: dict[str, str], **extra: Any):
        before = self.head()
        response = client.post(path, data, **extra)
        self.requests += 1
        self.answers[response.status_code] += 1
        if response.status_code == 403:
            recorded = self.head() - before
            self.events_by_refusals += recorded
            assert recorded == 0, f"refused POST {path} recorded {recorded} events"
            assert "This form has expired" in response.content.decode()
        return response

    def summary(self, title: str) -> str:
        report = audit(self.bank)
        assert report.ok, report.problems
        refused = self.answers[403]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        return (
            f"\n{title}: {self.requests} requests, {refused} refused ({answers}), "
            f"0 conflicts, {self.events_by_refusals} events recorded by refusals; "
            f"audit: {report.events_checked} events checked, ok"
        )


@pytest.fixture
def users(django_bank: Bank, django_user_model: type[User]) -> dict[str, User]:
    make = django_user_model.objects.create_user
    return {
        "customer": make("alice", password="alice-secret-1"),
        "staff": make("staff", password="staff-secret-1", is_staff=True),
        "bob": make("bob", password="bob-secret-1"),
    }


@pytest.fixture
def ids(django_bank: Bank, users: dict[str, User]) -> dict[str, UUID]:
    accounts = django_bank.accounts
    own = accounts.open_account("alice", "Everyday")
    accounts.deposit(own, Decimal("100.00"))
    frozen = accounts.open_account("alice", "Frozen")
    accounts.staff.freeze(frozen, "To be unfrozen")
    # Money to reverse: a small deposit, and a large one another member of
    # staff asked to reverse, waiting for approval.
    paid_in = accounts.open_account("alice", "Paid in")
    small = accounts.deposit(paid_in, Decimal("10.00"))
    large = accounts.deposit(paid_in, Decimal("2000.00"))
    waiting = accounts.reversals.reverse(large, paid_in, "supervisor", "Twice")
    return {
        "own": own,
        "empty": accounts.open_account("alice", "Empty"),
        "to": accounts.open_account("bob", "Bob's"),
        "frozen": frozen,
        "small": small,
        "waiting": waiting.id,
    }


def strict_client(user: User | None = None, **defaults: Any) -> Client:
    """A client whose POSTs must pass the CSRF checks, signed in as ``user``."""
    client = Client(enforce_csrf_checks=True, **defaults)
    if user is not None:
        client.force_login(user)
    return client


def page_tokens(client: Client, path: str = "/", **extra: Any) -> tuple[str, str]:
    """The form's and the htmx header's CSRF tokens on a page."""
    html = client.get(path, **extra).content.decode()
    forms = elements(html, name="csrfmiddlewaretoken", value=True)
    header = HEADER_TOKEN.search(html)
    assert forms
    assert header is not None
    return forms[0]["value"], header[1]


def fill(path: str, data: dict[str, str], ids: dict[str, UUID]):
    return path.format(**ids), {k: v.format(**ids) for k, v in data.items()}


@pytest.mark.parametrize(("who", "path", "data"), POSTS, ids=POST_IDS)
def test_posts_without_a_good_token_are_403_and_record_nothing(  # noqa: PLR0917
    django_bank, users, ids, who, path, data
):
    tally = Tally(django_bank)
    title = f"csrf refusals {path}"
    path, data = fill(path, data, ids)
    user = users[who]
    foreign = {"HTTP_ORIGIN": "https://evil.example"}

    # No cookie, no token: a request forged from another site.
    assert tally.post(strict_client(user), path, data).status_code == 403
    # A cookie from the bank, but no token with the request.
    client = strict_client(user)
    form_token, _ = page_tokens(client)
    assert tally.post(client, path, data).status_code == 403
    # A well-formed token that is not this visitor's.
    wrong = get_random_string(CSRF_TOKEN_LENGTH)
    assert tally.post(client, path, data, HTTP_X_CSRFTOKEN=wrong).status_code == 403
    wrong_form = data | {"csrfmiddlewaretoken": wrong}
    assert tally.post(client, path, wrong_form).status_code == 403
    # Another visitor's real token, with this visitor's cookie.
    bob_token, _ = page_tokens(strict_client(users["bob"]))
    assert tally.post(client, path, data, HTTP_X_CSRFTOKEN=bob_token).status_code == 403
    # The right token, sent from a foreign or opaque origin.
    with_token = data | {"csrfmiddlewaretoken": form_token}
    assert tally.post(client, path, with_token, **foreign).status_code == 403
    null = {"HTTP_ORIGIN": "null"}
    assert tally.post(client, path, with_token, **null).status_code == 403
    # Over HTTPS with no Origin, a foreign Referer is refused too.
    secure = strict_client(user, secure=True)
    secure_token, _ = page_tokens(secure)
    referer = {"HTTP_REFERER": "https://evil.example/pay", "secure": True}
    secure_form = data | {"csrfmiddlewaretoken": secure_token}
    assert tally.post(secure, path, secure_form, **referer).status_code == 403

    assert set(tally.answers) == {403}
    print(tally.summary(title))


@pytest.mark.parametrize(("who", "path", "data"), POSTS, ids=POST_IDS)
@pytest.mark.parametrize("carrier", ["htmx-header", "form-field"])
def test_the_pages_token_passes(  # noqa: PLR0917
    django_bank, users, ids, who, path, data, carrier
):
    tally = Tally(django_bank)
    title = f"csrf accepted {path} ({carrier})"
    path, data = fill(path, data, ids)
    client = strict_client(users[who])
    before = tally.head()
    form_token, header_token = page_tokens(client)
    same_origin = {"HTTP_ORIGIN": "http://testserver"}
    if carrier == "htmx-header":
        response = tally.post(
            client, path, data, headers=HX, HTTP_X_CSRFTOKEN=header_token, **same_origin
        )
    else:
        form = data | {"csrfmiddlewaretoken": form_token}
        response = tally.post(client, path, form, **same_origin)
    assert response.status_code in {200, 302}
    # Commands record events; logging out does not, and a snapshot is
    # stored beside the log, not in it.
    if "snapshot" in path:
        assert django_bank.accounts.get_snapshot_versions(ids["own"])
    assert (tally.head() > before) is not any(
        word in path for word in ("logout", "snapshot")
    )
    print(tally.summary(title))


def test_login_itself_needs_the_token(django_bank, users):
    tally = Tally(django_bank)
    credentials = {"username": "alice", "password": "alice-secret-1"}
    client = strict_client()
    assert tally.post(client, "/accounts/login/", credentials).status_code == 403
    assert "_auth_user_id" not in client.session
    form_token, _ = page_tokens(client, "/accounts/login/")
    with_token = credentials | {"csrfmiddlewaretoken": form_token}
    assert tally.post(client, "/accounts/login/", with_token).status_code == 302
    # Logging in rotates the token: the one from before no longer works.
    stale = {"name": "Stale", "csrfmiddlewaretoken": form_token}
    assert tally.post(client, "/accounts/open/", stale).status_code == 403
    fresh, _ = page_tokens(client)
    assert (
        tally.post(
            client, "/accounts/open/", stale | {"csrfmiddlewaretoken": fresh}
        ).status_code
        == 302
    )
    print(tally.summary("csrf login"))


def test_money_moves_once_per_accepted_post_and_never_for_refused_ones(
    django_bank, users, ids
):
    tally = Tally(django_bank)
    client = strict_client(users["customer"])
    form_token, header_token = page_tokens(client)
    deposit = f"/accounts/{ids['own']}/deposit/"
    for _ in range(3):
        tally.post(client, deposit, {"amount": "5.00"})
        tally.post(client, deposit, {"amount": "5.00"}, HTTP_ORIGIN="https://x.example")
    tally.post(client, deposit, {"amount": "5.00", "csrfmiddlewaretoken": form_token})
    tally.post(client, deposit, {"amount": "5.00"}, HTTP_X_CSRFTOKEN=header_token)
    assert django_bank.accounts.get_account(ids["own"]).balance == Decimal("110.00")
    assert tally.answers == {403: 6, 302: 2}
    print(tally.summary("csrf money"))
