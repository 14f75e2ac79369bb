"""Writes without HTTP: the raw commit ceiling, the library's loop, the bank's command.

Everything here runs in this process, one thread unless said otherwise,
on both databases, so the cost of each layer shows as a ratio to the one
below it: a raw INSERT and COMMIT, the library's naive get-deposit-save
loop, and the bank's ``Accounts.deposit`` (striped locks, retries, an
idempotency receipt, row-bound events). The bank keeps accounts in the
aggregate cache and saves receipts optimistically; each lever is measured
by taking it away again, and both together by the bank as it was before.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.application import Application

from accounts.application import Accounts
from accounts.commands import CommandRunner
from accounts.domain import Account
from bench.common import (
    NO_CACHE,
    Spread,
    bank_env,
    connect,
    database_of,
    interleaved,
    paired_ratios,
    postgres_database,
    postgres_url,
    rate,
    sized,
)
from bench.loading import open_accounts, owner_names

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


RAW_TABLE = "bench_raw_commit"
PAYLOAD = b"x" * 300  # about the size of a stored deposit event


class NaiveAccounts(Application[Any]):
    """The library's own application, as its tutorial writes it: no extras."""

    name = "Accounts"


class ReceiptReadFirstRunner(CommandRunner):
    """Money commands as they were before optimistic receipts: the receipt read first.

    A keyed command looked for its receipt (two queries when there is none:
    the snapshot store, then the events) before moving any money. The bank
    now saves the receipt with the money straight away, and reads it only
    when the store refuses that save.
    """

    def move_money(
        self,
        command: str,
        move: Any,
        key: str | None,
        *ids: UUID,
        transaction_id: UUID | None = None,
    ) -> UUID:
        first = self._first_outcome(key, command)
        return first or super().move_money(
            command, move, key, *ids, transaction_id=transaction_id
        )


class ReceiptReadFirst(Accounts):
    """The bank's Accounts with ``ReceiptReadFirstRunner``."""

    name = "Accounts"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.commands = ReceiptReadFirstRunner(self)


# The raw ceiling: one INSERT and one COMMIT per operation.


def raw_postgres(
    database: Mapping[str, Any], operations: int, threads: int = 1
) -> float:
    """Durable INSERT+COMMITs per second, with ``threads`` connections."""
    url = postgres_url(database)
    with connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} "
            "(id bigserial PRIMARY KEY, state bytea NOT NULL)"
        )

    def work(count: int) -> None:
        with connect(url) as conn:
            for _ in range(count):
                conn.execute(
                    f"INSERT INTO {RAW_TABLE} (state) VALUES (%s)",  # noqa: S608
                    (PAYLOAD,),
                    prepare=True,
                )
                conn.commit()

    return _threaded(work, operations, threads)


def raw_sqlite(database: Mapping[str, Any], operations: int, threads: int = 1) -> float:
    """Durable INSERT+COMMITs per second (WAL, synchronous=FULL)."""
    path = str(database["NAME"])
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} "
            "(id INTEGER PRIMARY KEY, state BLOB NOT NULL)"
        )

    def work(count: int) -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            for _ in range(count):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    f"INSERT INTO {RAW_TABLE} (state) VALUES (?)",  # noqa: S608
                    (PAYLOAD,),
                )
                conn.execute("COMMIT")
        finally:
            conn.close()

    return _threaded(work, operations, threads)


