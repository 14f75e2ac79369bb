"""The write ceiling of one ``Accounts`` application, and how shards move it.

The library's PostgreSQL recorder takes ``LOCK TABLE ... IN EXCLUSIVE MODE``
on the events table in every insert and holds it until the commit, so
notification ids are issued in commit order (followers never pass an event
that commits later with a lower id). One application's inserts therefore
run one at a time, however many threads or processes make them.

Measured in this process on PostgreSQL, with 1, 2, 4, 8 and 16 writer
threads, each depositing into its own accounts (keyed ``Accounts.deposit``,
as the web sends), each measurement the same time (1 s; in a quick run
0.15 s, 3 repetitions), all interleaved:

- raw INSERT+COMMIT of a deposit-sized row into a scratch table, one
  connection per thread (the server's own ceiling, commits grouped);
- the same with the library's lock taken first (``LOCK TABLE`` then INSERT
  then COMMIT): what the lock alone does to it;
- one ``Accounts`` application (the bank as it is);
- 2 and 4 shards: ``ShardedAccounts`` (``bench/sharding.py``), the accounts
  routed by number to as many ``Accounts`` applications, each with its own
  tables (a schema each).

Each layout has a database of its own, dropped after. Every measurement
builds its applications afresh (their pools fixed in size, nothing opened
beyond them) and deposits once into each account before the clock starts,
so the aggregate cache is warm and only one layout's connections are open
at a time: at most ``threads`` for one application, and ``threads / shards``
rounded up, plus one, for each shard (20 at most). The connections each
variant held are counted on the server and reported.

What limits each variant is sampled while it runs (``Sampler``): backends
waiting for the table lock, backends inside a transaction waiting for their
client, the cores this process used and the share of the machine busy; and
for the applications, the mean time of one insert transaction (lock wait
and hold).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from psycopg import sql

from accounts.application import Accounts
from bench.common import (
    QUICK,
    Spread,
    admin_connection,
    bank_env,
    connect,
    interleaved,
    log,
    paired_ratios,
    postgres_database,
    postgres_url,
    rate,
    sized,
    wait_for_connections,
)
from bench.loading import open_accounts, owner_names
from bench.sharding import (
    AccountRef,
    ShardedAccounts,
    home_shard,
    shard_envs,
    shard_schema,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    import psycopg

THREADS = (1, 2, 4, 8, 16)
LAYOUTS = (1, 2, 4)  # Accounts applications the accounts are split over
ACCOUNTS_PER_THREAD = 4
RAW_TABLE = "bench_scaling_raw"
PAYLOAD = b"x" * 300  # about the size of a stored deposit event

RAW, LOCKED = "raw INSERT+COMMIT", "raw, table locked"


def layout_name(shards: int) -> str:
    return "1 application" if shards == 1 else f"{shards} shards"


def variant(kind: str, threads: int) -> str:
    return f"{kind}, {threads} thread{'s' if threads > 1 else ''}"


def pool_size(threads: int, shards: int) -> int:
    """Connections each shard's pool keeps for ``threads`` writers.

    One application gets one per thread. A shard gets its share, plus one
    for the moments when more than its share of the threads want it at once.
    """
    if shards == 1:
        return threads
    return min(threads, math.ceil(threads / shards) + 1)


# Running threads with the clock started only once all are ready.


class Sampler:
    """What the server and this process are doing while a measurement runs.

    Every ``interval`` seconds, from a connection to another database (so
    it does not count itself): how many backends of the bench databases
    wait for a lock (the table lock: nothing else is contended here), and
    how many sit in an open transaction waiting for their client (in an
    insert, that is with the table lock held, waiting on Python). Over the
    whole measurement: the cores this process used, and the share of the
    machine's cores busy (this process, the server and anything else).
    """

    QUERY = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),"
        " count(*) FILTER (WHERE state = 'idle in transaction')"
        " FROM pg_stat_activity WHERE datname = ANY(%s)"
    )

    def __init__(self, databases: Sequence[str], interval: float = 0.01) -> None:
        self.databases = list(databases)
        self.interval = interval
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._conn = admin_connection()
        self._started = (0.0, 0.0, cpu_ticks())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            row = self._conn.execute(self.QUERY, (self.databases,)).fetchone()
            if row:
                self.samples.append((int(row[0]), int(row[1])))

    def start(self) -> None:
        times = os.times()
        self._started = (time.perf_counter(), times.user + times.system, cpu_ticks())
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Means of the samples, and the cores used since ``start``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._conn.close()
        wall, cpu, (busy, total) = self._started
        times = os.times()
        now_busy, now_total = cpu_ticks()
        count = len(self.samples) or 1
        return {
            "waiting_for_lock": sum(s[0] for s in self.samples) / count,
            "idle_in_transaction": sum(s[1] for s in self.samples) / count,
            "samples": len(self.samples),
            "process_cores": (times.user + times.system - cpu)
            / max(time.perf_counter() - wall, 1e-9),
            "machine_busy": (now_busy - busy) / max(now_total - total, 1),
        }


def cpu_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the machine so far, all cores (Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def threads_for(
    threads: int,
    seconds: float,
    setup: Callable[[int], Callable[[int], object]],
    sampler: Sampler | None = None,
) -> float:
    """Operations per second of ``threads`` threads, each for ``seconds``.

    ``setup(n)`` runs in thread ``n`` before the clock starts (connecting)
    and returns one operation, called with a count until the time is up;
    ``sampler`` runs while the clock does. A fixed time, not a fixed count,
    so every variant is sampled over as long, fast or slow.
    """
    ready = threading.Barrier(threads + 1)
    counts = [0] * threads
    errors: list[BaseException] = []

    def thread(number: int) -> None:
        try:
            step = setup(number)
        except BaseException as error:  # noqa: BLE001 (raised in the caller)
            errors.append(error)
            ready.abort()
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait()
        deadline = time.perf_counter() + seconds
        try:
            while time.perf_counter() < deadline:
                step(counts[number])
                counts[number] += 1
        except BaseException as error:  # noqa: BLE001 (raised in the caller)
            errors.append(error)

    workers = [threading.Thread(target=thread, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait()
    if sampler:
        sampler.start()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return rate(sum(counts), elapsed)


# The raw ceilings.


def raw_inserts(
    database: Mapping[str, Any],
    seconds: float,
    threads: int,
    observed: list[dict[str, float]],
    databases: Sequence[str],
    *,
    locked: bool,
) -> float:
    """INSERT+COMMITs per second with ``threads`` connections, one each.

    ``locked`` takes the library's lock first in each transaction, as its
    recorder does, so the transactions cannot overlap. What the server's
    backends did meanwhile is appended to ``observed``.
    """
    url = postgres_url(database)
    lock = sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(RAW_TABLE))
    insert = sql.SQL("INSERT INTO {} (state) VALUES (%s)").format(
        sql.Identifier(RAW_TABLE)
    )
    connections: list[psycopg.Connection[Any]] = []

    def setup(_: int) -> Callable[[int], None]:
        conn = connect(url)
        connections.append(conn)

        def step(_: int) -> None:
            if locked:
                conn.execute(lock, prepare=True)
            conn.execute(insert, (PAYLOAD,), prepare=True)
            conn.commit()

        return step

    sampler = Sampler(databases)
    try:
        per_second = threads_for(threads, seconds, setup, sampler)
    finally:
        seen = sampler.stop()
        for conn in connections:
            conn.close()
    observed.append(seen | {"connections": len(connections)})
    return per_second


# The bank, as one application or in shards.


def timing_inserts(app: Accounts, seconds: list[float]) -> None:
    """Append the seconds each insert of ``app``'s events takes to ``seconds``.

    From asking the pool for a connection to the commit: the wait for the
    table lock, then the time it is held.
    """
    insert = app.recorder.insert_events

    def timed_insert(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return insert(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    app.recorder.insert_events = timed_insert  # type: ignore[method-assign]


@contextlib.contextmanager
def layout(
    env: Mapping[str, str], shards: int, threads: int, inserts: list[float]
) -> Iterator[Callable[[AccountRef], Any]]:
    """A keyed deposit of 1.00 on a fresh layout, pools sized for ``threads``.

    The seconds of each insert transaction are appended to ``inserts``.
    """
    pools = {
        "POSTGRES_POOL_SIZE": str(pool_size(threads, shards)),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    if shards == 1:
        app = Accounts(dict(env) | pools)
        timing_inserts(app, inserts)
        try:
            yield lambda account: app.deposit(
                account.id, "1.00", idempotency_key=str(uuid4())
            )
        finally:
            app.close()
        return
    bank = ShardedAccounts(shard_envs(dict(env) | pools, shards))
    for shard in bank.shards:
        timing_inserts(shard, inserts)
    try:
        yield lambda account: bank.deposit(
            account, "1.00", idempotency_key=str(uuid4())
        )
    finally:
        bank.close()


def deposits(
    env: Mapping[str, str],
    shards: int,
    accounts: Sequence[Sequence[AccountRef]],
    seconds: float,
    threads: int,
    *,
    observed: list[dict[str, float]],
    databases: Sequence[str],
) -> float:
    """Keyed deposits per second by ``threads`` threads, each into its own accounts.

    What the server's backends did meanwhile, and how many connections the
    layout held, is appended to ``observed``.
    """
    inserts: list[float] = []
    with layout(env, shards, threads, inserts) as deposit:

        def setup(number: int) -> Callable[[int], object]:
            mine = accounts[number]
            return lambda count: deposit(mine[count % len(mine)])

        # One untimed deposit into each account first: the aggregate cache
        # of this new layout then holds them, as a running bank's would.
        for refs in accounts[:threads]:
            for ref in refs:
                deposit(ref)
        inserts.clear()
        sampler = Sampler(databases)
        try:
            per_second = threads_for(threads, seconds, setup, sampler)
        finally:
            seen = sampler.stop()
        observed.append(
            seen
            | {
                "connections": connections_to(databases),
                "insert_ms": 1000 * sum(inserts) / max(len(inserts), 1),
            }
        )
    return per_second


def connections_to(databases: Sequence[str]) -> int:
    """Connections now open to ``databases`` on the server."""
    with admin_connection() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(%s)",
            (list(databases),),
        ).fetchone()
    return int(row[0]) if row else 0


# Building the layouts.


def build_layout(database: Mapping[str, Any], shards: int) -> list[AccountRef]:
    """Schemas and tables for ``shards`` applications; their accounts, shuffled.

    ``ACCOUNTS_PER_THREAD`` accounts for each of the most threads, the same
    number in each shard; shuffled, so each thread's accounts are spread
    over the shards as a customer's would be.
    """
    env = bank_env(database, CREATE_TABLE="yes", POSTGRES_POOL_SIZE="1")
    count = max(THREADS) * ACCOUNTS_PER_THREAD
    owners = owner_names(100)
    if shards == 1:
        apps = [Accounts(env)]
    else:
        with connect(postgres_url(database)) as conn:
            for index in range(shards):
                conn.execute(
                    sql.SQL("CREATE SCHEMA {}").format(
                        sql.Identifier(shard_schema(index))
                    )
                )
            conn.commit()
        apps = ShardedAccounts(shard_envs(env, shards)).shards
    refs: list[AccountRef] = []
    try:
        for index, app in enumerate(apps):
            # Each owner's accounts in their home shard, as a sharded bank
            # opens them.
            at_home = [o for o in owners if home_shard(o, len(apps)) == index]
            ids = open_accounts(app, count // len(apps), at_home)
            refs += [AccountRef(app.get_account(i).number, i) for i in ids]
    finally:
        for app in apps:
            app.close()
    random.Random(shards).shuffle(refs)  # noqa: S311 (an order, not a secret)
    return refs


def run(repetitions: int = 5) -> dict[str, Any]:
    """Every variant at every thread count, interleaved ``repetitions`` times.

    A quick run measures each for 0.15 s instead of 1 s, at most 3 times.
    """
    seconds = 0.15 if QUICK else 1.0
    repetitions = sized(repetitions, min(repetitions, 3))
    with contextlib.ExitStack() as stack:
        databases = {
            shards: stack.enter_context(
                postgres_database(f"scaling{shards}", tables=False)
            )
            for shards in LAYOUTS
        }
        names = [str(d["NAME"]) for d in databases.values()]
        envs = {shards: bank_env(d) for shards, d in databases.items()}
        accounts: dict[int, list[list[AccountRef]]] = {}
        for shards, database in databases.items():
            refs = build_layout(database, shards)
            accounts[shards] = [
                refs[n * ACCOUNTS_PER_THREAD : (n + 1) * ACCOUNTS_PER_THREAD]
                for n in range(max(THREADS))
            ]
        raw_database = databases[1]
        with connect(postgres_url(raw_database), autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} (id bigserial PRIMARY KEY, state bytea NOT NULL)"
                ).format(sql.Identifier(RAW_TABLE))
            )
        wait_for_connections(max(THREADS) + 10)
        observed: dict[str, list[dict[str, float]]] = {}
        runs: dict[str, Callable[[], float]] = {}
        for threads in THREADS:
            for kind, locked in ((RAW, False), (LOCKED, True)):
                name = variant(kind, threads)
                observed[name] = []
                runs[name] = partial(
                    raw_inserts,
                    raw_database,
                    seconds,
                    threads,
                    observed[name],
                    names,
                    locked=locked,
                )
            for shards in LAYOUTS:
                name = variant(layout_name(shards), threads)
                observed[name] = []
                runs[name] = partial(
                    deposits,
                    envs[shards],
                    shards,
                    accounts[shards],
                    seconds,
                    threads,
                    observed=observed[name],
                    databases=names,
                )
        results = interleaved(runs, repetitions)
    return summarise(results, observed, seconds)


def summarise(
    results: dict[str, list[float]],
    observed: dict[str, list[dict[str, float]]],
    seconds: float,
) -> dict[str, Any]:
    """Rates, the ratios measured side by side in each repetition, the server's view."""
    kinds = [RAW, LOCKED, *(layout_name(s) for s in LAYOUTS)]
    apps = kinds[2:]

    def seen(key: str, threads: int, among: Sequence[str]) -> dict[str, Any]:
        """A sampled figure of each of ``among``: its spread over the runs."""
        return {
            kind: Spread.of(
                [o[key] for o in observed[variant(kind, threads)]]
            ).as_dict()
            for kind in among
        }

    figures: dict[str, Any] = {}
    for threads in THREADS:
        raw = results[variant(RAW, threads)]
        one = results[variant(layout_name(1), threads)]
        figures[str(threads)] = {
            "rates": {
                kind: Spread.of(results[variant(kind, threads)]).as_dict()
                for kind in kinds
            },
            # Each against the raw ceiling at the same threads.
            "vs_raw": {
                kind: paired_ratios(results[variant(kind, threads)], raw).as_dict()
                for kind in kinds[1:]
            },
            # Each layout against one application at the same threads.
            "vs_one_application": {
                kind: paired_ratios(results[variant(kind, threads)], one).as_dict()
                for kind in apps[1:]
            },
            # Each variant against itself with one thread.
            "vs_one_thread": {
                kind: paired_ratios(
                    results[variant(kind, threads)], results[variant(kind, 1)]
                ).as_dict()
                for kind in kinds
            },
            # The most connections a variant held.
            "connections": {
                kind: max(o["connections"] for o in observed[variant(kind, threads)])
                for kind in kinds
            },
            # Means over each run's samples: backends waiting for the table
            # lock, and in a transaction waiting on their client.
            "waiting_for_lock": seen("waiting_for_lock", threads, kinds),
            "idle_in_transaction": seen("idle_in_transaction", threads, kinds),
            # Cores this process used; share of the machine's cores busy.
            "process_cores": seen("process_cores", threads, kinds),
            "machine_busy": seen("machine_busy", threads, kinds),
            # Mean milliseconds of one insert transaction (lock wait and hold).
            "insert_ms": seen("insert_ms", threads, apps),
        }
    for threads in THREADS:
        f = figures[str(threads)]
        log(
            f"scaling, {threads} threads: "
            + ", ".join(f"{kind} {f['rates'][kind]['median']:,.0f}/s" for kind in kinds)
            + "; 4 shards / 1 application "
            + f"{f['vs_one_application'][layout_name(4)]['median']:.2f}"
        )
    return {
        "seconds": seconds,
        "threads": list(THREADS),
        "layouts": apps,
        "accounts_per_thread": ACCOUNTS_PER_THREAD,
        "figures": figures,
        "peak_connections": max(
            max(f["connections"].values()) for f in figures.values()
        ),
    }
