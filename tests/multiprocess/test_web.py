"""Two gunicorn web processes and one processor, driven over real HTTP.

Clients log in and move money through the site's own forms, spread over
both web processes, for a bounded time; the processor is stopped for a
while in the middle, to show that the web processes process nothing. At
the end the ledger and the transaction log must match an independent
fold of the Accounts events, each movement exactly once.
"""

from __future__ import annotations

import http.client
import random
import secrets
import signal
import threading
import time
from collections import Counter
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import pytest

from esbank_site.runtime.advisory_locks import processor_holders
from tests.support.processes import (
    PASSWORD,
    caught_up,
    create_users,
    free_port,
    health,
    held_by,
    wait_for,
)
from tests.support.traffic import assert_exactly_once

if TYPE_CHECKING:
    from esbank_site.bank import Bank
    from tests.support.processes import Spawner

pytestmark = pytest.mark.multiprocess

CLIENTS = 6
TRAFFIC_SECONDS = 20


class WebClient:
    """A signed-in customer: cookies, CSRF token, and the forms' fields."""

    def __init__(self, ports: list[int], username: str) -> None:
        self.ports = ports
        self.username = username
        # Django accepts a token the client makes, as long as cookie and
        # header agree; it rotates it at login.
        self.cookies = {"csrftoken": secrets.token_hex(16)}
        self.requests = 0

    def post(
        self, path: str, fields: dict[str, str], port: int
    ) -> tuple[int, http.client.HTTPResponse]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(
                "POST",
                path,
                body=urlencode(fields),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                    "X-CSRFToken": self.cookies["csrftoken"],
                    "HX-Request": "true",
                },
            )
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        self.requests += 1
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response

    def log_in(self) -> None:
        status, _ = self.post(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD},
            self.ports[0],
        )
        assert status == HTTPStatus.FOUND, status
        assert "sessionid" in self.cookies


class Customer(threading.Thread):
    """Deposits, withdraws and transfers at random, over both web processes."""

    def __init__(
        self,
        client: WebClient,
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
        self.outcomes: Counter[tuple[str, int]] = Counter()
        self.resent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.move_once()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.error = error

    def move_once(self) -> None:
        rng = self.rng
        account_id = rng.choice(self.own)
        kind = rng.choice(["deposit", "withdraw", "transfer", "transfer"])
        fields = {
            "amount": f"{rng.randint(1, 20_000) / 100:.2f}",
            "token": str(uuid4()),
        }
        if kind == "transfer":
            others = [a for a in self.everyone if a != account_id]
            fields["to_account"] = str(rng.choice(others))
        path = f"/accounts/{account_id}/{kind}/"
        port = rng.choice(self.client.ports)
        status, _ = self.client.post(path, fields, port)
        self.outcomes[kind, status] += 1
        if status == HTTPStatus.OK and rng.random() < 0.1:
            # A double submit, to the other web process: moves nothing more.
            other = next(p for p in self.client.ports if p != port)
            again, _ = self.client.post(path, fields, other)
            assert again == HTTPStatus.OK, again
            self.resent += 1


def test_two_web_processes_and_a_processor_move_money_exactly_once(
    observer: Bank, spawner: Spawner, own_database: dict[str, Any]
) -> None:
    usernames = [f"customer{number}" for number in range(CLIENTS)]
    create_users(own_database, usernames)
    # /health/ gives the processors' figures to signed-in staff only.
    create_users(own_database, ["watcher"], staff=("watcher",))
    accounts = {
        name: [observer.accounts.open_account(name, f"Account {n}") for n in range(2)]
        for name in usernames
    }
    everyone = [a for owned in accounts.values() for a in owned]
    for account_id in everyone:
        observer.accounts.deposit(account_id, "1000.00")
    funded = len(everyone)

    ports = [free_port(), free_port()]
    for port in ports:
        spawner.gunicorn(port, workers=1)
    processor = spawner.processor()
    for port in ports:
        wait_for(lambda p=port: health(p) is not None, 60, f"serving on {port}")
    wait_for(lambda: held_by(observer, processor), 30, "holding")

    clients = [WebClient(ports, name) for name in usernames]
    for client in clients:
        client.log_in()
    watcher = WebClient(ports, "watcher")
    watcher.log_in()
    staff_session = watcher.cookies["sessionid"]
    started = time.monotonic()
    deadline = started + TRAFFIC_SECONDS
    customers = [
        Customer(client, accounts[client.username], everyone, seed, deadline)
        for seed, client in enumerate(clients, start=100)
    ]
    for customer in customers:
        customer.start()

    # Stop the processor for a while: commands still succeed, the ledger
    # lags, and nothing else catches it up.
    time.sleep(TRAFFIC_SECONDS / 4)
    processor.signal(signal.SIGTERM)
    assert processor.wait(timeout=15) == 0
    lag_before = max(s.lag for s in observer.processor_status())
    time.sleep(TRAFFIC_SECONDS / 4)
    lag_after = max(s.lag for s in observer.processor_status())
    assert set(processor_holders(observer).values()) == {None}
    held_lag = health(ports[1], staff_session)
    status_only = health(ports[1])
    spawner.processor()

    for customer in customers:
        customer.join(timeout=TRAFFIC_SECONDS + 60)
        if customer.error is not None:
            raise customer.error
    traffic = time.monotonic() - started
    catch_up = wait_for(lambda: caught_up(observer), 60, "caught up")
    final_health = health(ports[0], staff_session)

    outcomes: Counter[tuple[str, int]] = Counter()
    for customer in customers:
        outcomes.update(customer.outcomes)
    requests = sum(client.requests for client in clients)
    moved = sum(n for (_, status), n in outcomes.items() if status == HTTPStatus.OK)
    summary = assert_exactly_once(observer)
    print(
        f"\n{requests} HTTP requests in {traffic:.1f}s over 2 web processes "
        f"({requests / traffic:.0f}/s); outcomes {dict(sorted(outcomes.items()))}; "
        f"{sum(c.resent for c in customers)} double submits; processor stopped "
        f"with lag {lag_before}, lag {lag_after} after the pause; "
        f"caught up {catch_up:.1f}s after the traffic\n{summary}"
    )
    assert {status for _, status in outcomes} <= {
        HTTPStatus.OK,
        HTTPStatus.CONFLICT,
        HTTPStatus.UNPROCESSABLE_ENTITY,
    }
    assert moved > 100
    # The web processes processed nothing while the processor was away.
    assert lag_after > lag_before > 0
    # No worker: degraded (still 200, commands are recorded), nothing more
    # said to anyone but staff.
    assert status_only == {"status": "degraded"}
    assert held_lag is not None
    assert held_lag["status"] == "degraded"
    assert max(p["lag"] for p in held_lag["processors"].values()) > 0
    assert {p["held_by"] for p in held_lag["processors"].values()} == {None}
    # Every command answered 200 moved money once, and only those did.
    ledger = observer.ledger().get_ledger()
    assert ledger.transaction_count == funded + moved
    assert final_health is not None
    assert final_health["status"] == "ok"
    assert {p["lag"] for p in final_health["processors"].values()} == {0}
    # /health/ of a web process names the worker holding each follower.
    assert all(p["held_by"] for p in final_health["processors"].values())
    assert {p["processed_here"] for p in final_health["processors"].values()} == {False}
    assert ledger.balance == sum(
        (observer.accounts.get_account(a).balance for a in everyone), Decimal(0)
    )
