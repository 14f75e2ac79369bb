"""Eight customers move money over real HTTP while others read the totals.

Suite 1, concurrency over HTTP: a real server on 127.0.0.1 (pytest-django's
threaded live server on SQLite; gunicorn web processes and a processor
worker on PostgreSQL), 8 signed-in clients sending random deposits,
withdrawals and transfers, some as htmx requests and some as plain form
posts, for a bounded time, every request and response recorded. Every
command is answered 200/302 (done), 422 (refused) or 409 (conflict), never a
5xx; each accepted one moved its money exactly once (found by its form token
on the receipt saved with the money), each refused one moved nothing; the
accepted transfers are exactly the transfer events; and the audit passes.

Suite 2, consistent reads: meanwhile, a member of staff and two customers
poll every page that shows totals or balances. Afterwards each page is
checked against the recorded Accounts log at the position it stands for
(``http_workload.check_reads`` says what each page claims).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from esbank_site.operations.audit import audit
from tests.support.http_workload import (
    COMMAND_STATUSES,
    Customer,
    Exchange,
    History,
    HttpClient,
    Page,
    Reader,
    Recorder,
    Site,
    assert_no_unexplained_movements,
    check_commands,
    check_reads,
    create_site_users,
    gunicorn_site,
    live_site,
    report_line,
    run_threads,
    signed_in_clients,
)

if TYPE_CHECKING:
    from pathlib import Path

CUSTOMERS = 8
ACCOUNTS_EACH = 2
TRAFFIC_SECONDS = 12
SEED = 1_000


def test_money_moves_exactly_once_and_pages_add_up_on_sqlite(
    live_server: Any, django_bank: Any, settings: Any
) -> None:
    with live_site(live_server, django_bank, settings) as site:
        run_and_check(site)


@pytest.mark.multiprocess
def test_money_moves_exactly_once_and_pages_add_up_on_postgres(
    tmp_path: Path,
) -> None:
    with gunicorn_site(tmp_path) as site:
        run_and_check(site)


def run_and_check(site: Site) -> None:
    usernames = [f"customer{number}" for number in range(CUSTOMERS)]
    create_site_users(site, [*usernames, "staff"], staff=("staff",))
    accounts = site.accounts_for(usernames, ACCOUNTS_EACH, "500.00")
    everyone = [a for owned in accounts.values() for a in owned]
    setup_deposits = len(everyone)
    site.settle()

    recorder = Recorder()
    clients = signed_in_clients(site, usernames, recorder)
    # Readers have sessions of their own, apart from the customers'.
    staff = HttpClient(site.base_url, "staff", recorder)
    watchers = [HttpClient(site.base_url, name, recorder) for name in usernames[:2]]
    for reader in [staff, *watchers]:
        reader.log_in()

    started = time.monotonic()
    deadline = started + TRAFFIC_SECONDS
    customers = [
        Customer(clients[name], accounts[name], everyone, SEED + number, deadline)
        for number, name in enumerate(usernames)
    ]
    staff_pages = [("/", False), ("/staff/ledger/", True), ("/accounts/panel/", True)]
    readers = [Reader(staff, staff_pages, deadline)]
    for watcher in watchers:
        pages = [("/", False), ("/accounts/panel/", True)]
        for account_id in accounts[watcher.username]:
            pages += [
                (f"/accounts/{account_id}/", False),
                (f"/accounts/{account_id}/summary/", True),
            ]
        readers.append(Reader(watcher, pages, deadline))
    run_threads([*customers, *readers], timeout=TRAFFIC_SECONDS + 120)
    traffic = time.monotonic() - started
    site.settle()

    history = History.read(site.bank)
    commands = [c for customer in customers for c in customer.commands]
    figures = check_commands(commands, history)
    reads = [r for reader in readers for r in reader.reads]
    owner_of: dict[str, str | None] = {name: name for name in usernames}
    owner_of["staff"] = None
    read_figures = check_reads(reads, history, owner_of)
    report = audit(site.bank)
    print(
        report_line(
            f"HTTP concurrency ({site.name})",
            requests=f"{figures.requests} in {traffic:.1f}s by {CUSTOMERS} clients",
            accepted=dict(figures.accepted),
            refused=figures.refused,
            conflicts=figures.conflicts,
            statuses=dict(sorted(figures.statuses.items())),
            events_checked=history.events,
            problems=len(figures.problems),
        )
        + report_line(
            f"consistent reads ({site.name})",
            pages=f"{read_figures.pages} {dict(read_figures.kinds)}",
            figures_checked=read_figures.figures,
            lists_between_transfer_legs=len(read_figures.split),
            statuses=dict(read_figures.statuses),
            problems=len(read_figures.problems),
        )
        + report_line(f"audit ({site.name})", summary=report.summary())
    )

    assert figures.problems == [], figures.problems[:20]
    assert set(figures.statuses) <= COMMAND_STATUSES
    assert sum(figures.accepted.values()) >= 50, figures.accepted
    # No lost acknowledgement, no phantom: a transfer event per 200/302.
    assert figures.accepted["transfer"] == history.kinds["TransferSent"]
    assert_no_unexplained_movements(history, figures, setup_deposits)
    assert read_figures.problems == [], read_figures.problems[:20]
    assert set(read_figures.kinds) == {
        "ledger",
        "staff list",
        "customer list",
        "account",
    }
    assert report.ok, report.problems


def test_the_accounts_list_never_shows_half_a_transfer(
    django_bank: Any, django_user_model: Any
) -> None:
    """The list stopped between a transfer's legs, as a reader may catch it."""
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    ada = django_bank.accounts.open_account("ada", "Current")
    bob = django_bank.accounts.open_account("bob", "Current")
    django_bank.accounts.deposit(ada, "100.00")
    django_bank.process_inline = False
    django_bank.accounts.transfer(ada, bob, "30.00")
    [projection] = [p for p in django_bank.processors if p.name == "AccountsList"]
    assert projection.process(force=True, limit=1)  # the sending leg only

    client = Client()
    client.force_login(staff)
    page = Page(client.get("/accounts/panel/", headers={"HX-Request": "true"}).text)
    history = History.read(django_bank)
    [position] = page.positions
    print(
        report_line(
            "half a transfer",
            list_total=page.amount("accounts-total"),
            at_position=position,
            bank_total=history.bank_total_at(history.head),
        )
    )
    assert page.amount("accounts-total") == history.bank_total_at(position)


def test_an_account_page_shows_its_balance_and_statement_at_one_version(
    django_bank: Any, django_user_model: Any
) -> None:
    """Its balance and its statement, read while deposits keep arriving."""
    client = Client()
    client.force_login(django_user_model.objects.create_user("ada"))
    account = django_bank.accounts.open_account("ada", "Current")
    deadline = time.monotonic() + 2

    def keep_depositing() -> None:
        while time.monotonic() < deadline:
            django_bank.accounts.deposit(account, "1.00")

    depositor = threading.Thread(target=keep_depositing)
    depositor.start()
    reads = []
    path = f"/accounts/{account}/summary/"
    while time.monotonic() < deadline:
        response = client.get(path, headers={"HX-Request": "true"})
        reads.append(Exchange.of("ada", "GET", path, response, htmx=True))
    depositor.join()
    figures = check_reads(reads, History.read(django_bank), {"ada": "ada"})
    print(
        report_line(
            "account page under deposits",
            pages=figures.pages,
            figures_checked=figures.figures,
            problems=len(figures.problems),
        )
    )
    assert figures.problems == [], figures.problems[:5]
