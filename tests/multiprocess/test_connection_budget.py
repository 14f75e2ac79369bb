"""A default ``make serve`` and ``run_processors``, under load, within budget.

gunicorn starts with the Makefile's own command line (``make -n serve``:
its 3 sync workers, its environment) and ``manage.py run_processors`` as
docs/DEPLOYMENT.md runs it, both without the tests' pool variables, so the
settings' defaults hold. Eight clients move money over HTTP while a staff
member reads the pages that use the other pools, and ``pg_stat_activity``
for the database is sampled all along: every connection is counted, and
put down to the process that holds it (``ss`` maps a backend's client port
to its process). The peaks must stay within the budget that
``esbank_site/persistence/connection_budget.py`` and docs/DEPLOYMENT.md
state, and no request may fail for want of a connection.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from esbank_site.bank import Bank
from esbank_site.persistence import connection_budget
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.databases import POSTGRES_URL
from tests.support.http_workload import (
    COMMAND_STATUSES,
    Customer,
    History,
    HttpClient,
    Reader,
    Recorder,
    check_commands,
)
from tests.support.processes import (
    REPO,
    caught_up,
    create_users,
    free_port,
    health,
    wait_for,
)
from tests.support.traffic import assert_exactly_once

if TYPE_CHECKING:
    from tests.support.processes import Spawner

pytestmark = pytest.mark.multiprocess

CLIENTS = 8
TRAFFIC_SECONDS = 15
WEB_WORKERS = 3  # the Makefile's WEB_CONCURRENCY
# What the tests' environment sets and a default deployment does not.
POOL_VARIABLES = ("POSTGRES_POOL_SIZE", "POSTGRES_MAX_OVERFLOW")


def make_serve_command(port: int) -> str:
    """The gunicorn line of ``make serve``, as make would run it."""
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "serve",
            "DATABASE_URL=postgres://make-n-prints-only@127.0.0.1/esbank",
            f"BIND=127.0.0.1:{port}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    lines = done.stdout.replace("\\\n", " ").splitlines()
    [line] = [line for line in lines if " esbank_site.wsgi " in line]
    # This interpreter's virtualenv, wherever the checkout's is.
    return line.replace(".venv/bin/", f"{Path(sys.executable).parent}/")


def without_pool_variables(command: list[str]) -> list[str]:
    return ["env", *(f"--unset={name}" for name in POOL_VARIABLES), *command]


class ConnectionSampler(threading.Thread):
    """Counts the database's connections, by process, until stopped."""

    def __init__(self, database: dict[str, Any], interval: float = 0.1) -> None:
        super().__init__(name="connection-sampler", daemon=True)
        self.database = database
        self.interval = interval
        self.stopping = threading.Event()
        self.samples = 0
        self.peak = 0
        self.peak_by_pid: Counter[int] = Counter()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            # On the server's maintenance database: not counted itself.
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                while not self.stopping.is_set():
                    self.sample(admin)
                    self.stopping.wait(self.interval)
        except BaseException as error:  # noqa: BLE001 (reported by stop())
            self.error = error

    def sample(self, admin: psycopg.Connection[Any]) -> Counter[int]:
        ports = [
            port
            for (port,) in admin.execute(
                "SELECT client_port FROM pg_stat_activity WHERE datname = %s",
                [self.database["NAME"]],
            )
        ]
        owners = client_ports_to_pids()
        by_pid = Counter(owners.get(port, 0) for port in ports)
        self.samples += 1
        self.peak = max(self.peak, len(ports))
        for pid, count in by_pid.items():
            self.peak_by_pid[pid] = max(self.peak_by_pid[pid], count)
        return by_pid

    def now(self) -> Counter[int]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            return self.sample(admin)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        if self.error is not None:
            raise self.error


_SOCKET = re.compile(r":(\d+)\s+\S+:5432\s+users:\(\(\"[^\"]*\",pid=(\d+),")


def client_ports_to_pids() -> dict[int, int]:
    """The local port of each TCP connection to port 5432, and its process."""
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", "( dport = :5432 )"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    return {int(port): int(pid) for port, pid in _SOCKET.findall(listing)}


