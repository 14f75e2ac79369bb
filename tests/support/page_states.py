"""Every page a person can reach, each in the states worth checking: a list to extend.

A ``PageState`` names who is looking and how they got there: an address, or
a few clicks and keystrokes. ``tests/browser/test_axe.py`` runs axe-core on
each, and ``tests/browser/test_page_widths.py`` checks none scrolls
sideways, on a phone and on a desktop. To check a new page, add its states
to ``PAGE_STATES``.

The bank they look at (``build_bank``) is the hard case for a layout: an
account named with 100 characters and no space, owned by a customer whose
username is 100 characters long, holding £9,999,999.99, and £3,000,062.10
taken out of the bank. What is not a page is not listed: JSON (the
notification feed's sections, ``/health/``), the statement's CSV file (its
refusal is a page, and is), and the fragments htmx swaps into pages that
are listed (the payee check, the panels' refreshes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal
from uuid import UUID, uuid4

from django.core.cache import caches
from django.test import override_settings
from playwright.sync_api import expect

from tests.support.browser import PASSWORD

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.contrib.auth.models import User
    from playwright.sync_api import Page

    from esbank_site.bank import Bank

Who = Literal["anonymous", "customer", "newcomer", "staff"]

# As long as an account's owner may be, with no space to break it at.
LONG_USERNAME = ("beatrix.montgomery-fitzwilliam_" * 4)[:100]
# The longest name an account may have, with no space to break it at.
LONG_NAME = ("RainyDaySavingsForTheNewRoof" * 4)[:100]
LONG_REFERENCE = ("SalaryAndExpensesFromTheOffice" * 5)[:140]
# The longest reason staff may give, with no space to break it at.
LONG_REASON = ("DuplicatePaymentFromTheCardMachine" * 7)[:200]
BIG_BALANCE = Decimal("9999999.99")
# A phone's window and a desktop's.
VIEWPORTS = {
    "390px": {"width": 390, "height": 844},
    "1280px": {"width": 1280, "height": 800},
}


@dataclass(frozen=True)
class Accounts:
    """The ids of the accounts the pages show."""

    big: UUID  # LONG_NAME, LONG_USERNAME's, £9,999,999.99
    big_number: str  # its account number, as a payer types it
    everyday: UUID  # a statement longer than a page
    empty: UUID  # nothing moved yet
    closed: UUID
    withdrawal: UUID  # a transaction of everyday's that may still be reversed


@dataclass
class Site:
    """The live site, a logged-in page per person, and the bank's accounts."""

    base: str
    accounts: Accounts
    pages: dict[Who, Page] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """The address of ``path``, its {big}, {everyday}... the accounts' ids."""
        ids = {name: str(value) for name, value in vars(self.accounts).items()}
        return self.base + path.format(unknown=uuid4(), **ids)


@dataclass(frozen=True)
class PageState:
    name: str
    who: Who
    visit: Callable[[Page, Site], None]


def build_bank(bank: Bank, users: type[User]) -> Accounts:
    """The people and accounts every page state is seen with."""
    users.objects.create_user(LONG_USERNAME, password=PASSWORD)
    users.objects.create_user("newcomer", password=PASSWORD)
    users.objects.create_user("staff", password=PASSWORD, is_staff=True)
    accounts = bank.accounts
    big = accounts.open_account(LONG_USERNAME, LONG_NAME)
    everyday = accounts.open_account(LONG_USERNAME, "Everyday")
    empty = accounts.open_account(LONG_USERNAME, "Empty")
    closed = accounts.open_account(LONG_USERNAME, "Old savings")
    accounts.close_account(closed)

    accounts.deposit(everyday, "2500.00", description=LONG_REFERENCE)
    for pounds in range(1, 22):
        accounts.deposit(everyday, pounds)
    withdrawal = accounts.withdraw(everyday, "62.10")
    accounts.transfer(everyday, big, "100.00")
    # A reversal carried out (on the statement), and a large one waiting.
    paid_twice = accounts.deposit(everyday, "21.00")
    accounts.reversals.reverse(paid_twice, everyday, "staff", LONG_REASON)
    # £9,999,999.99 in the end, never more than £1,000,000.00 at a time.
    for _ in range(12):
        accounts.deposit(big, "1000000.00")
    accounts.deposit(big, "999899.99")
    for _ in range(3):
        accounts.withdraw(big, "1000000.00")
    bounced = accounts.deposit(big, "1000.01")
    accounts.reversals.reverse(bounced, big, LONG_USERNAME, LONG_REASON)
    accounts.withdraw(big, "1000.01")
    summary = accounts.get_account(big)
    assert summary.balance == BIG_BALANCE
    return Accounts(
        big=big,
        big_number=summary.number,
        everyday=everyday,
        empty=empty,
        closed=closed,
        withdrawal=withdrawal,
    )


