"""Who may reach which URL: anonymous, the owner, another customer, staff."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from tests.support.http import HX

ANONYMOUS, OWNER, OTHER, STAFF = ROLES = ("anonymous", "owner", "other", "staff")
LOGIN = "/accounts/login/"


def without_csrf_tokens(html: bytes) -> bytes:
    """The page with its per-response CSRF tokens blanked out."""
    return re.sub(rb"[A-Za-z0-9]{64}", b"<token>", html)


@pytest.fixture
def clients(client, alice_client, bob_client, staff_client):
    return {
        ANONYMOUS: client,
        OWNER: alice_client,
        OTHER: bob_client,
        STAFF: staff_client,
    }


# (path template, status for: anonymous, owner, other customer, staff).
# "{id}" is the owner's account, "{tx}" a deposit to it; 302 for anonymous
# means "to the login page".
GET_MATRIX = [
    ("/", 302, 200, 200, 200),
    ("/accounts/{id}/", 302, 200, 404, 200),
    ("/accounts/{id}/summary/", 302, 200, 404, 200),
    ("/accounts/{id}/statement.csv", 302, 200, 404, 200),
    ("/accounts/panel/", 302, 200, 200, 200),
    ("/staff/accounts/{id}/events/", 302, 403, 403, 200),
    ("/staff/ledger/", 302, 403, 403, 200),
    ("/staff/transactions/", 302, 403, 403, 200),
    ("/staff/events/", 302, 403, 403, 200),
    ("/staff/events/latest/", 302, 403, 403, 200),
    ("/staff/trace/{tx}/", 302, 403, 403, 200),
    ("/staff/feed/", 302, 403, 403, 200),
    ("/health/", 200, 200, 200, 200),
    ("/accounts/login/", 200, 200, 200, 200),
]

# Staff may look at any account, but only its owner moves its money.
POST_MATRIX = [
    ("/accounts/open/", {"name": "New"}, 302, 302, 302, 302),
    ("/accounts/{id}/deposit/", {"amount": "1.00"}, 302, 302, 404, 403),
    ("/accounts/{id}/withdraw/", {"amount": "1.00"}, 302, 302, 404, 403),
    (
        "/accounts/{id}/transfer/",
        {"amount": "1.00", "to_account": "{to}"},
        302,
        302,
        404,
        403,
    ),
    ("/accounts/{id}/close/", {}, 302, 422, 404, 403),
]


@pytest.mark.parametrize(("role_index", "role"), list(enumerate(ROLES)))
@pytest.mark.parametrize("row", GET_MATRIX, ids=[row[0] for row in GET_MATRIX])
def test_get_access(clients, django_bank, alice_account, row, role_index, role):  # noqa: PLR0917
    path, *statuses = row
    tx = django_bank.accounts.deposit(alice_account, "1.00") if "{tx}" in path else ""
    response = clients[role].get(path.format(id=alice_account, tx=tx))
    assert response.status_code == statuses[role_index]
    if statuses[role_index] == 302:
        assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize(("role_index", "role"), list(enumerate(ROLES)))
@pytest.mark.parametrize("row", POST_MATRIX, ids=[row[0] for row in POST_MATRIX])
def test_post_access(clients, alice_account, bob_account, row, role_index, role):  # noqa: PLR0917
    path, data, *statuses = row
    data = {key: value.format(to=bob_account) for key, value in data.items()}
    response = clients[role].post(path.format(id=alice_account), data)
    assert response.status_code == statuses[role_index]
    if role == ANONYMOUS:
        assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/open/",
        "/accounts/{id}/deposit/",
        "/accounts/{id}/withdraw/",
        "/accounts/{id}/transfer/",
        "/accounts/{id}/close/",
    ],
)
def test_get_on_post_only_url_is_405(alice_client, alice_account, path):
    response = alice_client.get(path.format(id=alice_account))
    assert response.status_code == 405


@pytest.mark.parametrize("path", ["/staff/ledger/", "/health/?x=1"])
def test_post_on_get_only_url_is_405(staff_client, path):
    assert staff_client.post(path).status_code == 405


def test_anonymous_redirect_keeps_the_page_to_return_to(client, alice_account):
    response = client.get(f"/accounts/{alice_account}/")
    assert response["Location"] == f"{LOGIN}?next=/accounts/{alice_account}/"


def test_anonymous_htmx_request_is_sent_to_login_by_hx_redirect(client, alice_account):
    page = f"http://testserver/accounts/{alice_account}/"
    response = client.get(
        f"/accounts/{alice_account}/summary/",
        headers=HX | {"HX-Current-URL": page},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN}?next=/accounts/{alice_account}/"


def test_someone_elses_account_and_a_missing_one_look_the_same(
    bob_client, alice_account
):
    theirs = bob_client.get(f"/accounts/{alice_account}/")
    missing = bob_client.get(f"/accounts/{uuid4()}/")
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert without_csrf_tokens(theirs.content) == without_csrf_tokens(missing.content)


@pytest.mark.parametrize("action", ["deposit", "withdraw", "transfer", "close"])
def test_commands_on_a_missing_account_are_404_and_record_nothing(
    alice_client, django_bank, alice_account, action
):
    before = django_bank.accounts.count_accounts()
    response = alice_client.post(
        f"/accounts/{uuid4()}/{action}/",
        {"amount": "1.00", "to_account": str(alice_account)},
    )
    assert response.status_code == 404
    assert django_bank.accounts.count_accounts() == before
    assert len(django_bank.accounts.get_history(alice_account)) == 2


def test_malformed_account_id_in_url_is_404(alice_client):
    assert alice_client.get("/accounts/not-a-uuid/").status_code == 404
    assert (
        alice_client.post("/accounts/123/deposit/", {"amount": "1"}).status_code == 404
    )


def test_other_customers_post_leaves_the_account_untouched(
    bob_client, django_bank, alice_account
):
    bob_client.post(f"/accounts/{alice_account}/withdraw/", {"amount": "100.00"})
    assert django_bank.accounts.get_account(alice_account).balance == 100


def test_staff_account_page_has_no_forms_on_a_customers_account(
    staff_client, alice_account
):
    html = staff_client.get(f"/accounts/{alice_account}/").content.decode()
    assert "View only" in html
    assert "/deposit/" not in html


# The same URLs asked by htmx: fragments stay fragments, pages stay pages,
# and the dual ones answer htmx with their panel.
HTMX_MATRIX = [
    ("/", STAFF, "page"),
    ("/", OWNER, "page"),
    ("/accounts/{id}/", OWNER, "fragment"),  # a statement page, in place
    ("/accounts/{id}/summary/", OWNER, "fragment"),
    ("/accounts/panel/", OWNER, "fragment"),
    ("/accounts/panel/", STAFF, "fragment"),
    ("/staff/accounts/{id}/events/", STAFF, "fragment"),
    ("/staff/ledger/", STAFF, "fragment"),
    ("/staff/transactions/", STAFF, "fragment"),
    ("/staff/events/", STAFF, "fragment"),
    ("/staff/events/latest/", STAFF, "fragment"),
    ("/staff/trace/{tx}/", STAFF, "fragment"),
    ("/staff/feed/", STAFF, "page"),
]


@pytest.mark.parametrize(("path", "role", "kind"), HTMX_MATRIX)
def test_get_with_htmx(clients, django_bank, alice_account, path, role, kind):  # noqa: PLR0917
    tx = django_bank.accounts.deposit(alice_account, "1.00") if "{tx}" in path else ""
    response = clients[role].get(path.format(id=alice_account, tx=tx), headers=HX)
    assert response.status_code == 200
    assert ("<html" in response.content.decode()) is (kind == "page")


@pytest.mark.parametrize(
    "path",
    [
        "/staff/accounts/{id}/events/",
        "/staff/transactions/",
        "/staff/events/",
        "/accounts/{id}/",
    ],
)
def test_restoring_history_gets_the_whole_page(staff_client, alice_account, path):
    response = staff_client.get(
        path.format(id=alice_account),
        headers=HX | {"HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]
