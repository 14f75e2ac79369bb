"""Over HTTP, as deployed: the write path, account pages, followers under load.

One PostgreSQL database holds both banks. gunicorn serves the site and the
conventional bank from the same processes (``bench.settings``), and
``run_processors`` runs the followers beside them, as ``make serve`` and
docs/DEPLOYMENT.md run them. Clients are signed-in customers posting the
dashboard's own htmx forms, each with a fresh idempotency token.

On SQLite, the same write path with both banks on one file, served by
``manage.py runserver`` as ``make run`` serves the site.
"""

from __future__ import annotations

import functools
import math
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from bench.commits import raw_postgres
from bench.common import (
    Spread,
    bank_env,
    catch_up,
    interleaved,
    log,
    paired_ratios,
    postgres_database,
    set_synchronous_commit,
    sized,
)
from bench.followers import Meter, meter_env
from bench.load import Session, drive, get, post
from bench.servers import Followers, Server, Site
from esbank_site.bank import Bank
from ledger.batches import BatchProcessApplication

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

CLIENTS = (1, 4, 8)
USERS = 8
ACCOUNTS_PER_USER = 20
HISTORIES = (10, 1_000, 10_000)
WORKERS = 3  # make serve's default
AMOUNT = "1.00"


class Customers:
    """The seeded customers, and the requests they send."""

    def __init__(self, seed: Mapping[str, Any]) -> None:
        self.names = sorted(seed["sessions"])
        self.sessions = {n: Session(**seed["sessions"][n]) for n in self.names}
        self.accounts = {
            "es": seed["es_accounts"],
            "conventional": seed["conventional_accounts"],
        }
        self.everyone = {
            bank: [a for n in self.names for a in accounts[n]]
            for bank, accounts in self.accounts.items()
        }
        self.random = random.Random(7)  # noqa: S311 (load, not secrets)

    def deposit(self, bank: str) -> Callable[[int], bytes]:
        prefix = "/accounts/" if bank == "es" else "/conventional/"

        def make(client: int) -> bytes:
            name = self.names[client % len(self.names)]
            account = self.random.choice(self.accounts[bank][name])
            form = {"amount": AMOUNT, "token": uuid4().hex}
            return post(f"{prefix}{account}/deposit/", self.sessions[name], form)

        return make

    def ceiling(self) -> Callable[[int], bytes]:
        """The event-sourced deposit's request, to the fragment ceiling."""

        def make(client: int) -> bytes:
            name = self.names[client % len(self.names)]
            account = self.random.choice(self.accounts["es"][name])
            form = {"amount": AMOUNT, "token": uuid4().hex}
            return post(f"/ceiling/{account}/deposit/", self.sessions[name], form)

        return make

    def transfer(self, bank: str) -> Callable[[int], bytes]:
        """From one of the client's accounts to any other account in the bank."""
        prefix = "/accounts/" if bank == "es" else "/conventional/"

        def make(client: int) -> bytes:
            name = self.names[client % len(self.names)]
            source = self.random.choice(self.accounts[bank][name])
            target = source
            while target == source:
                target = self.random.choice(self.everyone[bank])
            form = {"amount": AMOUNT, "token": uuid4().hex, "to_account": target}
            return post(f"{prefix}{source}/transfer/", self.sessions[name], form)

        return make


