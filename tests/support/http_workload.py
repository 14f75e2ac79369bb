"""Real HTTP clients against a real server, and the checks made afterwards.

Shared by the suites in tests/adversarial that drive the site over HTTP
(concurrency, consistent reads, double submit, database trouble). A
``Site`` is a server on 127.0.0.1 and a bank in the test process on the
same database: pytest-django's threaded live server on SQLite
(``live_site``), or gunicorn web processes and a ``run_processors`` worker
on a PostgreSQL database of their own (``gunicorn_site``). Clients log in
through the login form, take the CSRF token from a page, and record every
request and response. Afterwards ``History`` reads the whole Accounts
notification log and says what each page should have shown at the position
it claims, and what each command should have left behind.
"""

from __future__ import annotations

import bisect
import contextlib
import http.client
import itertools
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from http import HTTPStatus
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlparse
from uuid import UUID, uuid4

from accounts.domain import (
    AccountOpened,
    Deposited,
    OverdraftLimitSet,
    TransferReceived,
    TransferSent,
    Withdrawn,
)
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.databases import throwaway_database
from tests.support.processes import (
    PASSWORD,
    Spawner,
    caught_up,
    create_users,
    free_port,
    health,
    machine_wide_turn,
    migrate,
    wait_for,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Money-moving POSTs per user and minute a throttle may allow: far more
# than these suites send, so a limit never decides an outcome. A 429 is
# still accepted as a clean refusal that records nothing.
MONEY_POSTS_PER_MINUTE = "1000000"

ACCEPTED = {HTTPStatus.OK, HTTPStatus.FOUND}
REFUSED = {
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.CONFLICT,
    HTTPStatus.TOO_MANY_REQUESTS,
}
COMMAND_STATUSES = ACCEPTED | REFUSED
MOVEMENTS = (Deposited, Withdrawn, TransferSent)
KINDS = {"deposit": Deposited, "withdraw": Withdrawn, "transfer": TransferSent}
ZERO = Decimal("0.00")
_numbers = itertools.count()


# The server.


@dataclass
class Site:
    """A server on 127.0.0.1, and a bank in this process on its database."""

    name: str  # the database, as the figures name it
    base_url: str
    bank: Bank
    settle: Any  # waits until every follower is at the head
    database: dict[str, Any] | None = None  # None: this process's Django database

    def accounts_for(self, owners: list[str], per_owner: int, funds: str) -> dict:
        """Open ``per_owner`` funded accounts for each owner (no idempotency key)."""
        accounts = {}
        for owner in owners:
            accounts[owner] = []
            for number in range(per_owner):
                account_id = self.bank.accounts.open_account(owner, f"Account {number}")
                self.bank.accounts.deposit(account_id, funds)
                accounts[owner].append(account_id)
        return accounts


@contextlib.contextmanager
def live_site(live_server: Any, django_bank: Bank, settings: Any) -> Iterator[Site]:
    """pytest-django's threaded live server, on the test's SQLite database.

    The site's own bank processes the followers right after each commit,
    in the request's thread.
    """
    unthrottled(settings)
    yield Site(
        "sqlite",
        live_server.url,
        django_bank,
        lambda: django_bank.wait_until_processed(timeout=60),
    )


def unthrottled(settings: Any) -> None:
    """Let the site in this process take ``MONEY_POSTS_PER_MINUTE`` per user.

    For the live server, and for the Django test client with the views on
    a test's bank (the ``site_bank`` fixture).
    """
    settings.ESBANK_MONEY_POSTS_PER_MINUTE = int(MONEY_POSTS_PER_MINUTE)


def create_site_users(
    site: Site, usernames: list[str], staff: tuple[str, ...] = ()
) -> None:
    """Users with the shared password, on the site's Django database."""
    if site.database is None:
        from django.contrib.auth.models import User  # noqa: PLC0415

        for name in usernames:
            User.objects.create_user(name, password=PASSWORD, is_staff=name in staff)
        return
    create_users(site.database, usernames, staff)


@contextlib.contextmanager
def gunicorn_site(
    tmp_path: Path,
    *,
    workers: int = 3,
    web_database_port: int | None = None,
    **web_env: str,
) -> Iterator[Site]:
    """gunicorn and ``run_processors`` on a fresh, migrated PostgreSQL database.

    The web processes only record commands and read, as in production; the
    worker follows the Accounts log. ``web_database_port`` makes the web
    processes reach the database through another port (a proxy), and
    ``web_env`` adds to their environment. Everything is killed and the
    database dropped afterwards; the processes' output is printed if
    anything failed.
    """
    name = f"esbank_test_http_{os.getpid()}_{next(_numbers)}"
    with machine_wide_turn(), throwaway_database(name) as database:
        spawner = Spawner(database, tmp_path)
        bank: Bank | None = None
        failed = True
        try:
            migrate(database)
            env = eventsourcing_env(database)
            bank = Bank(env, process_inline=False)
            port = free_port()
            web_spawner = spawner
            if web_database_port is not None:
                proxied = database | {"PORT": str(web_database_port)}
                web_spawner = Spawner(proxied, tmp_path, spawner.spawned)
            web_spawner.gunicorn(
                port,
                workers,
                **{"ESBANK_MONEY_POSTS_PER_MINUTE": MONEY_POSTS_PER_MINUTE} | web_env,
            )
            spawner.processor()
            wait_for(lambda: health(port) is not None, 60, f"serving on {port}")
            observer = bank
            yield Site(
                "postgres",
                f"http://127.0.0.1:{port}",
                bank,
                lambda: wait_for(lambda: caught_up(observer), 60, "caught up"),
                database,
            )
            failed = False
        finally:
            spawner.kill_all()
            if failed:
                spawner.print_output()
            if bank is not None:
                bank.close()


# The clients.


@dataclass
class Exchange:
    """One request and its response, as a client saw them."""

    client: str
    method: str
    path: str
    fields: dict[str, str]
    htmx: bool
    status: int
    started: float
    elapsed: float
    headers: dict[str, str]
    body: str

    @classmethod
    def of(
        cls,
        client: str,
        method: str,
        path: str,
        response: Any,
        fields: dict[str, str] | None = None,
        *,
        htmx: bool = False,
    ) -> Exchange:
        """An exchange made with Django's test client."""
        return cls(
            client, method, path, fields or {}, htmx, response.status_code,
            0.0, 0.0, dict(response.headers), response.content.decode(),
        )  # fmt: skip


class Recorder:
    """Every exchange of every client, in the order they finished."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)


class _Tokens(HTMLParser):
    """Finds the CSRF token of the first form on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.csrf: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") == "csrfmiddlewaretoken":
            self.csrf = self.csrf or found.get("value")


class HttpClient:
    """A person with a browser: cookies, a CSRF token, one request at a time."""

    def __init__(
        self,
        base_url: str,
        username: str,
        recorder: Recorder,
        timeout: float = 60,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        parsed = urlparse(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.username = username
        self.recorder = recorder
        self.timeout = timeout
        # Sent with every request (X-Forwarded-For as a proxy would add it).
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        fields: dict[str, str] | None = None,
        *,
        htmx: bool = False,
        body: bytes | None = None,
        record: bool = True,
    ) -> Exchange:
        fields = fields or {}
        headers = dict(self.headers)
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.csrf
            headers["Origin"] = f"http://{self.host}:{self.port}"
            headers["Referer"] = f"http://{self.host}:{self.port}/"
            if body is None:
                body = urlencode(fields).encode()
        if htmx:
            headers["HX-Request"] = "true"
        started = time.monotonic()
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        exchange = Exchange(
            client=self.username,
            method=method,
            path=path,
            fields=fields,
            htmx=htmx,
            status=response.status,
            started=started,
            elapsed=time.monotonic() - started,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=text,
        )
        if record:
            self.recorder.add(exchange)
        return exchange

    def get(self, path: str, *, htmx: bool = False) -> Exchange:
        return self.request("GET", path, htmx=htmx)

    def post(self, path: str, fields: dict[str, str], *, htmx: bool = True) -> Exchange:
        return self.request("POST", path, fields, htmx=htmx)

    def log_in(self, password: str = PASSWORD) -> None:
        """Through the login form, then pick up the rotated CSRF token."""
        page = self.request("GET", "/accounts/login/", record=False)
        self.csrf = _csrf_of(page.body)
        answer = self.request(
            "POST",
            "/accounts/login/",
            {
                "username": self.username,
                "password": password,
                "csrfmiddlewaretoken": self.csrf,
            },
            record=False,
        )
        assert answer.status == HTTPStatus.FOUND, (answer.status, answer.body[:500])
        self.csrf = _csrf_of(self.request("GET", "/", record=False).body)


def _csrf_of(html: str) -> str:
    parser = _Tokens()
    parser.feed(html)
    assert parser.csrf, "no CSRF token on the page"
    return parser.csrf


def signed_in_clients(
    site: Site, usernames: list[str], recorder: Recorder
) -> dict[str, HttpClient]:
    clients = {}
    for name in usernames:
        clients[name] = HttpClient(site.base_url, name, recorder)
        clients[name].log_in()
    return clients


# The workload.


@dataclass
class Command:
    """A money-moving command a client sent, and what it was told."""

    kind: str  # deposit, withdraw or transfer
    account_id: UUID
    amount: str
    token: str
    to_account: UUID | None = None
    exchange: Exchange | None = None

    @property
    def fields(self) -> dict[str, str]:
        fields = {"amount": self.amount, "token": self.token}
        if self.to_account is not None:
            fields["to_account"] = str(self.to_account)
        return fields

    @property
    def path(self) -> str:
        return f"/accounts/{self.account_id}/{self.kind}/"


class Customer(threading.Thread):
    """Random deposits, withdrawals and transfers until the deadline."""

    def __init__(
        self,
        client: HttpClient,
        own: list[UUID],
        everyone: list[UUID],
        seed: int,
        deadline: float,
    ) -> None:
        super().__init__(name=f"customer-{client.username}", daemon=True)
        self.client = client
        self.own = own
        self.everyone = everyone
        self.rng = random.Random(seed)
        self.deadline = deadline
        self.commands: list[Command] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.send(self.next_command())
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.error = error

    def next_command(self) -> Command:
        rng = self.rng
        account_id = rng.choice(self.own)
        kind = rng.choices(["deposit", "withdraw", "transfer"], [3, 2, 5])[0]
        # Mostly small sums; now and then more than any account holds.
        cents = rng.randint(1, 30_000) if rng.random() < 0.9 else rng.randint(1, 10**8)
        to_account = None
        if kind == "transfer":
            to_account = rng.choice([a for a in self.everyone if a != account_id])
        return Command(kind, account_id, f"{cents / 100:.2f}", str(uuid4()), to_account)

    def send(self, command: Command) -> None:
        htmx = self.rng.random() < 0.8
        command.exchange = self.client.post(command.path, command.fields, htmx=htmx)
        self.commands.append(command)


class Reader(threading.Thread):
    """Polls pages that show totals and balances until the deadline."""

    def __init__(
        self, client: HttpClient, paths: list[tuple[str, bool]], deadline: float
    ) -> None:
        super().__init__(name=f"reader-{client.username}", daemon=True)
        self.client = client
        self.paths = paths
        self.deadline = deadline
        self.reads: list[Exchange] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for path, htmx in itertools.cycle(self.paths):
                if time.monotonic() >= self.deadline:
                    return
                self.reads.append(self.client.get(path, htmx=htmx))
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.error = error


def run_threads(threads: list[Any], timeout: float) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), f"{thread.name} did not finish"
        if thread.error is not None:
            raise thread.error


# What the events say.


@dataclass
class Receipt:
    key: str
    command: str
    transaction_id: UUID
    position: int


@dataclass
class History:
    """The whole Accounts notification log, folded independently."""

    events: int = 0
    head: int = 0
    owners: dict[UUID, str] = field(default_factory=dict)
    opened_at: dict[UUID, int] = field(default_factory=dict)
    # Per account: positions of its money events, and the balance after each.
    _positions: dict[UUID, list[int]] = field(default_factory=dict)
    _balances: dict[UUID, list[Decimal]] = field(default_factory=dict)
    # Per account: the balance and overdraft limit after every version.
    by_version: dict[UUID, dict[int, Decimal]] = field(default_factory=dict)
    # Money in and out of the bank, in log order: position and running sums.
    movement_positions: list[int] = field(default_factory=list)
    deposits: list[Decimal] = field(default_factory=lambda: [ZERO])
    withdrawals: list[Decimal] = field(default_factory=lambda: [ZERO])
    kinds: Counter[str] = field(default_factory=Counter)
    receipts: dict[str, list[Receipt]] = field(default_factory=dict)
    by_transaction: dict[UUID, list[Any]] = field(default_factory=dict)
    # Positions of the two legs of each transfer, saved in one transaction.
    legs: dict[UUID, list[int]] = field(default_factory=dict)

    @classmethod
    def read(cls, bank: Bank) -> History:
        history = cls()
        recorder, mapper = bank.accounts.recorder, bank.accounts.mapper
        start = 1
        while notifications := recorder.select_notifications(start, 500):
            for notification in notifications:
                history.add(notification.id, mapper.to_domain_event(notification))
            start = notifications[-1].id + 1
        return history

    def add(self, position: int, event: Any) -> None:
        self.events += 1
        self.head = position
        account_id = event.originator_id
        if isinstance(event, AccountOpened):
            self.owners[account_id] = event.owner
            self.opened_at[account_id] = position
            self._positions[account_id] = [position]
            self._balances[account_id] = [ZERO]
            self.by_version[account_id] = {event.originator_version: ZERO}
            return
        if hasattr(event, "idempotency_key"):  # a Receipt's Issued event
            token = event.idempotency_key.rpartition(":")[2]
            self.receipts.setdefault(token, []).append(
                Receipt(
                    event.idempotency_key, event.command, event.transaction_id, position
                )
            )
            return
        if account_id not in self.by_version:
            return  # an index entry
        balance = self._balances[account_id][-1]
        if isinstance(event, Deposited | TransferReceived):
            balance += event.amount
        elif isinstance(event, Withdrawn | TransferSent):
            balance -= event.amount
        self.by_version[account_id][event.originator_version] = balance
        if isinstance(event, Deposited | Withdrawn | TransferSent | TransferReceived):
            self._positions[account_id].append(position)
            self._balances[account_id].append(balance)
            self.by_transaction.setdefault(event.transaction_id, []).append(event)
            self.kinds[type(event).__name__] += 1
        if isinstance(event, TransferSent | TransferReceived):
            self.legs.setdefault(event.transaction_id, []).append(position)
        if isinstance(event, MOVEMENTS):
            self.movement_positions.append(position)
            deposited = event.amount if isinstance(event, Deposited) else ZERO
            withdrawn = event.amount if isinstance(event, Withdrawn) else ZERO
            self.deposits.append(self.deposits[-1] + deposited)
            self.withdrawals.append(self.withdrawals[-1] + withdrawn)
        if isinstance(event, OverdraftLimitSet):
            pass  # the suites set no overdraft limits

    def accounts_at(self, position: int) -> list[UUID]:
        return [a for a, opened in self.opened_at.items() if opened <= position]

    def balance_at(self, account_id: UUID, position: int) -> Decimal:
        index = bisect.bisect_right(self._positions[account_id], position) - 1
        return self._balances[account_id][index]

    def bank_total_at(self, position: int) -> Decimal:
        count = bisect.bisect_right(self.movement_positions, position)
        return self.deposits[count] - self.withdrawals[count]

    def movements_up_to(self, position: int) -> int:
        return bisect.bisect_right(self.movement_positions, position)

    def transfer_split_at(self, position: int) -> UUID | None:
        """The transfer with one leg up to ``position`` and one after, if any.

        Both legs of a transfer are saved in one transaction: no reader of
        the database ever sees one without the other, so a read model at
        such a position shows a state the bank was never in.
        """
        for transaction_id, positions in self.legs.items():
            if min(positions) <= position < max(positions):
                return transaction_id
        return None


# Checking what the commands left behind.


@dataclass
class CommandFigures:
    requests: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return self.statuses[HTTPStatus.UNPROCESSABLE_ENTITY]

    @property
    def conflicts(self) -> int:
        return self.statuses[HTTPStatus.CONFLICT]


def check_commands(commands: list[Command], history: History) -> CommandFigures:
    """Each accepted command moved money exactly once; no other command did.

    A command is matched to its events by its form token: the receipt saved
    with the money names the token and the transaction, and the transaction
    id is on every leg of the movement.
    """
    figures = CommandFigures()
    sent: set[str] = set()
    for command in commands:
        exchange = command.exchange
        assert exchange is not None
        figures.requests += 1
        figures.statuses[exchange.status] += 1
        sent.add(command.token)
        receipts = history.receipts.get(command.token, [])
        where = (
            f"{command.kind} {command.amount} ({command.token}) -> {exchange.status}"
        )
        if exchange.status not in COMMAND_STATUSES:
            figures.problems.append(f"{where}: {exchange.body[:300]!r}")
        if exchange.status not in ACCEPTED:
            if receipts:
                figures.problems.append(f"{where}: refused, yet recorded")
            continue
        figures.accepted[command.kind] += 1
        if len(receipts) != 1:
            figures.problems.append(f"{where}: {len(receipts)} receipts")
            continue
        figures.problems.extend(
            f"{where}: {problem}"
            for problem in _movement_problems(command, receipts[0], history)
        )
    phantoms = [token for token in history.receipts if token not in sent]
    if phantoms:
        figures.problems.append(f"{len(phantoms)} receipt(s) of no request")
    return figures


def _movement_problems(
    command: Command, receipt: Receipt, history: History
) -> list[str]:
    amount = Decimal(command.amount)
    legs = history.by_transaction.get(receipt.transaction_id, [])
    expected: list[tuple[type, UUID]] = [(KINDS[command.kind], command.account_id)]
    if command.to_account is not None:
        expected.append((TransferReceived, command.to_account))
    found = sorted((type(e).__name__, e.originator_id, e.amount) for e in legs)
    wanted = sorted((kind.__name__, account, amount) for kind, account in expected)
    if found != wanted:
        return [f"moved {found}, expected {wanted}"]
    return []


def assert_no_unexplained_movements(
    history: History, figures: CommandFigures, setup_deposits: int
) -> None:
    """Every movement event belongs to an accepted command or to the setup."""
    expected = {
        "Deposited": figures.accepted["deposit"] + setup_deposits,
        "Withdrawn": figures.accepted["withdraw"],
        "TransferSent": figures.accepted["transfer"],
        "TransferReceived": figures.accepted["transfer"],
    }
    assert dict(history.kinds) == {k: v for k, v in expected.items() if v}, (
        dict(history.kinds),
        expected,
    )


# Checking what the pages showed.


class Page(HTMLParser):
    """The figures a page shows: elements by id, table rows and their money."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.rows: list[tuple[dict[str, str | None], list[Decimal]]] = []
        self.positions: list[int] = []
        self.versions: list[int] = []
        self._row: tuple[dict[str, str | None], list[Decimal]] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "id" in found:
            self.by_id.setdefault(str(found["id"]), found)
        if "data-position" in found and tag != "tr":
            self.positions.append(int(str(found["data-position"])))
        if "data-balance-version" in found:
            self.versions.append(int(str(found["data-balance-version"])))
        if tag == "tr":
            self._row = (found, [])
            self.rows.append(self._row)
        elif tag == "span" and "data-amount" in found and self._row is not None:
            self._row[1].append(Decimal(str(found["data-amount"])))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def amount(self, element_id: str) -> Decimal | None:
        found = self.by_id.get(element_id)
        return None if found is None else Decimal(str(found["data-amount"]))

    def account_rows(self) -> dict[UUID, Decimal]:
        return {
            UUID(str(attrs["data-account-id"])): money[-1]
            for attrs, money in self.rows
            if attrs.get("data-account-id")
        }


@dataclass
class ReadFigures:
    pages: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    figures: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    # Lists shown at a position between the two legs of one transfer.
    split: list[str] = field(default_factory=list)


def check_reads(
    reads: list[Exchange], history: History, owner_of: dict[str, str | None]
) -> ReadFigures:
    """Every figure on every page adds up at the one position it stands for.

    ``owner_of`` maps each reader to the owner whose accounts it sees (None
    for staff). What each page claims:

    - the ledger panel: its balance, deposits, withdrawals and count are the
      first N movements of the log (N its count), balance = in - out; and
      it is at least as far as the position its processor row shows;
    - an accounts list (staff, or one customer's) at ``data-position`` P:
      every balance shown is that account's at P, the accounts shown are
      the ones open at P (all of them when they fit on a page), and its
      total is the sum of those balances at P: for staff, the bank's money
      (deposits minus withdrawals) unless P falls between the two legs of a
      transfer, which is counted apart, in ``split``;
    - an account page at ``data-balance-version`` V: the balance is the
      account's at V, and its statement shows no movement after V, each line
      with the balance after it.
    """
    result = ReadFigures()
    for read in reads:
        result.pages += 1
        result.statuses[read.status] += 1
        where = f"{read.client} GET {read.path}"
        if read.status != HTTPStatus.OK:
            result.problems.append(f"{where} -> {read.status}")
            continue
        page = Page(read.body)
        problems: list[str] = []
        if "ledger-total" in page.by_id:
            result.kinds["ledger"] += 1
            problems += _ledger_problems(page, history, result)
        if "accounts-total" in page.by_id:
            result.kinds["staff list"] += 1
            problems += _list_problems(page, history, None, "accounts-total", result)
        if "customer-total" in page.by_id:
            result.kinds["customer list"] += 1
            owner = owner_of[read.client]
            problems += _list_problems(page, history, owner, "customer-total", result)
        if "balance" in page.by_id:
            result.kinds["account"] += 1
            problems += _account_problems(page, read.path, history, result)
        result.problems.extend(f"{where}: {problem}" for problem in problems)
    return result


def _ledger_problems(page: Page, history: History, result: ReadFigures) -> list[str]:
    balance = page.amount("ledger-total")
    deposits = page.amount("ledger-deposits")
    withdrawals = page.amount("ledger-withdrawals")
    count = int(str(page.by_id["ledger-transactions"]["data-count"]))
    result.figures += 4
    if count > len(history.movement_positions):
        return [f"the ledger counts {count} movements; the log has fewer"]
    shown = (balance, deposits, withdrawals)
    expected = (
        history.deposits[count] - history.withdrawals[count],
        history.deposits[count],
        history.withdrawals[count],
    )
    problems = []
    if shown != expected:
        problems.append(
            f"ledger (balance, in, out) {shown} after {count} movements; "
            f"the log says {expected}"
        )
    # The processor's row was read before the ledger: the ledger is at least
    # that far, and so has counted every movement up to there.
    for attrs, _ in page.rows:
        if attrs.get("data-processor") == "Ledger":
            position = int(str(attrs["data-position"]))
            result.figures += 1
            if history.movements_up_to(position) > count:
                problems.append(
                    f"the ledger shows {count} movements, but its processor is at "
                    f"position {position}, which has "
                    f"{history.movements_up_to(position)}"
                )
    return problems


def _list_problems(
    page: Page,
    history: History,
    owner: str | None,
    total_id: str,
    result: ReadFigures,
) -> list[str]:
    if len(page.positions) != 1:
        return [f"{len(page.positions)} data-position attributes on a list"]
    position = page.positions[0]
    if position > history.head:
        return [f"position {position} is past the log's head {history.head}"]
    rows = page.account_rows()
    total = page.amount(total_id)
    problems = []
    split = history.transfer_split_at(position)
    if split is not None:
        result.split.append(
            f"{total_id} £{total} at position {position}, between the legs of "
            f"transfer {split} (positions {history.legs[split]})"
        )
    open_then = [
        a for a in history.accounts_at(position) if owner in (None, history.owners[a])
    ]
    for account_id, balance in rows.items():
        result.figures += 1
        if account_id not in open_then:
            problems.append(f"{account_id} is listed at {position}, before it opened")
        elif balance != history.balance_at(account_id, position):
            problems.append(
                f"{account_id} shows £{balance}; at position {position} it had "
                f"£{history.balance_at(account_id, position)}"
            )
    if len(open_then) <= 25 and set(rows) != set(open_then):
        problems.append(f"lists {len(rows)} accounts; {len(open_then)} were open")
    # The sum of the balances at that position: the bank's money, i.e.
    # deposits minus withdrawals, unless the position splits a transfer.
    expected_total = sum((history.balance_at(a, position) for a in open_then), ZERO)
    result.figures += 1
    if owner is None and split is None:
        assert expected_total == history.bank_total_at(position)
    if total != expected_total:
        problems.append(
            f"total £{total}; at position {position} it was £{expected_total}"
        )
    return problems


_ACCOUNT_PATH = re.compile(r"/accounts/([0-9a-f-]{36})/")


def _account_problems(
    page: Page, path: str, history: History, result: ReadFigures
) -> list[str]:
    match = _ACCOUNT_PATH.match(path)
    assert match, path
    account_id = UUID(match[1])
    if len(page.versions) != 1:
        return [f"{len(page.versions)} data-balance-version attributes"]
    version = page.versions[0]
    balance = page.amount("balance")
    versions = history.by_version[account_id]
    result.figures += 1
    if version not in versions:
        return [f"version {version} of {account_id} is not in the log"]
    problems = []
    if balance != versions[version]:
        problems.append(
            f"balance £{balance} at version {version}; the events say "
            f"£{versions[version]}"
        )
    statement = [
        (int(str(attrs["data-version"])), money[-1])
        for attrs, money in page.rows
        if attrs.get("data-version")
    ]
    for line_version, line_balance in statement:
        result.figures += 1
        if line_version > version:
            problems.append(
                f"the statement shows version {line_version}; the balance is "
                f"as of version {version}"
            )
        elif line_balance != versions.get(line_version):
            problems.append(
                f"statement line {line_version} says £{line_balance}; the events "
                f"say £{versions.get(line_version)}"
            )
    if statement and statement[0][1] != balance:
        problems.append(
            f"the newest statement line says £{statement[0][1]}, the balance £{balance}"
        )
    return problems


def report_line(label: str, **figures: object) -> str:
    """One line of figures for the test output."""
    parts = ", ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in figures.items()
    )
    return f"\n{label}: {parts}"


def statuses_of(exchanges: list[Exchange]) -> dict[int, int]:
    counts: defaultdict[int, int] = defaultdict(int)
    for exchange in exchanges:
        counts[exchange.status] += 1
    return dict(sorted(counts.items()))
