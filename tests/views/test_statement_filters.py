"""The account page's statement, filtered by date, kind and reference.

A GET form beside the statement (``from``, ``to``, ``kind``, ``q``): each
filter alone and together, with the account's true balance beside every
line, paging through what they keep, htmx swaps that put the filters in
the address bar, and refused filters that change nothing. On this test's
bank (``site_bank``): SQLite and PostgreSQL in turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from accounts.statement_filters import KINDS
from accounts.statement_forms import BAD_DATE
from accounts.statements import whole_statement
from accounts.views import STATEMENT_LINES
from tests.support.html import element, elements
from tests.support.http import HX, signed_in
from tests.support.statement_history import StoppedClock, daily_history


@pytest.fixture
def clock(monkeypatch):
    return StoppedClock(monkeypatch)


@pytest.fixture
def ada(site_bank, django_user_model):
    return signed_in(django_user_model.objects.create_user("ada"))


@pytest.fixture
def staff(site_bank, django_user_model):
    return signed_in(django_user_model.objects.create_user("staff", is_staff=True))


@pytest.fixture
def everyday(site_bank, clock):
    """Ada's account: 32 movements in January 2026 (see ``daily_history``)."""
    return daily_history(site_bank, clock)


def shown(html):
    """(version, balance) of each statement line the page shows, newest first."""
    return [
        (
            int(row["data-version"]),
            Decimal(row.elements(data_amount=True)[-1]["data-amount"]),
        )
        for row in element(html, id="statement").elements("tr", data_version=True)
    ]


def expected(bank, account_id, keep, limit=STATEMENT_LINES):
    """The newest ``limit`` lines kept, with the whole statement's balances."""
    lines = [
        line for line in whole_statement(bank.accounts.events, account_id) if keep(line)
    ]
    return [(line.version, line.balance) for line in reversed(lines)][:limit]


def day(line):
    return line.timestamp.day


# Each filter alone, and together: the lines each keeps (as told by the
# whole statement, not by the filter under test), newest first.
CASES = {
    "from": ({"from": "2026-01-25"}, lambda line: day(line) >= 25),
    "to": ({"to": "2026-01-03"}, lambda line: day(line) <= 3),
    "one day": (
        {"from": "2026-01-10", "to": "2026-01-10"},
        lambda line: day(line) == 10,
    ),
    "deposits": ({"kind": "deposit"}, lambda line: line.kind == "Deposit"),
    "withdrawals": ({"kind": "withdrawal"}, lambda line: line.kind == "Withdrawal"),
    "transfers in": ({"kind": "transfer_in"}, lambda line: line.kind == "Transfer in"),
    "transfers out": (
        {"kind": "transfer_out"},
        lambda line: line.kind == "Transfer out",
    ),
    "reference, any case": (
        {"q": "SALARY 2"},
        lambda line: line.description in {"Salary 22", "Salary 25", "Salary 28"},
    ),
    "all four": (
        {"from": "2026-01-05", "to": "2026-01-20", "kind": "deposit", "q": "salary 1"},
        lambda line: (
            line.description in {"Salary 10", "Salary 13", "Salary 16", "Salary 19"}
        ),
    ),
    "empty fields": ({"from": "", "to": "", "kind": "", "q": ""}, lambda line: True),
    "the widest dates": ({"from": "0001-01-01", "to": "9999-12-31"}, lambda line: True),
}


@pytest.mark.parametrize("case", CASES)
def test_each_filter_alone_and_together_keeps_its_lines_with_true_balances(
    site_bank, ada, everyday, case
):
    params, keep = CASES[case]
    response = ada.get(f"/accounts/{everyday}/", params)
    assert response.status_code == 200
    lines = shown(response.text)
    assert lines == expected(site_bank, everyday, keep)
    assert lines  # every case keeps something
    # The form shows what was asked, ready to change.
    form = element(response.text, "form", id="statement-filters")
    if params.get("to"):
        assert form.element("input", name="to")["value"] == params["to"]


