"""Keyboard and screen-reader basics: the skip link, sortable headers, search URLs.

Colour contrast and focus rings are checked in test_contrast.py.
"""

from __future__ import annotations

import pytest

from tests.support.html import Element, element, elements, parse
from tests.support.http import HX

# What Tab can reach: links with an address, form controls, summaries, and
# anything with a tabindex of 0 or more.
CONTROLS = {"button", "input", "select", "textarea", "summary"}


def focusable(page: Element) -> list[Element]:
    """The elements Tab reaches, in document order (hidden inputs left out)."""
    found = []
    for candidate in page.elements():
        tabindex = candidate.get("tabindex")
        if tabindex is not None and tabindex.lstrip("-").isdigit():
            if int(tabindex) >= 0:
                found.append(candidate)
            continue
        link = candidate.tag == "a" and candidate.get("href") is not None
        control = candidate.tag in CONTROLS and candidate.get("type") != "hidden"
        if link or control:
            found.append(candidate)
    return found


def assert_skip_link_first(html: str) -> None:
    page = parse(html)
    first = focusable(page)[0]
    assert first.matches("a", class_="skip-link", href="#main"), first
    assert first.words == "Skip to main content"
    target = page.element(id="main")
    assert target.matches("main", tabindex="-1")
    print(f"{len(focusable(page))} focusable elements, the skip link first")


