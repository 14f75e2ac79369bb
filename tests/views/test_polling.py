"""Polled panels: an ETag on every fragment, a 304 when it has not changed.

Every panel that refreshes itself on a timer is answered with an ``ETag``
(a hash of the fragment) that its root element also carries in
``data-etag``; sent back as ``If-None-Match``, it gets an empty 304 until
the fragment changes (``accounts/polling.py``). A page that includes a
panel gives it the same ETag its own view would, so the first poll after a
page load is a 304 too.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.polling import PLACEHOLDER
from esbank_site.web import sessions
from tests.support.html import element
from tests.support.http import HX

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class Panel:
    """A polled fragment: who asks for it, where, its root element's id."""

    name: str
    client: str  # the fixture of the signed-in client that polls it
    url: str  # ``{account}``: Alice's current account
    root_id: str
    page: str  # a page that includes it

    def address(self, account: object) -> str:
        return self.url.format(account=account)


PANELS = [
    Panel("ledger", "staff_client", "/staff/ledger/", "ledger-panel", "/"),
    Panel(
        "transactions",
        "staff_client",
        "/staff/transactions/",
        "transactions-panel",
        "/",
    ),
    Panel("all accounts", "staff_client", "/accounts/panel/", "accounts-panel", "/"),
    Panel("own accounts", "alice_client", "/accounts/panel/", "accounts-panel", "/"),
    Panel(
        "summary",
        "alice_client",
        "/accounts/{account}/summary/",
        "account-summary",
        "/accounts/{account}/",
    ),
    Panel(
        "timeline",
        "staff_client",
        "/staff/accounts/{account}/events/",
        "timeline",
        "/staff/accounts/{account}/events/",
    ),
]
PAGES_OF_PANELS = [
    *PANELS,
    Panel(
        "transaction log page",
        "staff_client",
        "/staff/transactions/",
        "transactions-panel",
        "/staff/transactions/",
    ),
]


def poll(client, url, etag=None):
    """A panel's request as bank.js makes it: htmx, and the ETag it has."""
    headers = dict(HX)
    if etag is not None:
        headers["If-None-Match"] = etag
    return client.get(url, headers=headers)


def root_etag(response, root_id):
    """The ``data-etag`` of the panel's root element, quoted as a header is."""
    return f'"{element(response.content.decode(), id=root_id)["data-etag"]}"'


@pytest.fixture
def panel_client(request):
    panel = request.param
    return panel, request.getfixturevalue(panel.client)


@pytest.mark.parametrize(
    "panel_client", PANELS, ids=[p.name for p in PANELS], indirect=True
)
def test_an_unchanged_panel_is_not_modified_and_a_changed_one_is_sent_again(
    panel_client, alice_account, bob_account, django_bank
):
    panel, client = panel_client
    url = panel.address(alice_account)
    first = poll(client, url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert root_etag(first, panel.root_id) == etag
    assert PLACEHOLDER not in first.content.decode()

    unchanged = poll(client, url, etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    # Still never stored by the browser: the 304 keeps the signed-in headers.
    assert "no-store" in unchanged["Cache-Control"]

    django_bank.accounts.deposit(alice_account, Decimal("12.34"))
    changed = poll(client, url, etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert root_etag(changed, panel.root_id) == changed["ETag"]
    assert changed.content != first.content
    assert poll(client, url, changed["ETag"]).status_code == 304


@pytest.mark.parametrize(
    "panel_client", PANELS, ids=[p.name for p in PANELS], indirect=True
)
def test_a_request_that_does_not_ask_is_never_answered_not_modified(
    panel_client, alice_account
):
    panel, client = panel_client
    url = panel.address(alice_account)
    etag = poll(client, url)["ETag"]
    again = poll(client, url)
    assert again.status_code == 200
    assert again["ETag"] == etag
    assert element(again.content.decode(), id=panel.root_id)
    # Nor is one that holds another fragment, or a header that is no ETag.
    for other in ['"0123456789abcdef"', "not an etag", f"W/{etag}x"]:
        assert poll(client, url, other).status_code == 200


@pytest.mark.parametrize(
    "panel_client",
    PAGES_OF_PANELS,
    ids=[p.name for p in PAGES_OF_PANELS],
    indirect=True,
)
def test_a_page_gives_its_panel_the_etag_of_the_panel_alone(
    panel_client, alice_account
):
    """So the first poll after the page loaded is already a 304."""
    panel, client = panel_client
    page = client.get(panel.page.format(account=alice_account))
    assert page.status_code == 200
    html = page.content.decode()
    assert PLACEHOLDER not in html
    embedded = root_etag(page, panel.root_id)
    assert poll(client, panel.address(alice_account), embedded).status_code == 304


def test_an_older_statement_page_has_its_own_etag(
    alice_client, alice_account, django_bank
):
    """The statement's pages swap the same panel: each comes with its own ETag."""
    for _ in range(2):
        django_bank.accounts.withdraw(alice_account, Decimal("1.00"))
    url = f"/accounts/{alice_account}/?before=3"
    fragment = alice_client.get(url, headers=HX)
    assert fragment.status_code == 200
    assert root_etag(fragment, "account-summary") == fragment["ETag"]
    assert fragment["ETag"] != poll(alice_client, f"/accounts/{alice_account}/")["ETag"]
    assert poll(alice_client, url, fragment["ETag"]).status_code == 304


def test_refusals_are_answered_as_before_without_an_etag(staff_client, alice_account):
    past_the_end = poll(
        staff_client, f"/staff/accounts/{alice_account}/events/?version=99"
    )
    assert past_the_end.status_code == 404
    assert "ETag" not in past_the_end
    bad_moment = poll(staff_client, f"/staff/accounts/{alice_account}/events/?at=never")
    assert bad_moment.status_code == 422
    assert "ETag" not in bad_moment


def test_a_304_still_signs_out_an_idle_session_and_keeps_none_alive(
    alice_client, alice_account, monkeypatch, settings
):
    """Polls that get a 304 pass through the idle timeout like any poll.

    They are not activity (``esbank_site/web/sessions.py``), and once the
    limit has passed the panel is told to go to the login page, not that
    nothing changed.
    """
    url = "/accounts/panel/"
    etag = poll(alice_client, url)["ETag"]
    headers = {**HX, "If-None-Match": etag, sessions.POLL_HEADER: "true"}
    started = time.time()
    limit = settings.ESBANK_SESSION_IDLE_MINUTES * 60
    for elapsed in range(0, limit, limit // 3):
        monkeypatch.setattr(sessions, "now", lambda at=started + elapsed: at)
        assert alice_client.get(url, headers=headers).status_code == 304
    monkeypatch.setattr(sessions, "now", lambda: started + limit + 1)
    timed_out = alice_client.get(url, headers=headers)
    assert timed_out.status_code == 200
    assert timed_out["HX-Redirect"].startswith(
        f"/accounts/login/?{sessions.TIMED_OUT}=1"
    )


def test_every_panel_that_polls_has_a_slot_for_its_etag():
    """A new panel with ``every Ns`` in its hx-trigger needs ``{% etag_slot %}``."""
    timer = re.compile(r'hx-trigger="[^"]*\bevery \d')
    polling = [p for p in TEMPLATES.rglob("*.html") if timer.search(p.read_text())]
    assert len(polling) >= 6
    for path in polling:
        assert "{% etag_slot %}" in path.read_text(), path
