"""Fixtures for tests that run the bank as separate processes on PostgreSQL.

Each test gets a database of its own (tables created once, as ``migrate``
would), starts real ``manage.py run_processors`` and gunicorn processes on
it, and drives them from here. Every process started is killed and every
database created is dropped at the end, whatever happened; the output of
each process is printed when a test fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from psycopg import sql

from accounts.errors import BankError
from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.runtime.advisory_locks import processor_holders
from tests.conftest import postgres_admin_connection, postgres_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from uuid import UUID

    from accounts.application import Accounts

REPO = Path(__file__).resolve().parents[2]
_database_numbers = itertools.count()


def database_url(database: dict[str, Any]) -> str:
    """The DATABASE_URL of a Django DATABASES entry."""
    user = quote(database["USER"], safe="")
    password = (
        f":{quote(database['PASSWORD'], safe='')}" if database["PASSWORD"] else ""
    )
    return (
        f"postgres://{user}{password}@{database['HOST']}:{database['PORT']}"
        f"/{database['NAME']}"
    )


def process_env(database: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a web or processor process on ``database``."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(database),
        ESBANK_INSECURE_DEV_KEY="1",
        ESBANK_PROCESS_INLINE="0",
        ESBANK_POLL_INTERVAL="0",
        # Few connections per application: several processes share the
        # server's 100.
        POSTGRES_POOL_SIZE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def migrate(database: dict[str, Any]) -> None:
    """``manage.py migrate``, as a deployment runs it: once, before the rest."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=process_env(database),
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def empty_database() -> Iterator[dict[str, Any]]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"esbank_test_mp_{os.getpid()}_{next(_database_numbers)}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(name)
    )
    with postgres_admin_connection() as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_settings(name)
    finally:
        with postgres_admin_connection() as admin:
            admin.execute(drop)


@pytest.fixture
def own_database(empty_database: dict[str, Any]) -> dict[str, Any]:
    """A fresh PostgreSQL database, migrated: Django's and the bank's tables."""
    migrate(empty_database)
    return empty_database


@pytest.fixture
def observer(own_database: dict[str, Any]) -> Iterator[Bank]:
    """A bank in the test process that records commands and reads; no follower."""
    # Two connections per application, not five: the processes under test
    # need their share of the server's 100.
    env = eventsourcing_env(own_database) | {"POSTGRES_POOL_SIZE": "2"}
    bank = Bank(env, process_inline=False)
    try:
        yield bank
    finally:
        bank.close()


class Spawned:
    """A process started by a test, its output kept in a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path):
        self.name = name
        self.log_path = log
        with log.open("wb") as output:
            self.popen = subprocess.Popen(
                args,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # killed as a group, children included
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)


@dataclass
class Spawner:
    """Starts the bank's processes on one database; kills them all at the end."""

    database: dict[str, Any]
    log_dir: Path
    spawned: list[Spawned] = field(default_factory=list)

    def start(self, name: str, args: list[str], **extra_env: str) -> Spawned:
        number = len(self.spawned)
        log = self.log_dir / f"{number:02d}-{name}.log"
        process = Spawned(name, args, process_env(self.database, **extra_env), log)
        self.spawned.append(process)
        return process

    def processor(self, *args: str, **extra_env: str) -> Spawned:
        """``manage.py run_processors`` with a quick timer and standby."""
        command = [
            sys.executable,
            "manage.py",
            "run_processors",
            "--poll-interval=0.5",
            "--standby-interval=0.2",
            *args,
        ]
        return self.start("processor", command, **extra_env)

    def gunicorn(self, port: int, workers: int = 2, **extra_env: str) -> Spawned:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "esbank_site.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--timeout=30",
            "--graceful-timeout=5",
            # Two servers on one machine: no shared socket in the home folder.
            "--no-control-socket",
        ]
        return self.start("web", command, **extra_env)

    def kill_all(self) -> None:
        for process in self.spawned:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                process.kill()


@pytest.fixture
def spawner(
    empty_database: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Spawner]:
    spawner = Spawner(empty_database, tmp_path)
    try:
        yield spawner
    finally:
        spawner.kill_all()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            for process in spawner.spawned:
                tail = process.output()[-4000:]
                print(f"\n--- {process.name} {process.pid} ---\n{tail}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> float:
    """Wait until ``condition()`` is true; return how long that took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            msg = f"Not {what} within {timeout}s"
            raise AssertionError(msg)
        time.sleep(interval)
    return time.monotonic() - started


def held_by(bank: Bank, process: Spawned) -> bool:
    """Whether ``process`` holds every follower."""
    holders = processor_holders(bank)
    return bool(holders) and all(
        holder is not None and holder.startswith(f"{process.pid}@")
        for holder in holders.values()
    )


def caught_up(bank: Bank) -> bool:
    return all(status.lag == 0 for status in bank.processor_status())


def open_funded_accounts(accounts: Accounts, count: int) -> list[UUID]:
    account_ids = []
    for number in range(count):
        account_id = accounts.open_account(f"owner{number % 3}", f"Account {number}")
        accounts.deposit(account_id, "500.00")
        account_ids.append(account_id)
    return account_ids


class MoneyMover(threading.Thread):
    """Moves money at random between accounts until stopped (fixed seed)."""

    def __init__(
        self,
        accounts: Accounts,
        account_ids: list[UUID],
        *,
        seed: int,
        pause: float = 0.0,
    ) -> None:
        super().__init__(name=f"mover-{seed}", daemon=True)
        self.accounts = accounts
        self.account_ids = account_ids
        self.rng = random.Random(seed)
        self.pause = pause
        self.stopping = threading.Event()
        self.moved = 0
        self.refused = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.move_once()
                if self.pause:
                    self.stopping.wait(self.pause)
        except BaseException as error:  # noqa: BLE001 (reported by stop())
            self.error = error

    def move_once(self) -> None:
        rng = self.rng
        amount = Decimal(rng.randint(1, 20_000)) / 100
        source, target = rng.sample(self.account_ids, 2)
        kind = rng.choice(["deposit", "withdraw", "transfer", "transfer"])
        try:
            if kind == "deposit":
                self.accounts.deposit(source, amount)
            elif kind == "withdraw":
                self.accounts.withdraw(source, amount)
            else:
                self.accounts.transfer(source, target, amount)
        except BankError:
            self.refused += 1
        else:
            self.moved += 1

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error
