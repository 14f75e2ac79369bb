"""In a real browser: a panel's timer says it is a poll; what the user does does not.

The idle timeout (esbank_site/web/sessions.py) counts every request of a
signed-in user as activity except those carrying ``X-Esbank-Poll``, which
``static/js/bank.js`` adds to a request htmx made on a timer ("every 5s").
Here the account page's summary polls on its own, and a deposit, and the
refresh it announces, go out as the user's.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from esbank_site.web.sessions import POLL_HEADER
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def test_only_the_panels_timer_is_marked_as_a_poll(
    live_server, new_context, customer, django_bank
):
    account = django_bank.accounts.open_account("alice", "Everyday")
    page = new_context().new_page()
    log_in(page, live_server.url, "alice")
    sent: list[tuple[str, str, str | None]] = []
    page.on(
        "request",
        lambda request: sent.append(
            (request.method, request.url, request.headers.get(POLL_HEADER.lower()))
        ),
    )
    page.goto(f"{live_server.url}/accounts/{account}/")
    summary = f"/accounts/{account}/summary/"
    # The summary refreshes itself every 5 seconds: wait for one.
    with page.expect_request(lambda r: r.url.endswith(summary), timeout=15_000) as p:
        pass
    assert p.value.headers.get(POLL_HEADER.lower()) == "true"

    deposit = page.locator("#form-deposit")
    deposit.get_by_label("Amount").fill("12.00")
    with page.expect_request(
        lambda r: r.method == "GET" and r.url.endswith(summary)
    ) as refreshed:
        deposit.get_by_role("button", name="Deposit").click()
        expect(deposit.locator(".notice")).to_have_text("£12.00 paid in.")
    # The deposit, and the refresh it announced (balancesChanged): the user's.
    posts = [header for method, url, header in sent if method == "POST"]
    print(f"\nrequests seen: {[(m, u.rsplit('/', 2)[-2], h) for m, u, h in sent]}")
    assert posts == [None]
    assert refreshed.value.headers.get(POLL_HEADER.lower()) is None
