"""Staff pages for reversals: reverse a transaction, approve or reject a large one.

On this test's bank (``site_bank``), on SQLite and PostgreSQL. Each URL
with and without htmx: done, and refused with a 422 beside the field that
records nothing; staff only; the requester cannot approve their own; the
same form posted twice reverses once; and a transaction is found from its
id alone when the form does not say which account.
"""

from __future__ import annotations

import json
from decimal import Decimal
from uuid import uuid4

import pytest
from django.test import Client

from accounts import reversal_views
from accounts.reversal import Reversal
from tests.support.html import element, elements, parse
from tests.support.http import HX, signed_in
from tests.views.test_how_it_works import (
    SOURCE_URL,
    assert_true_to_the_repository,
    disclosures,
)

PLAIN_AND_HTMX = pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
LOGIN = "/accounts/login/"


def head(bank):
    return bank.accounts.recorder.max_notification_id() or 0


def balance(bank, account_id):
    return bank.accounts.get_account(account_id).balance


def triggered(response):
    return set(json.loads(response.headers.get("HX-Trigger", "{}")))


def reverse_url(transaction_id):
    return f"/staff/transactions/{transaction_id}/reverse/"


def approve_url(reversal_id):
    return f"/staff/reversals/{reversal_id}/approve/"


def reject_url(reversal_id):
    return f"/staff/reversals/{reversal_id}/reject/"


def notice(response):
    """The notice put into the page's status region, out of band."""
    html = response.content.decode()
    status = element(html, id="reversal-status", hx_swap_oob="innerHTML")
    return status.element("p", class_="notice notice-ok", tabindex="-1")


def field_error(response, transaction_id, field):
    html = response.content.decode()
    return element(html, id=f"id_reverse_{transaction_id.hex}_{field}_error").text


def form_errors(response):
    return " ".join(e.words for e in elements(response.content.decode(), role="alert"))


@pytest.fixture
def ada(site_bank):
    """Ada's current account: £100.00."""
    account_id = site_bank.accounts.open_account("ada", "Current")
    site_bank.accounts.deposit(account_id, "100.00")
    return account_id


@pytest.fixture
def bob(site_bank):
    """Bob's savings: £50.00."""
    account_id = site_bank.accounts.open_account("bob", "Savings")
    site_bank.accounts.deposit(account_id, "50.00")
    return account_id


@pytest.fixture
def supervisor(as_staff, django_user_model):
    """A second member of staff, to approve what ``as_staff`` asks for."""
    user = django_user_model.objects.create_user(
        "supervisor", password="supervisor-1", is_staff=True
    )
    return signed_in(user)


@pytest.fixture
def waiting(site_bank, ada, as_staff):
    """A deposit of £2,000.00 to Ada's account, its reversal waiting (by staff)."""
    deposit = site_bank.accounts.deposit(ada, "2000.00")
    reversal = site_bank.accounts.reversals.reverse(
        deposit, ada, "staff", "Paid in by mistake"
    )
    return reversal


# Reversing at once: a deposit, a withdrawal, a transfer.


def movement(bank, kind, ada, bob):
    accounts = bank.accounts
    if kind == "deposit":
        return accounts.deposit(ada, "40.00"), {ada: Decimal("100.00")}
    if kind == "withdrawal":
        return accounts.withdraw(ada, "40.00"), {ada: Decimal("100.00")}
    transfer = accounts.transfer(ada, bob, "40.00")
    return transfer, {ada: Decimal("100.00"), bob: Decimal("50.00")}