def run(repetitions: int = 3) -> dict[str, Any]:
    """Figures 1 and 3 (the write path and its tail), 2 (pages) and 4, and
    the gunicorn lever, on one PostgreSQL database; then figure 1 on SQLite."""
    seconds = sized(20, 10) / 10
    with postgres_database("web", tables=False) as database:
        site = Site(database, extra_env=meter_env(database))  # followers' CPU
        log("web: migrate and seed")
        site.manage("migrate", "--noinput")
        histories = (
            ",".join(str(n) for n in HISTORIES[:-1]) + f",{sized(10_000, 2_000)}"
        )
        # Building is not measured: durability off until the followers
        # have caught up on it, on again before anything else starts.
        set_synchronous_commit(database["NAME"], on=False)
        try:
            seed = site.seed(
                "web",
                "--users",
                str(USERS),
                "--accounts-per-user",
                str(ACCOUNTS_PER_USER),
                "--histories",
                histories,
            )
            head = seed["head"]
            catch_up(database, head, head)
        finally:
            set_synchronous_commit(database["NAME"], on=True)
        customers = Customers(seed)
        watcher = Bank(bank_env(database, POSTGRES_POOL_SIZE="1"), process_inline=False)
        try:
            with Followers(site) as followers_process:
                wait_until_caught_up(watcher, timeout=120)
                with site.gunicorn(WORKERS) as server:
                    warm_up(server, customers)
                    log("web: write path (figure 1)")
                    write = write_path(
                        server,
                        customers,
                        database,
                        repetitions,
                        seconds,
                        paused=(followers_process, watcher),
                    )
                    log("web: account pages (figure 2)")
                    pages = account_pages(server, seed, repetitions)
                    log("web: followers under load (figure 4)")
                    followers = followers_keep_up(
                        server, customers, watcher, followers_process
                    )
                    # A figure measured without the followers would mislead.
                    followers["processors_exit_code"] = followers_process.exit_code()
                    followers["processor_failures"] = processors_failures(site)
                    log("web: run_processors --gather")
                    gathering = gather_lever(
                        site,
                        server,
                        customers,
                        watcher,
                        followers=followers_process,
                        seconds=seconds,
                    )
                log("web: gunicorn settings")
                levers = gunicorn_levers(
                    site, customers, database, repetitions, seconds
                )
        finally:
            watcher.close()
    write_sqlite = sqlite_write_path(repetitions, seconds)
    return {
        "write_path": write,
        "write_path_sqlite": write_sqlite,
        "account_pages": pages,
        "followers": followers,
        "gunicorn": levers,
        "gather": gathering,
    }


def processors_failures(site: Site) -> list[str]:
    """The failures run_processors logged (the last few), if any."""
    lines = []
    for path in site.processor_logs():
        lines += [
            line
            for line in path.read_text(errors="replace").splitlines()
            if "failed" in line or "Error" in line
        ]
    return lines[-5:]


def warm_up(server: Server, customers: Customers) -> None:
    """A second of both banks' deposits, so every worker has started."""
    for bank in ("es", "conventional"):
        drive(
            server.port, customers.deposit(bank), clients=server.workers * 2, seconds=1
        )