def hold_still(page: Page) -> None:
    """Keep htmx from changing the page while it is measured or checked.

    Panels refresh themselves every few seconds; one swapped in halfway
    through a check would be checked half old and half new.
    """
    page.evaluate(
        """() => {
          const refuse = (e) => e.preventDefault();
          document.addEventListener("htmx:beforeRequest", refuse);
          document.addEventListener("htmx:beforeSwap", (e) => {
            e.detail.shouldSwap = false;
          });
        }"""
    )


# Ways to reach a state.


def at(path: str, status: int = 200) -> Callable[[Page, Site], None]:
    """Go to ``path`` ({big}, {everyday}...: the accounts' ids), expect ``status``."""

    def visit(page: Page, site: Site) -> None:
        response = page.goto(site.url(path))
        assert response is not None
        assert response.status == status, f"{path}: {response.status}, not {status}"

    return visit


def refused_login(page: Page, site: Site) -> None:
    at("/accounts/login/")(page, site)
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".form-errors")).to_be_visible()


def locked_out(page: Page, site: Site) -> None:
    """Wrong passwords until the login pauses (AXES_FAILURE_LIMIT)."""
    at("/accounts/login/")(page, site)
    heading = page.get_by_role("heading", name="Login paused")
    for _ in range(10):
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        if heading.count():
            return
    expect(heading).to_be_visible()


def expired_form(page: Page, site: Site) -> None:
    """A form posted without its CSRF token: the 403 that says it expired."""
    at("/accounts/login/")(page, site)
    page.locator("input[name=csrfmiddlewaretoken]").evaluate("input => input.remove()")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()


def refused_open(page: Page, site: Site) -> None:
    at("/")(page, site)
    page.locator("#open-account").get_by_role("button", name="Open account").click()
    expect(page.locator("#open-account .field-error")).to_be_visible()


def opened(page: Page, site: Site) -> None:
    at("/")(page, site)
    page.locator("#open-account").get_by_label("Name").fill("Holidays")
    page.locator("#open-account").get_by_role("button", name="Open account").click()
    expect(page.locator("#open-account .notice")).to_be_visible()


def money_form(
    action: str, button: str, fields: dict[str, str], outcome: str
) -> Callable[[Page, Site], None]:
    """Fill the account page's form for ``action`` and send it, through htmx."""

    def visit(page: Page, site: Site) -> None:
        at("/accounts/{everyday}/")(page, site)
        form = page.locator(f"#form-{action}")
        for label, value in fields.items():
            form.get_by_label(label, exact=True).fill(value)
        form.get_by_role("button", name=button).click()
        expect(form.locator(outcome).first).to_be_visible()

    return visit


def payee_confirmed(page: Page, site: Site) -> None:
    """The transfer form names whose account the number typed is."""
    at("/accounts/{everyday}/")(page, site)
    form = page.locator("#form-transfer")
    form.get_by_label("To account number").fill(site.accounts.big_number)
    expect(form.locator(".payee-found")).to_be_visible()


def refused_close(page: Page, site: Site) -> None:
    at("/accounts/{everyday}/")(page, site)
    form = page.locator("#form-close_account")
    form.get_by_role("heading", name="Close account").click()  # opens the details
    form.get_by_role("button", name="Close this account").click()
    expect(form.locator(".form-errors")).to_be_visible()


def refused_deposit_without_javascript(page: Page, site: Site) -> None:
    """The same refusal as a whole page: the form posted as a plain browser would."""
    at("/accounts/{everyday}/")(page, site)
    form = page.locator("#form-deposit")
    form.get_by_label("Amount").fill("abc")
    with page.expect_navigation():
        form.locator("form").evaluate("form => form.submit()")  # htmx sees no event
    expect(form.locator(".field-error")).to_be_visible()


def too_many_payments(page: Page, site: Site) -> None:
    """Payments past the limit, posted without htmx: the 429 page."""
    caches["throttle"].clear()
    slow_down = page.get_by_role("heading", name="Please slow down")
    with override_settings(ESBANK_MONEY_POSTS_PER_MINUTE=1):
        # Two in one minute's window; a third if the minute turned between.
        for _ in range(3):
            at("/accounts/{everyday}/")(page, site)
            page.locator("#form-deposit").get_by_label("Amount").fill("1.00")
            with page.expect_navigation():
                page.locator("#form-deposit form").evaluate("form => form.submit()")
            if slow_down.count():
                break
    caches["throttle"].clear()
    expect(slow_down).to_be_visible()


