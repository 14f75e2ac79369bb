"""The bank's own processes, started from a test: gunicorn and run_processors.

``Spawner`` starts them on one database, each in a process group of its own
with its output in a file, and kills them all at the end. Here too: the
environment they run with, ``manage.py migrate`` and users made the same
way, a free port, ``/health/`` of a web process, and waiting for a
condition.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from esbank_site.runtime.advisory_locks import processor_holders

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from esbank_site.bank import Bank

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "multi-process-2026"  # of throwaway users in throwaway databases

# Held while a test runs the bank's processes on PostgreSQL.
TURN_FILE = Path(tempfile.gettempdir()) / "esbank-tests-processes.lock"


@contextlib.contextmanager
def machine_wide_turn() -> Iterator[None]:
    """Wait until no other test on this machine runs the bank's processes.

    A site of gunicorn workers and ``run_processors`` holds a good share of
    the server's 100 connections (docs/DEPLOYMENT.md, "Connection budget",
    plus the test's own), and its timing checks want the cores. Tests
    that start one take turns, across pytest-xdist's workers and across
    runs of the suite at the same time; everything else runs beside them.
    """
    with TURN_FILE.open("a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)


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


def create_users(
    database: dict[str, Any], usernames: list[str], staff: tuple[str, ...] = ()
) -> None:
    """Users with ``PASSWORD`` on ``database``, made by ``manage.py shell``."""
    script = (
        "from django.contrib.auth.models import User\n"
        f"for name in {usernames!r}:\n"
        f"    User.objects.create_user(name, password={PASSWORD!r}, "
        f"is_staff=name in {staff!r})\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO,
        env=process_env(database),
        check=True,
        capture_output=True,
        timeout=60,
    )


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
    # Put before every command: ["ip", "netns", "exec", NAME] starts the
    # processes on another "machine" (tests/support/netns.py).
    prefix: list[str] = field(default_factory=list)

    def start(self, name: str, args: list[str], **extra_env: str) -> Spawned:
        number = len(self.spawned)
        log = self.log_dir / f"{number:02d}-{name}.log"
        env = process_env(self.database, **extra_env)
        process = Spawned(name, [*self.prefix, *args], env, log)
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

    def gunicorn(
        self, port: int, workers: int = 2, host: str = "127.0.0.1", **extra_env: str
    ) -> Spawned:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "esbank_site.wsgi",
            f"--bind={host}:{port}",
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

    def print_output(self) -> None:
        """The end of each process's output, for a test that failed."""
        for process in self.spawned:
            tail = process.output()[-4000:]
            print(f"\n--- {process.name} {process.pid} ---\n{tail}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def health(port: int, session: str | None = None) -> dict[str, Any] | None:
    """/health/ of one web process, or None if it does not answer 200 yet.

    Anyone gets ``{"status": ...}``; with the ``sessionid`` of a signed-in
    staff user, the details too (the database, each processor's figures).
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    try:
        connection.request("GET", "/health/", headers=headers)
        response = connection.getresponse()
        body = response.read()
    except OSError:
        return None
    finally:
        connection.close()
    if response.status != HTTPStatus.OK:
        return None
    result: dict[str, Any] = json.loads(body)
    return result


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
    """Whether every follower has processed the whole Accounts log."""
    return all(status.lag == 0 for status in bank.processor_status())