def wait_until_caught_up(watcher: Bank, timeout: float) -> float:
    """Seconds until every processor is at the leader's head."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(s.lag == 0 for s in watcher.processor_status()):
            return time.monotonic() - started
        time.sleep(0.1)
    msg = f"Processors still behind after {timeout}s: {watcher.processor_status()}"
    raise TimeoutError(msg)


# Figure 1: the write path against the conventional way and the fragment
# ceiling; and figure 3, the tail latency of deposits at 8 clients.

LATENCY_CLIENTS = 8
PERCENTILES = (50, 95, 99)
BANKS_AND_CEILING = ("es", "conventional", "ceiling")


def write_path(
    server: Server,
    customers: Customers,
    database: Mapping[str, Any],
    repetitions: int,
    seconds: float,
    *,
    paused: tuple[Followers, Bank],
) -> dict[str, Any]:
    """Both banks at each client count; the fragment ceiling; the raw commit,
    for orientation; and, to show what the followers cost the event-sourced
    bank here, its deposits with ``run_processors`` stopped (they catch up
    before the next measurement).

    The ceiling is the event-sourced deposit's request sent to
    ``bench/ceiling.py``: the same middleware, form and fragment, no bank.
    At 8 clients every deposit's latency is kept, for the tail.
    """
    raw_operations = sized(600, 150)
    runs: dict[str, Callable[[], float]] = {
        "raw commit": lambda: raw_postgres(database, raw_operations),
    }
    statuses: dict[str, dict[int, int]] = {}
    latencies: dict[str, list[list[float]]] = {}

    def http(
        name: str, make: Callable[[int], bytes], clients: int
    ) -> Callable[[], float]:
        def measure() -> float:
            result = drive(server.port, make, clients=clients, seconds=seconds)
            seen = statuses.setdefault(name, {})
            for status, count in result.statuses.items():
                seen[status] = seen.get(status, 0) + count
            # "es deposit 8" is kept as "es deposit"; not the paused ones.
            if clients == LATENCY_CLIENTS and name.endswith(f" deposit {clients}"):
                latencies.setdefault(name.rsplit(" ", 1)[0], []).append(
                    result.latencies
                )
            return result.rate

        return measure

    for clients in CLIENTS:
        for bank in ("es", "conventional"):
            runs[f"{bank} deposit {clients}"] = http(
                f"{bank} deposit {clients}", customers.deposit(bank), clients
            )
            runs[f"{bank} transfer {clients}"] = http(
                f"{bank} transfer {clients}", customers.transfer(bank), clients
            )
        runs[f"ceiling deposit {clients}"] = http(
            f"ceiling deposit {clients}", customers.ceiling(), clients
        )
        runs[f"es deposit {clients} paused"] = _paused(
            http(f"es deposit {clients} paused", customers.deposit("es"), clients),
            *paused,
        )
        if clients > 1:
            runs[f"raw commit {clients}"] = functools.partial(
                raw_postgres, database, raw_operations, clients
            )
    results = interleaved(runs, repetitions)
    raw = results["raw commit"]
    figures: dict[str, Any] = {}
    for clients in CLIENTS:
        ceiling = results[f"ceiling deposit {clients}"]
        for command in ("deposit", "transfer"):
            es = results[f"es {command} {clients}"]
            conventional = results[f"conventional {command} {clients}"]
            figures[f"{command} {clients}"] = {
                "es": Spread.of(es).as_dict(),
                **(
                    {
                        "es_paused": Spread.of(
                            results[f"es deposit {clients} paused"]
                        ).as_dict(),
                        "es_paused_vs_conventional": paired_ratios(
                            results[f"es deposit {clients} paused"], conventional
                        ).as_dict(),
                        "ceiling": Spread.of(ceiling).as_dict(),
                        "es_vs_ceiling": paired_ratios(es, ceiling).as_dict(),
                        "conventional_vs_ceiling": paired_ratios(
                            conventional, ceiling
                        ).as_dict(),
                    }
                    if command == "deposit"
                    else {}
                ),
                "conventional": Spread.of(conventional).as_dict(),
                "es_vs_conventional": paired_ratios(es, conventional).as_dict(),
                "es_vs_raw": paired_ratios(es, raw).as_dict(),
            }
    return {
        "seconds": seconds,
        "workers": server.workers,
        "raw": Spread.of(raw).as_dict(),
        "raw_threads": {
            clients: Spread.of(results[f"raw commit {clients}"]).as_dict()
            for clients in CLIENTS
            if clients > 1
        },
        "figures": figures,
        "latency": tail_latency(latencies),
        "statuses": statuses,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``th percentile: ``q`` % of the values are at or under it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def tail_latency(latencies: Mapping[str, list[list[float]]]) -> dict[str, Any]:
    """Each bank's percentiles per repetition, summarised; ES p99 over the
    conventional p99 of the same repetition; and every latency, for the plot."""
    runs = {bank: latencies[f"{bank} deposit"] for bank in BANKS_AND_CEILING}
    p99 = {bank: [percentile(run, 99) for run in runs[bank]] for bank in runs}
    return {
        "clients": LATENCY_CLIENTS,
        "requests": {bank: sum(len(run) for run in runs[bank]) for bank in runs},
        "percentiles_ms": {
            bank: {
                f"p{q}": Spread.of(
                    [percentile(run, q) * 1000 for run in runs[bank]]
                ).as_dict()
                for q in PERCENTILES
            }
            for bank in runs
        },
        "p99_es_vs_conventional": paired_ratios(
            p99["es"], p99["conventional"]
        ).as_dict(),
        # Every latency of every repetition, in ms, for the distribution.
        "samples_ms": {
            bank: sorted(round(v * 1000, 2) for run in runs[bank] for v in run)
            for bank in runs
        },
    }


def _paused(
    measure: Callable[[], float], followers: Followers, watcher: Bank
) -> Callable[[], float]:
    def paused() -> float:
        followers.stop()
        try:
            return measure()
        finally:
            followers.start()
            wait_until_caught_up(watcher, timeout=120)

    return paused


# Figure 1 on SQLite: both banks on one file, served as `make run` serves it.

SQLITE_CLIENTS = (1, 4)
SQLITE_USERS = 4
# What `make run` gives the site: DEBUG on, and the followers in the web
# process, inline after each commit and on the settings' 2-second timer.
MAKE_RUN_ENV = {
    "DJANGO_DEBUG": "1",
    "ESBANK_PROCESS_INLINE": "1",
    "ESBANK_POLL_INTERVAL": "2.0",
}


def sqlite_write_path(repetitions: int, seconds: float) -> dict[str, Any]:
    """Deposits and transfers of both banks at 1 and 4 clients, interleaved.

    One SQLite file holds both banks, migrated and seeded as the PostgreSQL
    figure's (fewer customers), and ``manage.py runserver`` serves them with
    ``make run``'s settings: one process, a thread per request, the
    event-sourced bank's followers running in it.
    """
    with tempfile.TemporaryDirectory(prefix="esbank-bench-") as directory:
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(directory) / "web.sqlite3"),
        }
        site = Site(database, extra_env=MAKE_RUN_ENV)
        log("web: SQLite, migrate and seed")
        site.manage("migrate", "--noinput")
        seed = site.seed(
            "web",
            "--users",
            str(SQLITE_USERS),
            "--accounts-per-user",
            str(ACCOUNTS_PER_USER),
            "--histories",
            "10",
        )
        customers = Customers(seed)
        statuses: dict[str, dict[int, int]] = {}
        with site.runserver() as server:
            log("web: SQLite write path (figure 1)")
            # A second of each first: the bank started, the templates loaded.
            for bank in ("es", "conventional"):
                drive(server.port, customers.deposit(bank), clients=4, seconds=1)
            runs: dict[str, Callable[[], float]] = {}
            for clients in SQLITE_CLIENTS:
                for bank in ("es", "conventional"):
                    for command in ("deposit", "transfer"):
                        name = f"{bank} {command} {clients}"
                        make = getattr(customers, command)(bank)
                        runs[name] = _counted(
                            server,
                            make,
                            clients,
                            seconds,
                            statuses.setdefault(name, {}),
                        )
            results = interleaved(runs, repetitions)
    figures = {}
    for clients in SQLITE_CLIENTS:
        for command in ("deposit", "transfer"):
            es = results[f"es {command} {clients}"]
            conventional = results[f"conventional {command} {clients}"]
            figures[f"{command} {clients}"] = {
                "es": Spread.of(es).as_dict(),
                "conventional": Spread.of(conventional).as_dict(),
                "es_vs_conventional": paired_ratios(es, conventional).as_dict(),
            }
    return {
        "seconds": seconds,
        "server": "manage.py runserver (DEBUG on, followers in process)",
        "figures": figures,
        "statuses": statuses,
    }


def _counted(
    server: Server,
    make: Callable[[int], bytes],
    clients: int,
    seconds: float,
    statuses: dict[int, int],
) -> Callable[[], float]:
    """A measurement of successful requests per second, adding up the statuses."""

    def measure() -> float:
        result = drive(server.port, make, clients=clients, seconds=seconds)
        for status, count in result.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        return result.rate

    return measure


# Figure 2, over HTTP: the account page at each history length.


def account_pages(
    server: Server, seed: Mapping[str, Any], repetitions: int
) -> dict[str, Any]:
    session = Session(**seed["history_session"])
    calls = sized(15, 5)
    runs = {}
    for length, account_id in seed["histories"].items():
        request = get(f"/accounts/{account_id}/", session)
        runs[length] = page_latency(server, request, calls)
    results = interleaved(runs, repetitions)
    shortest = min(results, key=int)
    return {
        "calls": calls,
        "latency_ms": {
            length: Spread.of([v * 1000 for v in values]).as_dict()
            for length, values in results.items()
        },
        "ratios": {
            length: paired_ratios(values, results[shortest]).as_dict()
            for length, values in results.items()
            if length != shortest
        },
    }


def page_latency(server: Server, request: bytes, calls: int) -> Callable[[], float]:
    """The median latency of ``calls`` requests, one at a time (after one)."""

    def measure() -> float:
        result = drive(
            server.port, lambda _: request, clients=1, seconds=60, requests=calls + 1
        )
        if result.ok != calls + 1:
            msg = f"Page answered {dict(result.statuses)}"
            raise RuntimeError(msg)
        return sorted(result.latencies[1:])[calls // 2]

    return measure


# Figure 4: followers under sustained load.


def followers_keep_up(
    server: Server, customers: Customers, watcher: Bank, followers: Followers
) -> dict[str, Any]:
    """8 clients deposit, twice; what each processor kept up with.

    First a steady load with ``run_processors`` following all along: each
    processor's pace (what it processed during the load over what was
    written during it: just under 1.0 when it keeps up, since the events of
    the last instant are still in flight when the load stops) and the time
    until every lag is back to 0 once the load stops. Then the same load
    with ``run_processors`` stopped at its start and started again a third
    of the way in: from a processor's first step until it is back within
    one pull of the head, its processing rate over the write rate says how
    much faster than the writes it can go.
    """
    load_seconds = sized(100, 40) / 10
    drain_limit = 30.0
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    clock = time.monotonic()  # sample times count from here

    def sample() -> None:
        while not stop.is_set():
            statuses = watcher.processor_status()
            samples.append(
                {
                    "t": time.monotonic() - clock,
                    "head": statuses[0].leader_position,
                    "positions": {s.name: s.position for s in statuses},
                }
            )
            time.sleep(0.1)

    def load() -> tuple[Any, float, float]:
        started = time.monotonic()
        result = drive(
            server.port, customers.deposit("es"), clients=8, seconds=load_seconds
        )
        return result, started - clock, time.monotonic() - clock

    def drain() -> float | None:
        try:
            return wait_until_caught_up(watcher, timeout=drain_limit)
        except TimeoutError:
            return None

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(0.5)

    # The steady load.
    first = {s.name: s.position for s in watcher.processor_status()}
    head_before = watcher.processor_status()[0].leader_position
    meter = Meter(followers)  # CPU per event, per follower (bench/followers.py)
    meter.start()
    result, steady_start, steady_end = load()
    cpu = meter.stop()
    at_stop = {s.name: s for s in watcher.processor_status()}
    drained = drain()
    written = at_stop[next(iter(at_stop))].leader_position - head_before
    write_rate = written / (steady_end - steady_start)
    time.sleep(0.5)

    # The same load, run_processors stopped for its first third.
    switched: list[float] = []  # when run_processors was stopped, and started

    def pause_followers() -> None:
        switched.append(time.monotonic() - clock)
        followers.stop()
        time.sleep(max(0.0, clock + switched[0] + load_seconds / 3 - time.monotonic()))
        switched.append(time.monotonic() - clock)
        followers.start()

    pauser = threading.Thread(target=pause_followers)
    pauser.start()
    _, paused_start, paused_end = load()
    pauser.join()
    drain()
    time.sleep(0.5)
    stop.set()
    sampler.join()

    processors = {}
    for name, status in at_stop.items():
        rate = _catch_up_rate(samples, name, switched[1])
        processors[name] = {
            "processed_during_load": status.position - first[name],
            "vs_write_rate": (status.position - first[name]) / written
            if written
            else 0,
            "lag_at_stop": status.lag,
            "catch_up_rate": rate,
            "throughput_vs_write_rate": rate / write_rate
            if rate is not None and write_rate
            else None,
        }
    return {
        "clients": 8,
        "load_seconds": steady_end - steady_start,
        "requests_per_second": result.rate,
        "statuses": dict(result.statuses),
        "write_rate": write_rate,
        "processors": processors,
        "drained_seconds": drained,
        "load_window": [steady_start, steady_end],
        "paused_load_window": [paused_start, paused_end],
        "paused_window": switched,
        "cpu": cpu,
        "samples": [
            {
                "t": s["t"],
                "lag": {n: s["head"] - pos for n, pos in s["positions"].items()},
            }
            for s in samples
        ],
    }


def _catch_up_rate(
    samples: list[dict[str, Any]], name: str, restarted: float
) -> float | None:
    """Events/s from the processor's first step after ``restarted`` until it
    is back within one pull of the head (None if it never moved)."""
    within = BatchProcessApplication.pull_section_size  # one pull
    after = [s for s in samples if s["t"] >= restarted]
    if len(after) < 2:
        return None
    base = after[0]["positions"][name]
    moved = next((s for s in after if s["positions"][name] > base), None)
    if moved is None:
        return None
    # It began somewhere after the sample before its first step.
    start = samples[max(0, samples.index(moved) - 1)]
    end = next(
        (
            s
            for s in samples
            if s["t"] > start["t"] and s["head"] - s["positions"][name] <= within
        ),
        samples[-1],
    )
    if end["t"] <= start["t"]:
        return None
    processed = end["positions"][name] - start["positions"][name]
    return processed / (end["t"] - start["t"])


# Lever: gunicorn workers and threads.


def _rate_of(
    server: Server, make: Callable[[int], bytes], clients: int, seconds: float
) -> Callable[[], float]:
    return lambda: drive(server.port, make, clients=clients, seconds=seconds).rate


# Lever: how long run_processors gathers commits before it pulls.

GATHER_SECONDS = (0.0, 0.05, 0.2, 0.5)


def gather_lever(
    site: Site,
    server: Server,
    customers: Customers,
    watcher: Bank,
    *,
    followers: Followers,
    seconds: float,
) -> dict[str, Any]:
    """ES over conventional deposits, 8 clients, under each ``--gather``.

    run_processors is restarted with each value in turn (rotating order),
    caught up, and both banks measured side by side under it.
    """
    ratios: dict[float, list[float]] = {g: [] for g in GATHER_SECONDS}
    drained: dict[float, list[float]] = {g: [] for g in GATHER_SECONDS}
    followers.stop()
    try:
        for repetition in range(2):
            turn = repetition % len(GATHER_SECONDS)
            for gather in GATHER_SECONDS[turn:] + GATHER_SECONDS[:turn]:
                with Followers(site, f"--gather={gather}"):
                    wait_until_caught_up(watcher, timeout=60)
                    es = _rate_of(server, customers.deposit("es"), 8, seconds)()
                    drained[gather].append(wait_until_caught_up(watcher, timeout=60))
                    conventional = _rate_of(
                        server, customers.deposit("conventional"), 8, seconds
                    )()
                ratios[gather].append(es / conventional)
    finally:
        followers.start()
        wait_until_caught_up(watcher, timeout=120)
    return {
        str(gather): {
            "es_vs_conventional": Spread.of(ratios[gather]).as_dict(),
            "lag_back_to_0": Spread.of(drained[gather]).as_dict(),
        }
        for gather in GATHER_SECONDS
    }


def gunicorn_levers(
    site: Site,
    customers: Customers,
    database: Mapping[str, Any],
    repetitions: int,
    seconds: float,
) -> dict[str, Any]:
    """ES and conventional deposits, 8 clients, under other gunicorn settings.

    One configuration at a time (together they would need more connections
    than the server allows), each pair measured side by side.
    """
    configurations = [(2, 1, 1), (3, 1, 2), (2, 4, 1)]
    found: dict[str, Any] = {}
    for workers, threads, pool_size in configurations:
        with site.gunicorn(workers, threads, pool_size) as server:
            warm_up(server, customers)
            results = interleaved(
                {
                    "es": _rate_of(server, customers.deposit("es"), 8, seconds),
                    "conventional": _rate_of(
                        server, customers.deposit("conventional"), 8, seconds
                    ),
                    "raw": lambda: raw_postgres(database, sized(600, 150)),
                },
                max(2, repetitions - 1),
            )
        found[f"{workers}x{threads} pool {pool_size}"] = {
            "workers": workers,
            "threads": threads,
            "pool_size": pool_size,
            "es": Spread.of(results["es"]).as_dict(),
            "conventional": Spread.of(results["conventional"]).as_dict(),
            "es_vs_conventional": paired_ratios(
                results["es"], results["conventional"]
            ).as_dict(),
            "es_vs_raw": paired_ratios(results["es"], results["raw"]).as_dict(),
        }
    return found