def with_broken_bank(dotted_path: str, status: int) -> Callable[[Page, Site], None]:
    """The dashboard while the bank raises (``dotted_path`` names the function)."""

    def visit(page: Page, site: Site) -> None:
        with override_settings(ESBANK_BANK=dotted_path):
            at("/", status=status)(page, site)

    return visit


def unreachable_bank() -> None:
    """What the site gets from a bank whose database cannot be reached."""
    raise TimeoutError("the database did not answer")


def broken_bank() -> None:
    """What the site gets from a bank with a bug: a 500."""
    raise RuntimeError("a bug, for the 500 page")


def older_statement(page: Page, site: Site) -> None:
    at("/accounts/{everyday}/")(page, site)
    older = page.locator("#statement-older").get_attribute("href")
    assert older
    at(older)(page, site)


def older_transactions(page: Page, site: Site) -> None:
    at("/staff/transactions/")(page, site)
    older = page.get_by_role("link", name=re.compile("Older")).get_attribute("href")
    assert older
    at(older)(page, site)


def older_events(page: Page, site: Site) -> None:
    at("/staff/events/")(page, site)
    older = page.locator("#older-events").get_attribute("href")
    assert older
    at(older)(page, site)


def newest_trace(page: Page, site: Site) -> None:
    """The trace of the newest transaction, reached from the transaction log."""
    at("/staff/transactions/")(page, site)
    trace = page.locator(".log-number").first.get_attribute("href")
    assert trace
    at(trace)(page, site)


def snapshot_taken(page: Page, site: Site) -> None:
    at("/staff/accounts/{everyday}/events/")(page, site)
    page.get_by_role("button", name="Take a snapshot now").click()
    expect(page.locator(".message-success")).to_be_visible()


def staff_operation_refused(page: Page, site: Site) -> None:
    """A limit past the most, with no reason: both refused beside their fields."""
    at("/accounts/{big}/")(page, site)
    form = page.locator("#form-set_overdraft_limit")
    form.get_by_label("Overdraft limit (£)").fill("99999")
    form.get_by_role("button", name="Set limit").click()
    expect(form.locator(".field-error")).to_have_count(2)


def frozen_by_staff(page: Page, site: Site) -> None:
    """Staff freeze an account: its badge, the notice, the unfreeze form."""
    at("/accounts/{empty}/")(page, site)
    form = page.locator("#form-freeze_account")
    form.get_by_label("Reason").fill("Card reported stolen by the customer")
    form.get_by_role("button", name="Freeze account").click()
    expect(page.locator("#account-status .notice")).to_be_visible()
    expect(page.locator("#form-unfreeze_account")).to_be_visible()


def reversal_refused(page: Page, site: Site) -> None:
    """Reverse without a reason: refused beside the field."""
    at("/staff/transactions/{withdrawal}/reverse/")(page, site)
    page.locator("#reverse-card").get_by_role("button", name="Reverse").click()
    expect(page.locator("#reverse-card .field-error")).to_have_count(1)


def time_travel_refused(page: Page, site: Site) -> None:
    at("/staff/accounts/{everyday}/events/?at=yesterday-ish", status=422)(page, site)