@pytest.mark.parametrize("kind", ["deposit", "withdrawal", "transfer"])
@PLAIN_AND_HTMX
def test_a_small_reversal_is_carried_out_at_once(  # noqa: PLR0917
    as_staff, site_bank, ada, bob, kind, headers
):
    transaction_id, balances_after = movement(site_bank, kind, ada, bob)
    response = as_staff.post(
        reverse_url(transaction_id),
        {"reason": "Made in error", "account": str(ada), "token": "t-1"},
        headers=headers,
    )
    for account_id, expected in balances_after.items():
        assert balance(site_bank, account_id) == expected
    reversal = site_bank.accounts.reversals.of_transaction(transaction_id)
    assert reversal.status == "carried out"
    assert reversal.requested_by == "staff"
    assert reversal.kind == kind
    if headers:
        assert response.status_code == 200
        assert "<html" not in response.content.decode()
        assert notice(response).words == f"Reversed: the {kind} of £40.00."
        assert {"balancesChanged", "ledgerChanged"} <= triggered(response)
        # The form's place says what became of it.
        html = response.content.decode()
        state = element(html, id=f"reverse-{transaction_id}").element("p")
        assert state["data-status"] == "carried out"
    else:
        assert response.status_code == 302
        assert response["Location"] == f"/staff/trace/{transaction_id}/"
        page = as_staff.get(response["Location"]).content.decode()
        assert f"Reversed: the {kind} of £40.00." in page


@PLAIN_AND_HTMX
def test_a_large_reversal_waits_for_a_second_member_of_staff(
    as_staff, site_bank, ada, headers
):
    deposit = site_bank.accounts.deposit(ada, "1000.01")
    response = as_staff.post(
        reverse_url(deposit),
        {"reason": "Paid in twice", "account": str(ada)},
        headers=headers,
    )
    assert balance(site_bank, ada) == Decimal("1100.01")
    reversal = site_bank.accounts.reversals.of_transaction(deposit)
    assert (reversal.status, reversal.amount) == ("pending", Decimal("1000.01"))
    waiting_text = (
        "Waiting for a second member of staff to approve "
        "the reversal of the deposit of £1,000.01."
    )
    if headers:
        assert response.status_code == 200
        said = notice(response)
        assert said.words.startswith(waiting_text)
        assert said.element("a")["href"] == "/staff/reversals/"
        assert not triggered(response) & {"balancesChanged"}
    else:
        assert response.status_code == 302
        assert response["Location"] == "/staff/reversals/"
        page = as_staff.get(response["Location"]).content.decode()
        assert waiting_text in page
        row = element(page, id=f"reversal-{reversal.id}")
        assert row["data-status"] == "pending"


def test_exactly_one_thousand_pounds_is_carried_out_at_once(as_staff, site_bank, ada):
    deposit = site_bank.accounts.deposit(ada, "1000.00")
    response = as_staff.post(
        reverse_url(deposit), {"reason": "Limit", "account": str(ada)}, headers=HX
    )
    assert response.status_code == 200
    assert site_bank.accounts.reversals.of_transaction(deposit).status == "carried out"


@PLAIN_AND_HTMX
def test_freeze_lets_a_reversal_go_below_the_limit_and_freezes_the_account(
    as_staff, site_bank, ada, headers
):
    deposit = site_bank.accounts.deposit(ada, "80.00")
    site_bank.accounts.withdraw(ada, "170.00")
    response = as_staff.post(
        reverse_url(deposit),
        {"reason": "Fraudulent deposit", "account": str(ada), "freeze": "1"},
        headers=headers,
    )
    assert response.status_code == (200 if headers else 302)
    account = site_bank.accounts.get_account(ada)
    assert account.balance == Decimal("-70.00")
    assert account.frozen
    if headers:
        assert "The account it was taken back from is frozen." in notice(response).text


def test_a_withdrawal_reversed_with_freeze_pays_back_and_freezes_nothing(
    as_staff, site_bank, ada
):
    withdrawal = site_bank.accounts.withdraw(ada, "30.00")
    response = as_staff.post(
        reverse_url(withdrawal),
        {"reason": "Cash machine fault", "account": str(ada), "freeze": "1"},
        headers=HX,
    )
    assert notice(response).words == "Reversed: the withdrawal of £30.00."
    account = site_bank.accounts.get_account(ada)
    assert (account.balance, account.frozen) == (Decimal("100.00"), False)


# Approving and rejecting.


