"""What every benchmark shares: databases made and dropped, timing, statistics."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import psycopg
from psycopg import sql

from esbank_site.bank import Bank, create_tables
from esbank_site.persistence.environment import eventsourcing_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

# The server every PostgreSQL benchmark uses; each makes its own databases
# there (named esbank_bench_*) and drops them when it is done.
POSTGRES_URL = os.environ.get(
    "ESBANK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
DATABASE_PREFIX = "esbank_bench_"

# Small runs for development (ESBANK_BENCH_QUICK=1): same code, smaller sizes.
QUICK = os.environ.get("ESBANK_BENCH_QUICK", "") not in ("", "0")


def sized(full: int, quick: int) -> int:
    """``full`` in a real run, ``quick`` in a quick one."""
    return quick if QUICK else full


@dataclass(frozen=True)
class Spread:
    """The median of several repetitions, with the lowest and highest."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            msg = "A spread needs at least one value."
            raise ValueError(msg)
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "low": self.low, "high": self.high}


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """Each repetition's ratio (measured side by side), summarised.

    A repetition whose denominator is zero (nothing got through) has no
    ratio; with none left the spread is NaN, which the report shows as such.
    """
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if b]
    if not ratios:
        nan = float("nan")
        return Spread(nan, nan, nan, 0)
    return Spread.of(ratios)


def log(message: str) -> None:
    """Progress, on stderr, so a long run shows where it is."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def interleaved(
    runs: Mapping[str, Callable[[], float]], repetitions: int
) -> dict[str, list[float]]:
    """Run every variant once per repetition, in a rotating order.

    Rotating the order keeps any drift of the machine (another job
    starting, a cache warming) from always favouring the same variant.
    """
    names = list(runs)
    results: dict[str, list[float]] = {name: [] for name in names}
    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(runs[name]())
    return results


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median_latency(function: Callable[[], Any], calls: int) -> float:
    """Median seconds of ``calls`` calls (after one warm-up call)."""
    function()
    return statistics.median(timed(function) for _ in range(calls))


# Databases.


def postgres_settings(name: str) -> dict[str, Any]:
    """A Django DATABASES entry for database ``name`` on the benchmark server."""
    url = urlparse(POSTGRES_URL)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": url.hostname or "127.0.0.1",
        "PORT": str(url.port or 5432),
        "USER": url.username or "postgres",
        "PASSWORD": url.password or "",
    }


def postgres_url(database: Mapping[str, Any]) -> str:
    """``DATABASE_URL`` for a Django DATABASES entry on PostgreSQL."""
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection, waiting a little if the shared server is full."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return psycopg.connect(url, autocommit=autocommit, connect_timeout=5)
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def admin_connection() -> psycopg.Connection[Any]:
    return connect(POSTGRES_URL, autocommit=True)


def wait_for_connections(needed: int, timeout: float = 120.0) -> int:
    """Wait until the shared server has ``needed`` connections free; how many.

    Other work on the same server (test suites) comes and goes: starting
    gunicorn workers while it is full only makes them fail to boot.
    """
    deadline = time.monotonic() + timeout
    reported = False
    while True:
        with admin_connection() as admin:
            row = admin.execute(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
                " - (SELECT count(*) FROM pg_stat_activity)"
            ).fetchone()
        free = int(row[0]) if row else 0
        if free >= needed or time.monotonic() > deadline:
            return free
        if not reported:
            log(f"waiting for {needed} free connections on the server ({free} now)")
            reported = True
        time.sleep(1)


def drop_postgres_database(name: str) -> None:
    with admin_connection() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


@contextlib.contextmanager
def postgres_database(purpose: str, *, tables: bool = True) -> Iterator[dict[str, Any]]:
    """A new, empty PostgreSQL database (with the bank's tables), dropped after."""
    name = f"{DATABASE_PREFIX}{purpose}_{os.getpid()}"
    drop_postgres_database(name)
    with admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = postgres_settings(name)
    try:
        if tables:
            create_tables(database)
        yield database
    finally:
        drop_postgres_database(name)


@contextlib.contextmanager
def sqlite_database(purpose: str) -> Iterator[dict[str, Any]]:
    """A new SQLite file with the bank's tables, deleted after."""
    with tempfile.TemporaryDirectory(prefix="esbank-bench-") as directory:
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(directory) / f"{purpose}.sqlite3"),
        }
        create_tables(database)
        yield database


@contextlib.contextmanager
def database_of(engine: str, purpose: str) -> Iterator[dict[str, Any]]:
    """``postgres_database`` or ``sqlite_database``, by name."""
    if engine == "postgres":
        with postgres_database(purpose) as database:
            yield database
    else:
        with sqlite_database(purpose) as database:
            yield database


def bank_env(database: Mapping[str, Any], **overrides: str) -> dict[str, str]:
    """The site's eventsourcing environment for ``database``, with changes."""
    return eventsourcing_env(database) | overrides


# Added to an environment: no aggregate cache, which Accounts turns on for
# itself, so every get rebuilds the account from its snapshot and events.
NO_CACHE = {"AGGREGATE_CACHE_MAXSIZE": ""}


@contextlib.contextmanager
def running_bank(
    database: Mapping[str, Any], *, process_inline: bool = False, **overrides: str
) -> Iterator[Bank]:
    """A started bank on ``database``; followers off unless ``process_inline``."""
    bank = Bank(bank_env(database, **overrides), process_inline=process_inline)
    bank.start()
    try:
        yield bank
    finally:
        bank.close()


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid``, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    msg = f"No VmRSS for process {pid}."
    raise LookupError(msg)


def catch_up(database: Mapping[str, Any], head: int, money_head: int) -> float:
    """Read models (projections) to ``head``; followers to ``money_head``.

    Used while building a benchmark's bank, before anything is measured.
    """
    started = time.monotonic()
    bank = Bank(bank_env(database, POSTGRES_POOL_SIZE="1"), process_inline=False)
    try:
        for processor in bank.processors:
            target = head if hasattr(processor, "projection") else money_head
            while processor.position() < target:
                if not processor.process(force=True, limit=5_000):
                    msg = f"{processor.name} failed: {processor.last_error}"
                    raise RuntimeError(msg)
    finally:
        bank.close()
    return time.monotonic() - started


def set_synchronous_commit(name: str, *, on: bool) -> None:
    """Switch durability off for a database being built (new sessions only)."""
    statement = (
        "ALTER DATABASE {} RESET synchronous_commit"
        if on
        else "ALTER DATABASE {} SET synchronous_commit = off"
    )
    with admin_connection() as admin:
        admin.execute(sql.SQL(statement).format(sql.Identifier(name)))