PAGE_STATES: list[PageState] = [
    # Anyone.
    PageState("login", "anonymous", at("/accounts/login/")),
    PageState(
        "login, signed out when idle", "anonymous", at("/accounts/login/?timed_out=1")
    ),
    PageState("login refused", "anonymous", refused_login),
    PageState("login form expired (403)", "anonymous", expired_form),
    PageState("login paused", "anonymous", locked_out),
    PageState("not found, signed out (404)", "anonymous", at("/no-such-page/", 404)),
    # A customer with accounts, and one without.
    PageState("customer dashboard", "customer", at("/")),
    PageState("customer dashboard, no accounts", "newcomer", at("/")),
    PageState("open an account refused", "customer", refused_open),
    PageState("account opened", "customer", opened),
    PageState("account with a statement", "customer", at("/accounts/{everyday}/")),
    PageState("account, older statement page", "customer", older_statement),
    PageState(
        "account, big figures and a long name", "customer", at("/accounts/{big}/")
    ),
    PageState("account, statement empty", "customer", at("/accounts/{empty}/")),
    PageState("account closed", "customer", at("/accounts/{closed}/")),
    PageState(
        "deposit made",
        "customer",
        money_form("deposit", "Deposit", {"Amount": "1.00"}, ".notice"),
    ),
    PageState(
        "deposit refused (422)",
        "customer",
        money_form("deposit", "Deposit", {"Amount": "abc"}, ".field-error"),
    ),
    PageState(
        "withdrawal refused (422)",
        "customer",
        money_form("withdraw", "Withdraw", {"Amount": "99999"}, ".field-error"),
    ),
    PageState(
        "transfer refused (422)",
        "customer",
        money_form(
            "transfer",
            "Transfer",
            {"To account number": "0000 0000", "Amount": "5.00"},
            ".field-error",
        ),
    ),
    PageState("close refused", "customer", refused_close),
    PageState("transfer, payee confirmed", "customer", payee_confirmed),
    PageState(
        "statement filtered",
        "customer",
        at("/accounts/{everyday}/?kind=deposit&q=Salary"),
    ),
    PageState(
        "statement filters refused (422)",
        "customer",
        at("/accounts/{everyday}/?kind=gift&from=yesterday", 422),
    ),
    PageState(
        "statement download refused (422)",
        "customer",
        at("/accounts/{everyday}/statement.csv?kind=gift", 422),
    ),
    PageState(
        "deposit refused, whole page (422)",
        "customer",
        refused_deposit_without_javascript,
    ),
    PageState("staff page refused (403)", "customer", at("/staff/transactions/", 403)),
    PageState("unknown account (404)", "customer", at("/accounts/{unknown}/", 404)),
    PageState(
        "command by GET (405)", "customer", at("/accounts/{everyday}/deposit/", 405)
    ),
    PageState("NUL in the address (400)", "customer", at("/?q=%00", 400)),
    PageState("too many payments (429)", "customer", too_many_payments),
    # Staff.
    PageState("staff dashboard", "staff", at("/")),
    PageState("staff accounts sorted", "staff", at("/?sort=-balance")),
    PageState("staff accounts searched", "staff", at("/?q=montgomery")),
    PageState("staff accounts, nothing found", "staff", at("/?q=no-such-owner")),
    PageState("transaction log", "staff", at("/staff/transactions/")),
    PageState("transaction log, older page", "staff", older_transactions),
    PageState("account as staff", "staff", at("/accounts/{big}/")),
    PageState("timeline, latest", "staff", at("/staff/accounts/{everyday}/events/")),
    PageState(
        "timeline, an earlier version",
        "staff",
        at("/staff/accounts/{everyday}/events/?version=2"),
    ),
    PageState(
        "timeline, long name and big figures",
        "staff",
        at("/staff/accounts/{big}/events/?version=14"),
    ),
    PageState("timeline, moment refused (422)", "staff", time_travel_refused),
    PageState(
        "timeline, version past the end (404)",
        "staff",
        at("/staff/accounts/{everyday}/events/?version=999", 404),
    ),
    PageState(
        "timeline, unknown account (404)",
        "staff",
        at("/staff/accounts/{unknown}/events/", 404),
    ),
    PageState("snapshot taken", "staff", snapshot_taken),
    PageState("staff operation refused (422)", "staff", staff_operation_refused),
    PageState("account frozen by staff", "staff", frozen_by_staff),
    PageState(
        "timeline, a freeze and its reason",
        "staff",
        at("/staff/accounts/{empty}/events/"),
    ),
    PageState("events", "staff", at("/staff/events/")),
    PageState("events, older page", "staff", older_events),
    PageState(
        "events filter refused (422)", "staff", at("/staff/events/?app=nope", 422)
    ),
    PageState(
        "events, no such page (400)", "staff", at("/staff/events/?before=x", 400)
    ),
    PageState("trace of a transaction", "staff", newest_trace),
    PageState(
        "trace, unknown transaction (404)",
        "staff",
        at("/staff/trace/{unknown}/", 404),
    ),
    PageState("event feed", "staff", at("/staff/feed/")),
    PageState("reversals, one waiting", "staff", at("/staff/reversals/")),
    PageState(
        "reverse a transaction",
        "staff",
        at("/staff/transactions/{withdrawal}/reverse/"),
    ),
    PageState("reverse refused (422)", "staff", reversal_refused),
    PageState(
        "database unreachable (503)",
        "staff",
        with_broken_bank("tests.support.page_states.unreachable_bank", 503),
    ),
    PageState(
        "server error (500)",
        "staff",
        with_broken_bank("tests.support.page_states.broken_bank", 500),
    ),
]