@PLAIN_AND_HTMX
def test_another_member_of_staff_approves_and_it_is_carried_out(
    supervisor, site_bank, ada, waiting, headers
):
    response = supervisor.post(
        approve_url(waiting.id), {"token": "a-1"}, headers=headers
    )
    assert balance(site_bank, ada) == Decimal("100.00")
    reversal = site_bank.accounts.reversals.get(waiting.id)
    assert (reversal.status, reversal.decided_by) == ("carried out", "supervisor")
    said = "Approved and carried out: the reversal of the deposit of £2,000.00."
    if headers:
        assert response.status_code == 200
        assert notice(response).words == said
        row = element(response.content.decode(), id=f"reversal-{waiting.id}")
        assert row["data-status"] == "carried out"
        assert not row.elements("form")
        assert "balancesChanged" in triggered(response)
    else:
        assert response.status_code == 302
        assert response["Location"] == "/staff/reversals/"
        assert said in supervisor.get("/staff/reversals/").content.decode()


@PLAIN_AND_HTMX
def test_whoever_asked_cannot_approve_it(as_staff, site_bank, waiting, headers):
    before = head(site_bank)
    response = as_staff.post(approve_url(waiting.id), {"token": "a-2"}, headers=headers)
    assert response.status_code == 403
    assert "another member of staff must approve it" in response.content.decode()
    assert ("<html" in response.content.decode()) is not bool(headers)
    # htmx swaps no 403: the page's script shows this header's words instead.
    assert "another member of staff must approve it" in response["X-Refusal"]
    assert head(site_bank) == before
    assert site_bank.accounts.reversals.get(waiting.id).status == "pending"


@PLAIN_AND_HTMX
def test_a_reversal_is_rejected_with_a_reason(
    supervisor, site_bank, ada, waiting, headers
):
    response = supervisor.post(
        reject_url(waiting.id), {"reason": "The deposit was right"}, headers=headers
    )
    reversal = site_bank.accounts.reversals.get(waiting.id)
    assert (reversal.status, reversal.decided_by, reversal.decision_reason) == (
        "rejected",
        "supervisor",
        "The deposit was right",
    )
    assert balance(site_bank, ada) == Decimal("2100.00")
    if headers:
        assert response.status_code == 200
        said = notice(response).words
        assert said.startswith("Rejected: the reversal of the deposit of £2,000.00.")
        row = element(response.content.decode(), id=f"reversal-{waiting.id}")
        assert row["data-status"] == "rejected"
        assert "The deposit was right" in row.text
    else:
        assert response.status_code == 302
        assert response["Location"] == "/staff/reversals/"


@PLAIN_AND_HTMX
def test_a_decided_reversal_is_not_decided_again(
    supervisor, site_bank, waiting, headers
):
    site_bank.accounts.reversals.reject(waiting.id, "supervisor", "No")
    before = head(site_bank)
    approve = supervisor.post(
        approve_url(waiting.id), {"token": "a-3"}, headers=headers
    )
    reject = supervisor.post(reject_url(waiting.id), {"reason": "x"}, headers=headers)
    for response in (approve, reject):
        assert response.status_code == 422
        assert "This reversal was rejected by supervisor." in form_errors(response)
    assert head(site_bank) == before


@PLAIN_AND_HTMX
def test_approval_is_refused_if_the_money_has_gone_since(
    supervisor, site_bank, ada, waiting, headers
):
    site_bank.accounts.withdraw(ada, "1950.00")
    before = head(site_bank)
    response = supervisor.post(
        approve_url(waiting.id), {"token": "a-4"}, headers=headers
    )
    assert response.status_code == 422
    assert "would take it below its overdraft limit" in form_errors(response)
    assert head(site_bank) == before
    assert site_bank.accounts.reversals.get(waiting.id).status == "pending"