def test_the_filters_are_days_in_the_sites_time_zone(site_bank, ada, clock):
    account_id = site_bank.accounts.open_account("ada", "Summer")
    # 23:30 UTC on 1 June is 00:30 on 2 June in London (British Summer Time).
    clock.at(datetime(2026, 6, 1, 23, 30, tzinfo=UTC))
    site_bank.accounts.deposit(account_id, "5", description="Just after midnight")
    url = f"/accounts/{account_id}/"
    assert len(shown(ada.get(url, {"from": "2026-06-02"}).text)) == 1
    assert len(shown(ada.get(url, {"to": "2026-06-02"}).text)) == 1
    assert shown(ada.get(url, {"to": "2026-06-01"}).text) == []
    assert shown(ada.get(url, {"from": "2026-06-03"}).text) == []


def test_a_filter_that_keeps_nothing_says_so(ada, everyday):
    html = ada.get(f"/accounts/{everyday}/", {"q": "rent"}).text
    assert shown(html) == []
    assert "No movements match the filters." in element(html, id="statement").words


def test_staff_filter_a_customers_statement_too(site_bank, staff, everyday):
    response = staff.get(f"/accounts/{everyday}/", {"kind": "transfer_in"})
    assert response.status_code == 200
    assert shown(response.text) == expected(
        site_bank, everyday, lambda line: line.kind == "Transfer in"
    )


def test_paging_keeps_the_filters_both_ways(site_bank, ada, everyday):
    # Up to the 28th: 30 lines, a page of 20 and one of 10.
    url = f"/accounts/{everyday}/"
    filtered = lambda line: day(line) <= 28  # noqa: E731
    every = expected(site_bank, everyday, filtered, limit=100)
    assert len(every) == 30
    latest = ada.get(url, {"to": "2026-01-28"}).text
    assert shown(latest) == every[:20]
    older = element(latest, "a", id="statement-older")
    before = every[19][0]
    assert older["href"] == f"{url}?to=2026-01-28&before={before}"
    assert older["hx-get"] == older["href"]
    assert not elements(latest, id="statement-newer")

    for headers in ({}, HX):
        page = ada.get(older["href"], headers=headers).text
        assert shown(page) == every[20:]
        assert not elements(page, id="statement-older")
        newer = element(page, "a", id="statement-newer")
        assert newer["href"] == f"{url}?to=2026-01-28"
        # The panel refreshes itself as the same filtered page.
        panel = element(page, id="account-summary")
        assert (
            panel["hx-get"]
            == f"/accounts/{everyday}/summary/?to=2026-01-28&before={before}"
        )
        refreshed = ada.get(panel["hx-get"], headers=HX).text
        assert shown(refreshed) == every[20:]


def test_the_download_link_carries_the_filters(ada, everyday):
    params = {"from": "2026-01-05", "kind": "deposit", "q": "Salary"}
    html = ada.get(f"/accounts/{everyday}/", params).text
    link = element(html, "a", id="statement-csv")
    assert link["href"] == f"/accounts/{everyday}/statement.csv?{urlencode(params)}"
    assert "hx-get" not in link.attrs  # the browser downloads it
    unfiltered = ada.get(f"/accounts/{everyday}/").text
    assert element(unfiltered, "a", id="statement-csv")["href"] == (
        f"/accounts/{everyday}/statement.csv"
    )


def test_the_form_works_without_javascript(ada, everyday):
    html = ada.get(f"/accounts/{everyday}/").text
    form = element(html, "form", id="statement-filters")
    assert form["method"] == "get"
    assert form["action"] == f"/accounts/{everyday}/"
    assert form.element("input", name="from")["type"] == "date"
    assert form.element("input", name="to")["type"] == "date"
    kinds = [
        option["value"]
        for option in form.element("select", name="kind").elements("option")
    ]
    assert kinds == [
        "",
        "deposit",
        "withdrawal",
        "transfer_in",
        "transfer_out",
        "reversal",
    ]
    assert kinds[1:] == list(KINDS)
    assert form.element("input", name="q")
    assert form.element("button", type="submit")
    # Outside the panel that refreshes itself, which would wipe what is typed.
    assert not element(html, id="account-summary").elements(
        "form", id="statement-filters"
    )