def test_login_page_starts_with_a_skip_link(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_skip_link_first(response.text)


def test_customer_pages_start_with_a_skip_link(alice_client, alice_account):
    for url in ("/", f"/accounts/{alice_account}/"):
        response = alice_client.get(url)
        assert response.status_code == 200, url
        assert_skip_link_first(response.text)


def test_staff_pages_start_with_a_skip_link(staff_client, alice_account):
    # The dashboard holds the ledger and the accounts list.
    urls = [
        "/",
        f"/staff/accounts/{alice_account}/events/",
        "/staff/transactions/",
        "/staff/events/",
        "/staff/feed/",
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_skip_link_first(response.text)
    dashboard = parse(staff_client.get("/").text)
    assert dashboard.element(id="ledger-total")  # the ledger is on it


def test_status_pages_start_with_a_skip_link(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    assert_skip_link_first(response.text)


# The staff's list of accounts: sortable headers.

SORTABLE = {"Account", "Owner", "Last activity", "Balance"}
PANEL = [
    pytest.param("/", {}, id="page"),
    pytest.param("/accounts/panel/", HX, id="htmx"),
]


def sort_headers(html: str) -> dict[str, Element]:
    """The sortable column headers, by the name of their column."""
    headers = {}
    for header in elements(html, "th"):
        links = [link for link in header.elements("a") if "sort" in link.classes]
        if links:
            headers[_label(links[0])] = header
    assert set(headers) == SORTABLE
    return headers


def account_rows(html: str) -> list[str]:
    """The ids of the accounts listed, in order."""
    return [
        row["data-account-id"] for row in elements(html, "tr", data_account_id=True)
    ]


def _label(link: Element) -> str:
    """A header link's visible name, without its arrow and hidden words."""
    return "".join(child for child in link.children if isinstance(child, str)).strip()


@pytest.mark.parametrize(("url", "headers"), PANEL)
def test_the_list_sorted_by_balance_says_so_on_its_header(  # noqa: PLR0917
    staff_client, alice_account, alice_savings, bob_account, url, headers
):
    html = staff_client.get(url, {"sort": "balance"}, headers=headers).text
    rows = account_rows(html)
    # sort=balance is the biggest balance first, as it always was.
    assert rows == [str(alice_account), str(bob_account), str(alice_savings)]
    by_column = sort_headers(html)
    balance = by_column["Balance"]
    assert balance.matches("th", aria_sort="descending", scope="col", class_="num")
    link = balance.element("a")
    assert link["href"] == "?sort=-balance&page=1"  # a click flips it
    assert "is-sorted" in link.classes
    assert link.element("span", aria_hidden="true").text == "▼"
    assert link.element("span", class_="visually-hidden").words == "(sorted descending)"
    for name in SORTABLE - {"Balance"}:
        assert by_column[name].get("aria-sort") is None, name
    assert len(elements(html, "th", aria_sort=True)) == 1


@pytest.mark.parametrize(("url", "headers"), PANEL)
def test_the_other_direction_is_ascending_and_flips_back(  # noqa: PLR0917
    staff_client, alice_account, alice_savings, bob_account, url, headers
):
    html = staff_client.get(url, {"sort": "-balance"}, headers=headers).text
    rows = account_rows(html)
    assert rows == [str(alice_savings), str(bob_account), str(alice_account)]
    balance = sort_headers(html)["Balance"]
    assert balance.matches("th", aria_sort="ascending")
    link = balance.element("a")
    assert link["href"] == "?sort=balance&page=1"
    assert link.element("span", aria_hidden="true").text == "▲"
    assert link.element("span", class_="visually-hidden").words == "(sorted ascending)"


@pytest.mark.parametrize(("url", "headers"), PANEL)
def test_names_sort_a_to_z_first_and_an_unsorted_list_marks_no_header(
    staff_client, alice_account, bob_account, url, headers
):
    html = staff_client.get(url, {"sort": "owner", "q": "o"}, headers=headers).text
    owner = sort_headers(html)["Owner"]
    assert owner.matches("th", aria_sort="ascending")
    assert owner.element("a")["href"] == "?q=o&sort=-owner&page=1"  # search kept
    # By default the list is in the order the accounts were opened, which
    # no column shows: no header claims the sort.
    html = staff_client.get(url, headers=headers).text
    assert elements(html, "th", aria_sort=True) == []
    for header in sort_headers(html).values():
        assert "is-sorted" not in header.element("a").classes
        assert header.elements("span", aria_hidden="true") == []


@pytest.mark.parametrize("sort", ["balance", "-balance", "sideways", ""])
def test_any_sort_parameter_gives_a_page_with_at_most_one_sorted_header(
    staff_client, alice_account, sort
):
    for headers in ({}, HX):
        response = staff_client.get("/accounts/panel/", {"sort": sort}, headers=headers)
        assert response.status_code == 200
        assert len(elements(response.text, "th", aria_sort=True)) <= 1


# Staff search: the address keeps the search.


def test_a_typed_search_puts_itself_in_the_address_bar(
    staff_client, alice_account, bob_account
):
    typed = HX | {
        "HX-Trigger": "account-search",
        "HX-Current-URL": "http://testserver/",
    }
    response = staff_client.get(
        "/accounts/panel/", {"q": "bob", "sort": "balance"}, headers=typed
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/?q=bob&sort=balance&page=1"
    assert elements(response.text, "tr", data_account_id=str(bob_account))
    assert not elements(response.text, "tr", data_account_id=str(alice_account))


def test_the_panel_refreshing_itself_leaves_the_address_alone(
    staff_client, bob_account
):
    polled = HX | {"HX-Trigger": "accounts-panel"}
    response = staff_client.get("/accounts/panel/", {"q": "bob"}, headers=polled)
    assert response.status_code == 200
    assert "HX-Push-Url" not in response
    assert "HX-Push-Url" not in staff_client.get("/accounts/panel/", headers=HX)


def test_the_pushed_address_shows_the_same_search_on_a_reload(
    staff_client, alice_account, bob_account
):
    typed = HX | {"HX-Trigger": "account-search"}
    pushed = staff_client.get(
        "/accounts/panel/", {"q": "BOB", "sort": "-balance"}, headers=typed
    )["HX-Push-Url"]
    html = staff_client.get(pushed).text
    box = element(html, "input", id="account-search")
    assert box["value"] == "BOB"
    assert box["hx-get"] == "/accounts/panel/"
    assert element(html, "input", type="hidden", name="sort")["value"] == "-balance"
    assert elements(html, "tr", data_account_id=str(bob_account))
    assert not elements(html, "tr", data_account_id=str(alice_account))
    assert sort_headers(html)["Balance"].matches("th", aria_sort="ascending")
    summary = element(html, class_="muted list-summary")
    assert "1 of 2 accounts match “BOB”" in summary.words