@PLAIN_AND_HTMX
def test_a_rejection_needs_a_reason(supervisor, site_bank, waiting, headers):
    before = head(site_bank)
    for data in ({}, {"reason": " "}, {"reason": "x" * 201}):
        response = supervisor.post(reject_url(waiting.id), data, headers=headers)
        assert response.status_code == 422
        error = element(
            response.content.decode(), id=f"id_reject_{waiting.id.hex}_reason_error"
        )
        assert error.text
    assert head(site_bank) == before


@PLAIN_AND_HTMX
def test_an_unknown_reversal_is_404(supervisor, site_bank, ada, headers):
    deposit = site_bank.accounts.deposit(ada, "5.00")
    before = head(site_bank)
    # Ids never used, and ids of other things in the bank: an account, and
    # the id a reversal of a transaction would have if one were asked for.
    for reversal_id in (uuid4(), ada, Reversal.create_id(deposit)):
        for url, data in (
            (approve_url(reversal_id), {"token": "a-5"}),
            (reject_url(reversal_id), {"reason": "No"}),
        ):
            assert supervisor.post(url, data, headers=headers).status_code == 404
    assert head(site_bank) == before


# Reversals refused.


def already_reversed(bank, ada):
    deposit = bank.accounts.deposit(ada, "10.00")
    bank.accounts.reversals.reverse(deposit, ada, "staff", "Once")
    return deposit, str(ada)


def waiting_for_approval(bank, ada):
    deposit = bank.accounts.deposit(ada, "5000.00")
    bank.accounts.reversals.reverse(deposit, ada, "staff", "Large")
    return deposit, str(ada)


def a_reversal(bank, ada):
    deposit = bank.accounts.deposit(ada, "10.00")
    reversal = bank.accounts.reversals.reverse(deposit, ada, "staff", "Once")
    return reversal.transaction_id, str(ada)


def a_reversal_by_id_alone(bank, ada):
    return a_reversal(bank, ada)[0], ""


def below_the_limit(bank, ada):
    deposit = bank.accounts.deposit(ada, "60.00")
    bank.accounts.withdraw(ada, "150.00")
    return deposit, str(ada)


def closed_account(bank, ada):
    savings = bank.accounts.open_account("ada", "Savings")
    deposit = bank.accounts.deposit(savings, "10.00")
    bank.accounts.withdraw(savings, "10.00")
    bank.accounts.close_account(savings)
    return deposit, str(savings)


def unknown_transaction(bank, ada):
    return uuid4(), str(ada)


def unknown_transaction_by_id_alone(bank, ada):
    return uuid4(), ""


def another_account(bank, ada):
    other = bank.accounts.open_account("bob", "Other")
    return bank.accounts.deposit(ada, "10.00"), str(other)


def an_unknown_account(bank, ada):
    return bank.accounts.deposit(ada, "10.00"), str(uuid4())


REFUSALS = [
    (already_reversed, None, "has been reversed already"),
    (waiting_for_approval, None, "waiting for a second member of staff"),
    (a_reversal, None, "a reversal cannot itself be reversed"),
    (a_reversal_by_id_alone, None, "a reversal cannot itself be reversed"),
    (below_the_limit, "freeze", "below its overdraft limit"),
    (closed_account, None, "is closed"),
    (unknown_transaction, None, "This account has no transaction"),
    (unknown_transaction_by_id_alone, None, "in the bank's recent records"),
    (another_account, None, "This account has no transaction"),
    (an_unknown_account, None, "There is no account"),
]