def _threaded(work: Callable[[int], None], operations: int, threads: int) -> float:
    """Operations per second of ``work`` split over ``threads`` threads."""
    share = max(1, operations // threads)
    workers = [threading.Thread(target=work, args=(share,)) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return rate(share * threads, time.perf_counter() - started)


# The library's naive loop and the bank's command.


def naive_loop(app: NaiveAccounts, ids: list[Any], operations: int) -> float:
    """get, deposit, save: the library's loop, per second."""
    started = time.perf_counter()
    for number in range(operations):
        account: Account = app.repository.get(ids[number % len(ids)])
        account.deposit(Decimal("1.00"), uuid4())
        app.save(account)
    return rate(operations, time.perf_counter() - started)


def bank_deposits(
    accounts: Accounts,
    ids: list[Any],
    operations: int,
    *,
    keyed: bool = True,
    threads: int = 1,
) -> float:
    """``Accounts.deposit`` per second, with an idempotency key as the web sends."""

    def work(count: int, offset: int = 0) -> None:
        for number in range(count):
            accounts.deposit(
                ids[(offset + number) % len(ids)],
                "1.00",
                idempotency_key=str(uuid4()) if keyed else None,
            )

    if threads == 1:
        started = time.perf_counter()
        work(operations)
        return rate(operations, time.perf_counter() - started)
    # Each thread has its own accounts: customers, not one hot account.
    share = max(1, operations // threads)
    stride = max(1, len(ids) // threads)
    workers = [
        threading.Thread(target=work, args=(share, n * stride)) for n in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return rate(share * threads, time.perf_counter() - started)


def run(repetitions: int = 3) -> dict[str, Any]:
    """Both databases: every variant interleaved, ``repetitions`` times."""
    return {
        engine: _run_engine(engine, repetitions) for engine in ("postgres", "sqlite")
    }


def _run_engine(engine: str, repetitions: int) -> dict[str, Any]:
    operations = sized(300, 60)
    account_count = sized(1000, 100)
    raw = raw_postgres if engine == "postgres" else raw_sqlite
    with database_of(engine, "commits") as database:
        env = bank_env(database)
        bank = Accounts(env)
        no_cache = Accounts(env | NO_CACHE)
        read_first = ReceiptReadFirst(env)
        before = ReceiptReadFirst(env | NO_CACHE)
        naive = NaiveAccounts(
            {k: v for k, v in env.items() if k != "MAPPER_TOPIC"}
            | {"IS_SNAPSHOTTING_ENABLED": "no"}
        )
        try:
            ids = open_accounts(bank, account_count, owner_names(100))
            runs: dict[str, Callable[[], float]] = {
                "raw commit": lambda: raw(database, operations),
                "library naive loop": lambda: naive_loop(naive, ids, operations),
                "bank deposit, no key": lambda: bank_deposits(
                    bank, ids, operations, keyed=False
                ),
                "bank deposit": lambda: bank_deposits(bank, ids, operations),
                "bank deposit, no aggregate cache": lambda: bank_deposits(
                    no_cache, ids, operations
                ),
                "bank deposit, receipt read first": lambda: bank_deposits(
                    read_first, ids, operations
                ),
                "bank deposit, before both levers": lambda: bank_deposits(
                    before, ids, operations
                ),
                "raw commit, 8 threads": lambda: raw(database, operations, 8),
                "bank deposit, 8 threads": lambda: bank_deposits(
                    bank, ids, operations, threads=8
                ),
            }
            results = interleaved(runs, repetitions)
        finally:
            for app in (bank, no_cache, read_first, before, naive):
                app.close()
    raw_rates = results["raw commit"]
    return {
        "operations": operations,
        "accounts": account_count,
        "rates": {name: Spread.of(v).as_dict() for name, v in results.items()},
        "vs_raw": {
            name: paired_ratios(v, raw_rates).as_dict()
            for name, v in results.items()
            if name != "raw commit"
        },
        "bank_vs_no_cache": paired_ratios(
            results["bank deposit"], results["bank deposit, no aggregate cache"]
        ).as_dict(),
        "bank_vs_receipt_read_first": paired_ratios(
            results["bank deposit"], results["bank deposit, receipt read first"]
        ).as_dict(),
        "bank_vs_before_both": paired_ratios(
            results["bank deposit"], results["bank deposit, before both levers"]
        ).as_dict(),
        "bank_vs_naive": paired_ratios(
            results["bank deposit"], results["library naive loop"]
        ).as_dict(),
    }


def run_db_functions(repetitions: int = 3) -> dict[str, Any]:
    """POSTGRES_ENABLE_DB_FUNCTIONS against the default insert, Accounts alone.

    Measured in a database holding only Accounts' tables: the library names
    its insert function after the id type, not the table
    (``es_insert_events_uuid``), so in the bank's database, where three
    applications share a schema, the last one created wins and Accounts'
    events would be written into the transaction log's table.
    """
    operations = sized(400, 60)
    with postgres_database("dbfunctions", tables=False) as database:
        env = bank_env(database, CREATE_TABLE="yes")
        default = Accounts(env)
        functions = Accounts(env | {"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})
        try:
            ids = open_accounts(default, 200, owner_names(20))
            results = interleaved(
                {
                    "default insert": lambda: bank_deposits(default, ids, operations),
                    "database function": lambda: bank_deposits(
                        functions, ids, operations
                    ),
                },
                repetitions,
            )
        finally:
            default.close()
            functions.close()
    return {
        "rates": {name: Spread.of(v).as_dict() for name, v in results.items()},
        "functions_vs_default": paired_ratios(
            results["database function"], results["default insert"]
        ).as_dict(),
    }
