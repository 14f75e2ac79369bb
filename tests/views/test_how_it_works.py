"""Each panel's "How this works": true to the code, linked to the feature map.

Each disclosure names a file of the repository and a class or method in
it, and a section of docs/FEATURES.md whose anchor exists; it sits outside
every element htmx replaces (a polled panel, a form's swap target), so it
stays open while the panel refreshes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.how_it_works import EXPLANATIONS, FEATURES_DOC
from tests.support.html import Element, parse
from tests.views.test_settings import load_settings, production_env

REPO = Path(__file__).resolve().parents[2]
SOURCE_URL = "https://forge.example/esbank/blob/main"


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading."""
    words = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return words.replace(" ", "-")


def feature_map_anchors() -> set[str]:
    text = (REPO / FEATURES_DOC).read_text()
    return {github_anchor(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def defines(path: Path, symbol: str) -> bool:
    """Whether ``path`` defines ``symbol``: a class or function, or Class.method."""
    text = path.read_text()
    *owner, name = symbol.split(".")
    if owner and not re.search(rf"^class {re.escape(owner[0])}\b", text, re.M):
        return False
    return bool(re.search(rf"^\s*(class|def) {re.escape(name)}\b", text, re.M))


def swapped_elements(page: Element) -> list[Element]:
    """What htmx replaces: polled panels, and the targets of hx-target."""
    swapped = page.elements(hx_trigger=True) + page.elements(hx_target="this")
    for target in {e["hx-target"] for e in page.elements(hx_target=True)}:
        if target.startswith("#"):
            swapped += page.elements(id=target[1:])
    return swapped


def disclosures(html: str) -> dict[str, Element]:
    """The page's disclosures by key, checked to sit outside what htmx swaps."""
    page = parse(html)
    for swapped in swapped_elements(page):
        inside = swapped.elements(data_how_it_works=True)
        assert not inside, f"{inside} inside {swapped}, which htmx replaces"
    found = page.elements("details", data_how_it_works=True)
    # Each once per page, each with a summary of its own to open it by.
    summaries = [d.elements("summary")[0].words for d in found]
    assert len(set(summaries)) == len(summaries)
    return {d["data-how-it-works"]: d for d in found}


def assert_true_to_the_repository(details: Element, *, linked: bool) -> None:
    key = details["data-how-it-works"]
    explanation = EXPLANATIONS[key]
    summary = details.elements()[0]
    assert summary.tag == "summary"
    assert summary.words == explanation.title
    assert explanation.text in details.words
    path = details.element("code", data_path=True).words
    assert (REPO / path).is_file(), path
    symbol = details.element("code", data_symbol=True).words
    assert defines(REPO / path, symbol), f"{symbol} not in {path}"
    doc = details.element(data_doc=True)
    file, _, anchor = doc["data-doc"].partition("#")
    assert file == FEATURES_DOC
    assert anchor in feature_map_anchors()
    assert doc.words == doc["data-doc"]
    if linked:
        assert doc.tag == "a"
        assert doc["href"] == f"{SOURCE_URL}/{FEATURES_DOC}#{anchor}"
    else:
        assert doc.tag == "code"


@pytest.fixture
def source_url(settings):
    settings.ESBANK_SOURCE_URL = SOURCE_URL


def page(client, url: str, expected: set[str]) -> dict[str, Element]:
    response = client.get(url)
    assert response.status_code == 200
    found = disclosures(response.content.decode())
    assert set(found) == expected
    return found


@pytest.mark.usefixtures("source_url")
def test_the_customer_account_page_explains_balance_statement_and_forms(
    alice_client, alice_account
):
    url = reverse("accounts:account_detail", args=[alice_account])
    found = page(alice_client, url, {"balance", "money_forms"})
    for details in found.values():
        assert_true_to_the_repository(details, linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_customer_dashboard_explains_the_accounts_list(alice_client, alice_account):
    found = page(alice_client, "/", {"accounts_list"})
    assert_true_to_the_repository(found["accounts_list"], linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_staff_dashboard_explains_ledger_processors_list_log_and_events(
    staff_client, alice_account
):
    found = page(
        staff_client,
        "/",
        {"ledger", "processors", "accounts_list", "transactions", "event_stream"},
    )
    for details in found.values():
        assert_true_to_the_repository(details, linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_timeline_explains_versions_and_snapshots(staff_client, alice_account):
    url = reverse("accounts:account_events", args=[alice_account])
    found = page(staff_client, url, {"timeline"})
    assert_true_to_the_repository(found["timeline"], linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_transaction_log_page_explains_the_log(staff_client, alice_account):
    found = page(staff_client, reverse("ledger:transactions"), {"transactions"})
    assert_true_to_the_repository(found["transactions"], linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_event_stream_explains_reading_every_log(staff_client, alice_account):
    found = page(staff_client, reverse("staff_events"), {"event_stream"})
    assert_true_to_the_repository(found["event_stream"], linked=True)


@pytest.mark.usefixtures("source_url")
def test_the_trace_explains_correlation_across_applications(
    staff_client, django_bank, alice_account
):
    transaction_id = django_bank.accounts.deposit(alice_account, "5.00")
    found = page(staff_client, reverse("trace", args=[transaction_id]), {"trace"})
    assert_true_to_the_repository(found["trace"], linked=True)


def test_staff_viewing_an_account_see_no_forms_and_no_explanation_of_them(
    staff_client, alice_account
):
    url = reverse("accounts:account_detail", args=[alice_account])
    page(staff_client, url, {"balance"})


def test_without_a_source_url_the_feature_map_is_named_not_linked(
    alice_client, alice_account
):
    url = reverse("accounts:account_detail", args=[alice_account])
    for details in page(alice_client, url, {"balance", "money_forms"}).values():
        assert_true_to_the_repository(details, linked=False)
        assert not details.elements("a")


def test_every_explanation_is_shown_on_some_page():
    templates = "".join(p.read_text() for p in (REPO / "templates").rglob("*.html"))
    shown = set(re.findall(r'{% how_it_works "(\w+)" %}', templates))
    assert shown == set(EXPLANATIONS)


def test_a_source_url_that_is_not_http_refuses_to_load():
    done = load_settings(production_env(ESBANK_SOURCE_URL="javascript:alert(1)"))
    assert done.returncode != 0
    assert "ESBANK_SOURCE_URL must be an http:// or https:// URL" in done.stderr
