"""A locked or unreachable database: a quick 503, nothing half-written.

Suite 9, database trouble, made real rather than mocked:

- SQLite held by another process: a separate ``sqlite3`` process holds
  ``BEGIN EXCLUSIVE`` on the test database file (the site's own bank, the
  Django test client);
- PostgreSQL table locked: a psycopg connection holds ``LOCK TABLE
  accounts_events`` in EXCLUSIVE mode (writes wait, as behind a stuck
  writer) and then in ACCESS EXCLUSIVE mode (everything waits, as behind
  DDL), against gunicorn web processes;
- PostgreSQL unreachable: the web processes reach the server through a TCP
  proxy, which is stopped (connections reset, new ones refused) and started
  again.

Lock and connect timeouts are 1 second here (ESBANK_DB_LOCK_TIMEOUT,
ESBANK_DB_CONNECT_TIMEOUT). During the trouble every request must end
within BOUND seconds, a command with 503 and ``Retry-After``; nothing may be
recorded; /health/ must say what is wrong. Once it is over, the next
command succeeds and the audit passes.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client

from esbank_site.bank import close_bank, get_bank
from esbank_site.operations.audit import audit
from tests.support.databases import POSTGRES_URL
from tests.support.http_workload import (
    HttpClient,
    Recorder,
    create_site_users,
    gunicorn_site,
    report_line,
)
from tests.support.processes import free_port
from tests.support.rawdb import table_locked

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from esbank_site.bank import Bank

LOCK_TIMEOUT = "1"
BOUND = 4.0  # seconds: the lock timeout, and time to answer


@contextlib.contextmanager
def held_by_another_process(path: str) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding SQLite's write lock on ``path``."""
    script = (
        "import sqlite3, sys\n"
        f"connection = sqlite3.connect({path!r}, isolation_level=None)\n"
        "connection.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=10)


@pytest.fixture
def quick_bank(django_bank: Bank, settings: Any) -> Bank:
    """The site's bank, rebuilt to give up on a lock after LOCK_TIMEOUT."""
    settings.ESBANK_DB_LOCK_TIMEOUT = int(LOCK_TIMEOUT)
    close_bank()
    return get_bank()


class Timed:
    """Requests, each timed; what trouble looked like to the clients."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int, float, str | None]] = []
        self.responses: dict[str, Any] = {}

    def __call__(self, label: str, send: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            response = send()
        except OSError as error:  # no answer at all, within the client's timeout
            self.answers.append((label, 0, time.monotonic() - started, repr(error)))
            return None
        status = getattr(response, "status_code", getattr(response, "status", 0))
        headers = getattr(response, "headers", {})
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        self.answers.append((label, status, time.monotonic() - started, retry_after))
        self.responses[label] = response
        return response

    @property
    def slowest(self) -> float:
        return max(elapsed for _, _, elapsed, _ in self.answers)

    def statuses(self) -> dict[str, str]:
        return {
            label: f"{status} in {elapsed:.1f}s"
            for label, status, elapsed, _ in self.answers
        }

    def problems(self, commands: set[str]) -> list[str]:
        found = []
        for label, status, elapsed, retry_after in self.answers:
            if elapsed > BOUND:
                found.append(f"{label} took {elapsed:.1f}s")
            if label in commands and (
                status != HTTPStatus.SERVICE_UNAVAILABLE or not retry_after
            ):
                found.append(f"{label} -> {status}, Retry-After {retry_after}")
            if status == 0 or (
                status >= HTTPStatus.INTERNAL_SERVER_ERROR
                and (status != HTTPStatus.SERVICE_UNAVAILABLE)
            ):
                found.append(f"{label} -> {status} ({retry_after})")
        return found


def test_sqlite_locked_by_another_process(
    quick_bank: Bank, django_user_model: Any
) -> None:
    bank = quick_bank
    alice = django_user_model.objects.create_user("alice")
    client = Client()
    client.force_login(alice)
    # /health/ gives its details to staff only; anyone else gets the status.
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    account = bank.accounts.open_account("alice", "Current")
    bank.accounts.deposit(account, "100.00")
    other = bank.accounts.open_account("bob", "Current")
    head = bank.accounts.recorder.max_notification_id()
    hx = {"HX-Request": "true"}
    timed = Timed()

    with held_by_another_process(connection.settings_dict["NAME"]):
        path = f"/accounts/{account}"
        fields = {"amount": "5.00", "token": str(uuid4())}
        timed("deposit", lambda: client.post(f"{path}/deposit/", fields, headers=hx))
        timed("withdraw", lambda: client.post(f"{path}/withdraw/", fields))
        to = fields | {"to_account": str(other), "token": str(uuid4())}
        timed("transfer", lambda: client.post(f"{path}/transfer/", to, headers=hx))
        timed("open", lambda: client.post("/accounts/open/", {"name": "Locked"}))
        timed("dashboard", lambda: client.get("/"))
        health = timed("health", lambda: staff.get("/health/"))
        status_only = timed("health, customer", lambda: client.get("/health/"))
        during = bank.accounts.recorder.max_notification_id()

    after = timed(
        "deposit after",
        lambda: client.post(f"{path}/deposit/", fields, headers=hx),
    )
    healthy = client.get("/health/")
    report = audit(bank)
    print(
        report_line(
            "database trouble (sqlite, locked)",
            answers=timed.statuses(),
            slowest=f"{timed.slowest:.2f}s",
            health=health.json(),
            events_checked=report.events_checked,
        )
        + report_line("audit (sqlite)", summary=report.summary())
    )
    assert timed.problems({"deposit", "withdraw", "transfer", "open"}) == []
    assert during == head, "a command wrote while the database was locked"
    assert health.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert health.json()["database"] == "locked"
    assert status_only.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_only.json() == {"status": "down"}
    assert after.status_code == HTTPStatus.OK
    assert healthy.status_code == HTTPStatus.OK, healthy.json()
    assert bank.accounts.get_account(account).balance == 105
    assert report.ok, report.problems


def trouble_requests(
    customer: HttpClient, account: Any, other: Any, timed: Timed
) -> None:
    """A command of each kind, the pages and /health/, all at once, each timed.

    /health/ is asked by a monitor that has not signed in: with a session
    cookie, the login middleware looks the session up before the view runs,
    and a database that cannot be reached then gets the site's 503 page.
    """
    monitor = HttpClient(
        f"http://{customer.host}:{customer.port}", "monitor", Recorder(), BOUND + 2
    )
    path = f"/accounts/{account}"
    fields = {"amount": "5.00", "token": str(uuid4())}
    sends = {
        "deposit": lambda: customer.post(f"{path}/deposit/", fields),
        "withdraw": lambda: customer.post(f"{path}/withdraw/", fields, htmx=False),
        "transfer": lambda: customer.post(
            f"{path}/transfer/",
            fields | {"to_account": str(other), "token": str(uuid4())},
        ),
        "dashboard": lambda: customer.get("/"),
        "account page": lambda: customer.get(f"{path}/"),
        "health": lambda: monitor.get("/health/"),
    }
    with ThreadPoolExecutor(len(sends)) as pool:
        list(pool.map(lambda item: timed(*item), sends.items()))


@pytest.mark.multiprocess
def test_postgres_table_locked(tmp_path: Path) -> None:
    with gunicorn_site(
        tmp_path,
        workers=4,
        ESBANK_DB_LOCK_TIMEOUT=LOCK_TIMEOUT,
        ESBANK_DB_CONNECT_TIMEOUT=LOCK_TIMEOUT,
    ) as site:
        assert site.database is not None
        create_site_users(site, ["alice"])
        [account] = site.accounts_for(["alice"], 1, "100.00")["alice"]
        [other] = site.accounts_for(["bob"], 1, "1.00")["bob"]
        site.settle()
        customer = HttpClient(site.base_url, "alice", Recorder(), timeout=BOUND + 2)
        customer.log_in()
        head = site.bank.accounts.recorder.max_notification_id()
        problems: list[str] = []
        figures: dict[str, Any] = {}
        for mode in ("EXCLUSIVE", "ACCESS EXCLUSIVE"):
            timed = Timed()
            with table_locked(site.database, mode):
                trouble_requests(customer, account, other, timed)
            figures[mode] = timed.statuses() | {"slowest": round(timed.slowest, 1)}
            problems += [
                f"{mode}: {p}"
                for p in timed.problems({"deposit", "withdraw", "transfer"})
            ]
            health = timed.responses.get("health")
            if health is None or health.status != HTTPStatus.SERVICE_UNAVAILABLE:
                problems.append(f"{mode}: /health/ did not say so")
        # Commands that were still waiting when the lock went may finish.
        time.sleep(BOUND)
        moved = site.bank.accounts.recorder.max_notification_id() - head
        after = customer.post(
            f"/accounts/{account}/deposit/",
            {"amount": "1.00", "token": str(uuid4())},
        )
        site.settle()
        report = audit(site.bank)
        print(
            report_line(
                "database trouble (postgres, table locked)",
                answers=figures,
                events_written_by_unanswered_commands=moved,
                after=after.status,
            )
            + report_line("audit (postgres)", summary=report.summary())
        )
        assert report.ok, report.problems
        assert after.status == HTTPStatus.OK
        assert problems == []
        assert moved == 0


class TcpProxy:
    """127.0.0.1:port -> the database server, until stopped (then refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and reset every open one."""
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone
            # would leave the port listening until that call returned.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = urlparse(POSTGRES_URL)
    proxy = TcpProxy((url.hostname or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.multiprocess
def test_postgres_unreachable(tmp_path: Path, proxy: TcpProxy) -> None:
    with gunicorn_site(
        tmp_path,
        workers=2,
        web_database_port=proxy.port,
        ESBANK_DB_LOCK_TIMEOUT=LOCK_TIMEOUT,
        ESBANK_DB_CONNECT_TIMEOUT=LOCK_TIMEOUT,
    ) as site:
        create_site_users(site, ["alice"])
        [account] = site.accounts_for(["alice"], 1, "100.00")["alice"]
        [other] = site.accounts_for(["bob"], 1, "1.00")["bob"]
        site.settle()
        customer = HttpClient(site.base_url, "alice", Recorder(), timeout=BOUND + 2)
        customer.log_in()
        warm = customer.get(f"/accounts/{account}/")  # pooled connections in use
        head = site.bank.accounts.recorder.max_notification_id()

        proxy.stop()
        timed = Timed()
        trouble_requests(customer, account, other, timed)
        health = timed.responses.get("health")
        said = json_or_text(health.body if health else "no answer")
        moved = site.bank.accounts.recorder.max_notification_id() - head
        proxy.start()

        after = [
            customer.post(
                f"/accounts/{account}/deposit/",
                {"amount": "1.00", "token": str(uuid4())},
            ).status
            for _ in range(2)
        ]
        healthy = customer.get("/health/")
        site.settle()
        report = audit(site.bank)
        print(
            report_line(
                "database trouble (postgres, unreachable)",
                answers=timed.statuses(),
                slowest=f"{timed.slowest:.2f}s",
                health=said,
                events_written_during=moved,
                after=after,
            )
            + report_line("audit (postgres)", summary=report.summary())
        )
        assert warm.status == HTTPStatus.OK
        assert timed.problems({"deposit", "withdraw", "transfer"}) == []
        # An anonymous monitor: the status, never the database's address.
        assert said == {"status": "down"}, said
        assert moved == 0
        assert after == [HTTPStatus.OK, HTTPStatus.OK]
        assert healthy.status == HTTPStatus.OK, healthy.body
        assert report.ok, report.problems


def json_or_text(body: str) -> Any:
    """A JSON answer, or the words of an HTML one."""
    try:
        return json.loads(body)
    except ValueError:
        return " ".join(re.sub(r"<[^>]*>", " ", body).split())[:300]