def children_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_make_serve_and_run_processors_stay_within_the_connection_budget(
    spawner: Spawner, own_database: dict[str, Any]
) -> None:
    usernames = [f"customer{number}" for number in range(CLIENTS)]
    create_users(own_database, [*usernames, "staff"], staff=("staff",))
    # The test's own bank is closed before the processes start: every
    # connection counted below is theirs.
    setup = Bank(eventsourcing_env(own_database), process_inline=False)
    try:
        accounts = {
            name: [setup.accounts.open_account(name, f"Account {n}") for n in range(2)]
            for name in usernames
        }
        everyone = [a for owned in accounts.values() for a in owned]
        for account_id in everyone:
            setup.accounts.deposit(account_id, "1000.00")
    finally:
        setup.close()

    port = free_port()
    command = make_serve_command(port)
    assert "--no-control-socket" in command
    assert f"--workers {WEB_WORKERS}" in command
    web = spawner.start(
        "web", without_pool_variables(["sh", "-c", f"exec env {command}"])
    )
    processor = spawner.start(
        "processor",
        without_pool_variables([sys.executable, "manage.py", "run_processors"]),
    )
    wait_for(lambda: health(port) is not None, 60, f"serving on {port}")
    sampler = ConnectionSampler(own_database)
    # run_processors holds a lock connection per follower once it runs.
    wait_for(
        lambda: sampler.now()[processor.pid] >= len(connection_budget.PROCESSORS),
        60,
        "processing",
    )

    recorder = Recorder()
    base_url = f"http://127.0.0.1:{port}"
    clients = [HttpClient(base_url, name, recorder) for name in [*usernames, "staff"]]
    for client in clients:
        client.log_in()
    sampler.start()
    deadline = time.monotonic() + TRAFFIC_SECONDS
    customers = [
        Customer(client, accounts[client.username], everyone, seed, deadline)
        for seed, client in enumerate(clients[:CLIENTS], start=400)
    ]
    staff_pages = [
        ("/", False),
        ("/staff/ledger/", True),
        ("/staff/transactions/", True),
        ("/health/", False),
    ]
    reader = Reader(clients[-1], staff_pages, deadline)
    threads: list[Customer | Reader] = [*customers, reader]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TRAFFIC_SECONDS + 60)
        assert not thread.is_alive(), f"{thread.name} did not finish"
        if thread.error is not None:
            raise thread.error
    sampler.stop()

    workers = children_of(web.pid)
    web_budget = connection_budget.web_process(pool_size=1, max_overflow=0)
    processors_budget = connection_budget.processors_process(
        len(connection_budget.PROCESSORS), max_overflow=0
    )
    budget = WEB_WORKERS * web_budget.total + processors_budget.total
    web_peaks = [sampler.peak_by_pid[pid] for pid in workers]
    commands = [command for customer in customers for command in customer.commands]
    statuses = Counter(c.exchange.status for c in commands if c.exchange is not None)
    read_statuses = Counter(read.status for read in reader.reads)
    print(
        f"\nconnections of a default make serve ({WEB_WORKERS} workers) and "
        f"run_processors under {CLIENTS} clients moving money and 1 reading, "
        f"{sampler.samples} samples over {TRAFFIC_SECONDS}s: peak {sampler.peak}, "
        f"budget {budget} = {WEB_WORKERS} x {web_budget.total} + "
        f"{processors_budget.total}; per web worker {web_peaks} (budget "
        f"{web_budget.total}), run_processors {sampler.peak_by_pid[processor.pid]} "
        f"(budget {processors_budget.total}), gunicorn's master "
        f"{sampler.peak_by_pid[web.pid]}, unattributed {sampler.peak_by_pid[0]}; "
        f"{len(commands)} commands {dict(sorted(statuses.items()))}, "
        f"{len(reader.reads)} staff pages {dict(sorted(read_statuses.items()))}"
    )
    assert len(workers) == WEB_WORKERS
    assert sampler.peak <= budget
    assert all(0 < peak <= web_budget.total for peak in web_peaks)
    assert 0 < sampler.peak_by_pid[processor.pid] <= processors_budget.total
    assert sampler.peak_by_pid[web.pid] == 0
    # No request went without: every command and page got its answer.
    assert set(statuses) <= COMMAND_STATUSES
    assert statuses[HTTPStatus.OK] + statuses[HTTPStatus.FOUND] > 100
    assert set(read_statuses) == {HTTPStatus.OK}

    # And the money moved exactly once.
    observer = Bank(eventsourcing_env(own_database), process_inline=False)
    try:
        wait_for(lambda: caught_up(observer), 60, "caught up")
        assert check_commands(commands, History.read(observer)).problems == []
        print(assert_exactly_once(observer))
    finally:
        observer.close()
