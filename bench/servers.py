"""The site as it is deployed: gunicorn web processes and ``run_processors``.

Each runs as its own process on a benchmark database, under
``bench.settings`` (the site plus the conventional bank), with the settings
``make serve`` gives web processes: they record commands and read, and the
followers run in ``run_processors``. On SQLite, ``manage.py runserver`` as
``make run`` serves it, with the followers in its own process.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import postgres_url, rss_kib, wait_for_connections
from bench.load import HOST, fetch

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
# What run_processors prints, for when a figure looks wrong.
LOGS = Path(tempfile.gettempdir()) / "esbank-bench" / "logs"
START_ATTEMPTS = 5
CONNECTIONS_PER_WORKER = 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Server:
    """A running gunicorn: its port and processes."""

    port: int
    process: subprocess.Popen[bytes]
    workers: int
    threads: int

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def worker_rss_kib(self) -> list[int]:
        return [rss_kib(pid) for pid in self.worker_pids()]


@dataclass
class Site:
    """The bank's processes on one PostgreSQL database."""

    database: Mapping[str, Any]
    extra_env: dict[str, str] = field(default_factory=dict)
    # One key for every process of the site: sessions made by one are
    # read by the others.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "DATABASE_URL": database_url(self.database),
                "DJANGO_SECRET_KEY": self.secret_key,
                "DJANGO_DEBUG": "0",
                "DJANGO_ALLOWED_HOSTS": HOST,
                # gunicorn speaks plain HTTP here: no redirect to https, no
                # secure-only cookies; and no throttle on the load it drives.
                "DJANGO_HTTPS": "0",
                "ESBANK_MONEY_POSTS_PER_MINUTE": "0",
                # What `make serve` gives web processes (see the Makefile).
                "ESBANK_PROCESS_INLINE": "0",
                "ESBANK_POLL_INTERVAL": "0",
                # One connection per application and process, as make serve:
                # a sync worker serves one request at a time, and the server
                # is shared. The overflow stays the library's 10 (the site's
                # default is 0), so the gunicorn lever's threads grow the
                # pools as they did before the connection budget.
                "POSTGRES_POOL_SIZE": "1",
                "POSTGRES_MAX_OVERFLOW": "10",
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update(self.extra_env)
        return env

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` with these arguments; its output."""
        return self._run([sys.executable, str(ROOT / "manage.py"), *args])

    def seed(self, *args: str) -> dict[str, Any]:
        """Run ``python -m bench.seed``; what it printed."""
        seeded: dict[str, Any] = json.loads(
            self._run([sys.executable, "-m", "bench.seed", *args])
        )
        return seeded

    def processor_logs(self) -> list[Path]:
        """The logs of every run_processors started on this database."""
        return sorted(LOGS.glob(f"run_processors-{self.database['NAME']}-*.log"))

    def _run(self, command: list[str]) -> str:
        done = subprocess.run(  # noqa: S603 (our own interpreter and scripts)
            command, env=self.env, cwd=ROOT, capture_output=True, check=False
        )
        if done.returncode:
            sys.stderr.write(done.stderr.decode(errors="replace"))
            msg = f"{' '.join(command[1:])} failed ({done.returncode})"
            raise RuntimeError(msg)
        return done.stdout.decode()

    @contextlib.contextmanager
    def gunicorn(
        self, workers: int = 3, threads: int = 1, pool_size: int = 1
    ) -> Iterator[Server]:
        """gunicorn serving the site, ready when this yields; stopped after."""
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "esbank_site.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ]
        if threads > 1:
            command += ["--threads", str(threads)]
        env = self.env | {"POSTGRES_POOL_SIZE": str(pool_size)}
        # Each worker holds a few connections per application, and Django one.
        needed = workers * (CONNECTIONS_PER_WORKER + pool_size * threads)
        for attempt in range(START_ATTEMPTS):
            wait_for_connections(needed)
            process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
            server = Server(port, process, workers, threads)
            try:
                _wait_until_up(server)
                break
            except RuntimeError:
                # A worker that found the shared server full does not boot.
                _stop(process)
                if attempt == START_ATTEMPTS - 1:
                    raise
                time.sleep(5)
        try:
            yield server
        finally:
            _stop(process)

    @contextlib.contextmanager
    def runserver(self) -> Iterator[Server]:
        """``manage.py runserver``, as ``make run`` serves the bank; stopped after.

        One process, a thread per request, the followers run in it (inline
        after each commit, and on a timer) unless ``extra_env`` says
        otherwise. Without the autoreloader, which would serve from a child
        process and only adds a file watcher. Its request log goes to LOGS.
        """
        port = free_port()
        command = [
            sys.executable,
            str(ROOT / "manage.py"),
            "runserver",
            "--noreload",
            f"{HOST}:{port}",
        ]
        LOGS.mkdir(parents=True, exist_ok=True)
        # One log per database file (its directory is a fresh temporary one).
        file = Path(self.database["NAME"])
        log_path = LOGS / f"runserver-{file.parent.name}-{file.stem}.log"
        with log_path.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
                command,
                env=self.env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        # One process; threads 0: a new thread for every request.
        server = Server(port, process, workers=1, threads=0)
        try:
            _wait_until_up(server, processes=0)
            yield server
        finally:
            _stop(process)

    @contextlib.contextmanager
    def processors(
        self, *names: str, env: Mapping[str, str] | None = None
    ) -> Iterator[subprocess.Popen[bytes]]:
        """``manage.py run_processors`` (all followers, or those named)."""
        command = [sys.executable, str(ROOT / "manage.py"), "run_processors", *names]
        LOGS.mkdir(parents=True, exist_ok=True)
        name = "-".join(names) or "all"
        log_path = LOGS / f"run_processors-{self.database['NAME']}-{name}.log"
        wait_for_connections(12)
        with log_path.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603
                command,
                env=self.env | dict(env or {}),
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            yield process
        finally:
            _stop(process)


class Followers:
    """``run_processors`` for the whole of a benchmark, pausable."""

    def __init__(self, site: Site, *args: str) -> None:
        self.site = site
        self.args = args  # run_processors options, e.g. --gather=0.5
        self._stack: contextlib.ExitStack | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._stack = contextlib.ExitStack()
        self.process = self._stack.enter_context(self.site.processors(*self.args))

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = None
        self.process = None

    def exit_code(self) -> int | None:
        """None while running (or paused on purpose), else how it ended."""
        return None if self.process is None else self.process.poll()

    def __enter__(self) -> Followers:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def database_url(database: Mapping[str, Any]) -> str:
    """``DATABASE_URL`` for a Django DATABASES entry (PostgreSQL or SQLite)."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    return postgres_url(database)


def _wait_until_up(server: Server, processes: int | None = None) -> None:
    """Until it answers, with ``processes`` children (gunicorn's workers)."""
    wanted = server.workers if processes is None else processes
    deadline = time.monotonic() + START_TIMEOUT
    raw = f"GET /health/ HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            msg = f"gunicorn exited with {server.process.returncode}"
            raise RuntimeError(msg)
        with contextlib.suppress(OSError):
            status, _ = fetch(server.port, raw.encode())
            if status and len(server.worker_pids()) >= wanted:
                return
        time.sleep(0.2)
    msg = "The server did not answer in time"
    raise TimeoutError(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