@pytest.mark.parametrize(
    ("setup", "field", "message"), REFUSALS, ids=[s.__name__ for s, *_ in REFUSALS]
)
@PLAIN_AND_HTMX
def test_a_refused_reversal_is_422_and_records_nothing(  # noqa: PLR0917
    as_staff, site_bank, ada, setup, field, message, headers
):
    transaction_id, account = setup(site_bank, ada)
    before = head(site_bank)
    data = {"reason": "Try", "token": "r-1"} | ({"account": account} if account else {})
    response = as_staff.post(reverse_url(transaction_id), data, headers=headers)
    assert response.status_code == 422
    html = response.content.decode()
    assert ("<html" in html) is not bool(headers)
    if field:
        assert message in field_error(response, transaction_id, field)
    else:
        assert message in element(html, class_="form-errors", role="alert").words
    assert "HX-Trigger" not in response.headers
    assert head(site_bank) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give a reason"),
        ({"reason": "   "}, "Give a reason"),
        ({"reason": "x" * 201}, "at most 200 characters"),
        ({"reason": "\u202eevil"}, "reverses text"),
    ],
)
@PLAIN_AND_HTMX
def test_a_reason_is_needed_beside_its_field(  # noqa: PLR0917
    as_staff, site_bank, ada, data, message, headers
):
    deposit = site_bank.accounts.deposit(ada, "10.00")
    before = head(site_bank)
    response = as_staff.post(
        reverse_url(deposit), data | {"account": str(ada)}, headers=headers
    )
    assert response.status_code == 422
    assert message in field_error(response, deposit, "reason")
    assert head(site_bank) == before


@PLAIN_AND_HTMX
def test_the_same_form_posted_twice_reverses_once(as_staff, site_bank, ada, headers):
    deposit = site_bank.accounts.deposit(ada, "30.00")
    data = {"reason": "Double click", "account": str(ada), "token": "same-token"}
    first = as_staff.post(reverse_url(deposit), data, headers=headers)
    after_first = head(site_bank)
    second = as_staff.post(reverse_url(deposit), data, headers=headers)
    assert first.status_code == second.status_code == (200 if headers else 302)
    assert head(site_bank) == after_first
    assert balance(site_bank, ada) == Decimal("100.00")
    reversed_events = [
        e for e in site_bank.accounts.get_history(ada) if e.type == "Reversed"
    ]
    assert len(reversed_events) == 1


def test_an_approval_posted_twice_is_carried_out_once(
    supervisor, site_bank, ada, waiting
):
    first = supervisor.post(approve_url(waiting.id), {"token": "twice"}, headers=HX)
    after_first = head(site_bank)
    second = supervisor.post(approve_url(waiting.id), {"token": "twice"}, headers=HX)
    assert first.status_code == second.status_code == 200
    assert head(site_bank) == after_first
    assert balance(site_bank, ada) == Decimal("100.00")


# Found from its id alone.


@pytest.mark.parametrize("kind", ["deposit", "withdrawal", "transfer"])
def test_without_an_account_the_transaction_is_found_from_its_id(
    as_staff, site_bank, ada, bob, kind
):
    transaction_id, balances_after = movement(site_bank, kind, ada, bob)
    site_bank.accounts.deposit(bob, "1.00")  # something recorded after it
    response = as_staff.post(
        reverse_url(transaction_id), {"reason": "By id"}, headers=HX
    )
    assert response.status_code == 200
    assert notice(response).words == f"Reversed: the {kind} of £40.00."
    balances_after[bob] = balances_after.get(bob, Decimal("50.00")) + 1
    for account_id, expected in balances_after.items():
        assert balance(site_bank, account_id) == expected


# The pages: the form on a page of its own, the trace, the timeline, the list.