def test_htmx_swaps_the_panel_and_puts_the_filters_in_the_address_bar(
    site_bank, ada, everyday
):
    submitted = HX | {"HX-Trigger": "statement-filters"}
    params = {"from": "", "to": "2026-01-03", "kind": "", "q": ""}
    response = ada.get(f"/accounts/{everyday}/", params, headers=submitted)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert shown(response.text) == expected(
        site_bank, everyday, lambda line: day(line) <= 3
    )
    # Empty fields are left out of the address.
    assert response["HX-Push-Url"] == f"/accounts/{everyday}/?to=2026-01-03"
    # The form comes too, out of band, clearing any earlier messages.
    form = element(response.text, "form", id="statement-filters")
    assert form["hx-swap-oob"] == "true"
    assert not form.elements(class_="field-error")

    # Paging and the panel's own refresh leave the form and the address alone.
    for url in (
        f"/accounts/{everyday}/?to=2026-01-03",
        f"/accounts/{everyday}/summary/?to=2026-01-03",
    ):
        response = ada.get(url, headers=HX)
        assert response.status_code == 200
        assert not elements(response.text, "form", id="statement-filters")
        assert "HX-Push-Url" not in response
        assert len(shown(response.text)) == 3

    cleared = ada.get(
        f"/accounts/{everyday}/", headers=HX | {"HX-Trigger": "statement-filters-clear"}
    )
    assert cleared["HX-Push-Url"] == f"/accounts/{everyday}/"
    assert len(shown(cleared.text)) == STATEMENT_LINES


# Refused filters: (query, the field the message is beside, its words).
BAD = {
    "not a date": ({"from": "1 January"}, "from", BAD_DATE),
    "no such day": ({"to": "2026-02-30"}, "to", BAD_DATE),
    "month 13": ({"from": "2026-13-01"}, "from", BAD_DATE),
    "five-digit year": ({"to": "20260-01-01"}, "to", BAD_DATE),
    "from after to": (
        {"from": "2026-01-10", "to": "2026-01-09"},
        "to",
        "The end date is before the start date.",
    ),
    "unknown kind": ({"kind": "Deposit"}, "kind", "Choose a kind from the list"),
    "overlong reference": ({"q": "x" * 141}, "q", "at most 140 characters"),
}


@pytest.mark.parametrize("case", BAD)
def test_refused_filters_are_422_beside_the_form_and_change_nothing(
    site_bank, ada, everyday, case
):
    params, field, message = BAD[case]
    url = f"/accounts/{everyday}/"
    unfiltered = shown(ada.get(url).text)
    recorded = site_bank.accounts.recorder.max_notification_id()

    page = ada.get(url, params)
    assert page.status_code == 422
    error = element(page.text, id=f"id_statement_{field}_error")
    assert message in error.text
    # The statement as it was: unfiltered, and no link carries the filters.
    assert shown(page.text) == unfiltered
    assert (
        element(page.text, "a", id="statement-csv")["href"]
        == f"{url.rstrip('/')}/statement.csv"
    )

    submitted = HX | {"HX-Trigger": "statement-filters"}
    fragment = ada.get(url, params, headers=submitted)
    assert fragment.status_code == 422
    # Only the form is swapped, with its message; the statement stays.
    assert fragment["HX-Retarget"] == "#statement-filters"
    assert fragment["HX-Reswap"] == "outerHTML"
    assert fragment["HX-Push-Url"] == "false"
    assert message in element(fragment.text, id=f"id_statement_{field}_error").text
    assert not elements(fragment.text, id="statement")

    assert site_bank.accounts.recorder.max_notification_id() == recorded


def test_a_refused_filter_on_the_panels_refresh_is_422_too(ada, everyday):
    response = ada.get(f"/accounts/{everyday}/summary/", {"kind": "refund"}, headers=HX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#statement-filters"