@PLAIN_AND_HTMX
def test_the_form_is_given_for_a_transaction(as_staff, site_bank, ada, headers):
    deposit = site_bank.accounts.deposit(ada, "10.00")
    for query in (f"?account={ada}", "", "?account=not-an-id"):
        response = as_staff.get(reverse_url(deposit) + query, headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        assert ("<html" in html) is not bool(headers)
        form = element(html, "form", id=f"reverse-form-{deposit}")
        assert form["action"] == form["hx-post"] == reverse_url(deposit)
        assert form.element("input", name="account")["value"] == str(ada)
        assert form.element("input", name="token", type="hidden")["value"]
        assert form.element("input", name="freeze", type="checkbox")["value"] == "1"
        assert form.element("input", name="reason")["maxlength"] == "200"
    unknown = as_staff.get(reverse_url(uuid4()), headers=headers)
    assert unknown.status_code == 404


def test_the_trace_page_has_the_form_while_it_may_be_reversed(
    as_staff, supervisor, site_bank, ada
):
    deposit = site_bank.accounts.deposit(ada, "1500.00")
    page = as_staff.get(f"/staff/trace/{deposit}/").content.decode()
    card = element(page, id="reverse-card")
    assert card.element("form", id=f"reverse-form-{deposit}")
    assert card.element(id="reversal-status", role="status")
    # Asked for: the form gives way to what became of it.
    as_staff.post(reverse_url(deposit), {"reason": "Large", "account": str(ada)})
    page = as_staff.get(f"/staff/trace/{deposit}/").content.decode()
    assert not elements(page, "form", id=f"reverse-form-{deposit}")
    state = element(page, id=f"reverse-{deposit}").element("p")
    assert state["data-status"] == "pending"
    # Rejected: it may be asked for again.
    reversal = site_bank.accounts.reversals.of_transaction(deposit)
    supervisor.post(reject_url(reversal.id), {"reason": "Wrong one"})
    page = as_staff.get(f"/staff/trace/{deposit}/").content.decode()
    form = element(page, "form", id=f"reverse-form-{deposit}")
    assert "Wrong one" in form.text
    again = as_staff.post(
        reverse_url(deposit), {"reason": "Again", "account": str(ada)}, headers=HX
    )
    assert again.status_code == 200
    assert site_bank.accounts.reversals.of_transaction(deposit).status == "pending"


def test_the_trace_of_a_reversal_has_no_form(as_staff, site_bank, ada):
    deposit = site_bank.accounts.deposit(ada, "10.00")
    reversal = site_bank.accounts.reversals.reverse(deposit, ada, "staff", "Once")
    page = as_staff.get(f"/staff/trace/{reversal.transaction_id}/").content.decode()
    assert not elements(page, id="reverse-card")


def test_the_timeline_offers_to_reverse_each_movement(as_staff, site_bank, ada, bob):
    transfer = site_bank.accounts.transfer(ada, bob, "5.00")
    html = as_staff.get(f"/staff/accounts/{ada}/events/").content.decode()
    offers = parse(html).elements("details", class_="event-reverse")
    assert len(offers) == 2  # the deposit and the transfer
    row = element(html, "li", data_type="TransferSent")
    offer = row.element("details", class_="event-reverse")
    assert offer.element("summary").words == "Reverse…"
    assert offer["hx-get"] == f"{reverse_url(transfer)}?account={ada}"
    assert offer["hx-trigger"] == "toggle once"
    assert offer.element("a")["href"] == f"{reverse_url(transfer)}?account={ada}"
    assert element(html, id="reversal-status", role="status")
    # Opened: the form itself, for htmx to put in its place.
    fragment = as_staff.get(offer["hx-get"], headers=HX).content.decode()
    assert element(fragment, "form", id=f"reverse-form-{transfer}")


def test_the_timeline_shows_a_reversal_with_its_reason_and_both_transactions(
    as_staff, site_bank, ada
):
    deposit = site_bank.accounts.deposit(ada, "10.00")
    reversal = site_bank.accounts.reversals.reverse(deposit, ada, "staff", "Twice")
    html = as_staff.get(f"/staff/accounts/{ada}/events/").content.decode()
    row = element(html, "li", data_type="Reversed")
    assert row.element("q", class_="event-reason").words == "Twice"
    links = {a["href"] for a in row.elements("a")}
    assert {f"/staff/trace/{deposit}/", f"/staff/trace/{reversal.transaction_id}/"} <= (
        links
    )
    # A reversal cannot be reversed: no offer beside it.
    assert not row.elements("details", class_="event-reverse")


def test_the_list_shows_each_reversal_newest_first(  # noqa: PLR0917
    as_staff, supervisor, site_bank, ada, bob, waiting
):
    transfer = site_bank.accounts.transfer(ada, bob, "5.00")
    small = site_bank.accounts.reversals.reverse(transfer, ada, "staff", "Wrong payee")
    page = supervisor.get("/staff/reversals/").content.decode()
    rows = parse(page).elements("li", class_="reversal")
    assert [r["id"] for r in rows] == [f"reversal-{small.id}", f"reversal-{waiting.id}"]
    assert [r["data-status"] for r in rows] == ["carried out", "pending"]
    done, pending = rows
    assert done.element("a", class_="reversal-transaction")["href"] == (
        f"/staff/trace/{transfer}/"
    )
    accounts = done.element(class_="reversal-accounts").elements("a")
    assert [a["href"] for a in accounts] == [
        f"/staff/accounts/{ada}/events/",
        f"/staff/accounts/{bob}/events/",
    ]
    assert "Wrong payee" in done.text
    assert "Carried out at once" in done.text
    assert not done.elements("form")
    assert pending.element("form", class_="reversal-approve")["action"] == (
        approve_url(waiting.id)
    )
    reject = pending.element("form", class_="reversal-reject")
    assert reject.element("input", name="reason")
    # Whoever asked sees no approve form, only why.
    own = element(as_staff.get("/staff/reversals/").content.decode(), id=rows[1]["id"])
    assert not own.elements("form", class_="reversal-approve")
    assert own.element("form", class_="reversal-reject")
    assert "another member of staff must approve it" in own.text


def test_the_list_says_when_there_are_none(as_staff, site_bank):
    page = as_staff.get("/staff/reversals/").content.decode()
    assert (
        "No reversal has been asked for yet."
        in element(page, id="reversals-empty").text
    )


def test_the_list_pages_back(as_staff, site_bank, ada, monkeypatch):
    monkeypatch.setattr(reversal_views, "REVERSALS_PER_PAGE", 2)
    ids = []
    for n in range(3):
        deposit = site_bank.accounts.deposit(ada, "1.00")
        ids.append(
            site_bank.accounts.reversals.reverse(deposit, ada, "staff", f"R{n}").id
        )
    first = as_staff.get("/staff/reversals/").content.decode()
    rows = parse(first).elements("li", class_="reversal")
    assert [r["id"] for r in rows] == [f"reversal-{i}" for i in ids[:0:-1]]
    older = element(first, "a", id="reversals-older")["href"]
    assert older == "?before=2"
    second = as_staff.get(f"/staff/reversals/{older}").content.decode()
    rows = parse(second).elements("li", class_="reversal")
    assert [r["id"] for r in rows] == [f"reversal-{ids[0]}"]
    assert not elements(second, id="reversals-older")
    bad = as_staff.get("/staff/reversals/?before=nope")
    assert bad.status_code == 422


def test_the_list_explains_reversals(as_staff, site_bank, settings):
    settings.ESBANK_SOURCE_URL = SOURCE_URL
    found = disclosures(as_staff.get("/staff/reversals/").content.decode())
    assert set(found) == {"reversals"}
    assert_true_to_the_repository(found["reversals"], linked=True)


def test_the_dashboard_links_to_the_reversals_with_those_waiting(
    as_staff, site_bank, waiting
):
    page = as_staff.get("/").content.decode()
    link = element(page, "a", id="reversals-link")
    assert link["href"] == "/staff/reversals/"
    assert link.words == "Reversals (1 waiting)"


# Staff only.


def test_customers_get_403_and_anonymous_visitors_the_login_page(
    as_customer, site_bank, ada, waiting
):
    deposit = site_bank.accounts.deposit(ada, "10.00")
    before = head(site_bank)
    asks = [
        ("get", "/staff/reversals/", {}),
        ("get", reverse_url(deposit), {}),
        ("post", reverse_url(deposit), {"reason": "Mine", "account": str(ada)}),
        ("post", approve_url(waiting.id), {"token": "c-1"}),
        ("post", reject_url(waiting.id), {"reason": "Mine"}),
    ]
    anonymous = Client()
    for method, url, data in asks:
        for headers in ({}, HX):
            response = getattr(as_customer, method)(url, data, headers=headers)
            assert response.status_code == 403, url
        response = getattr(anonymous, method)(url, data)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    assert head(site_bank) == before
