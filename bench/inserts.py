"""What the one-round-trip insert gives a deposit on PostgreSQL.

The bank's ``ApplicationRecorder`` (esbank_site/persistence/postgres_recorders.py)
sends BEGIN, the table lock, NOTIFY, INSERT and COMMIT before one sync; the
library's waits for the INSERT's answer before it sends COMMIT, holding the
table lock that serialises every writer across that round trip. Two
``Accounts`` on one database, each with its own accounts, make the same
in-process keyed deposits from 1, 4 and 8 threads, interleaved: one with
the bank's insert, one with the library's (the same recorder, its insert
method put back), so nothing else differs.
"""

from __future__ import annotations

import threading
import time
import types
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from eventsourcing.postgres import PostgresApplicationRecorder

from accounts.application import Accounts
from bench.common import (
    Spread,
    bank_env,
    interleaved,
    log,
    paired_ratios,
    postgres_database,
    rate,
    sized,
)
from bench.loading import open_accounts, owner_names

if TYPE_CHECKING:
    from uuid import UUID

ONE_TRIP, LIBRARY = "one round trip", "library's insert"
THREADS = (1, 4, 8)


def deposits(accounts: Accounts, ids: list[UUID], threads: int, each: int) -> float:
    """Keyed deposits per second from ``threads`` threads, each on its own accounts."""
    share = len(ids) // threads

    def work(number: int) -> None:
        mine = ids[number * share : (number + 1) * share]
        for count in range(each):
            accounts.deposit(
                mine[count % len(mine)], "1.00", idempotency_key=str(uuid4())
            )

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return rate(threads * each, time.perf_counter() - started)


def run(repetitions: int = 3) -> dict[str, Any]:
    """Deposits/s with each insert, at each thread count, interleaved."""
    each = sized(150, 40)
    with postgres_database("inserts") as database:
        # A pooled connection per thread, as the web processes have.
        env = bank_env(database, POSTGRES_POOL_SIZE="8", POSTGRES_MAX_OVERFLOW="0")
        apps = {ONE_TRIP: Accounts(env), LIBRARY: Accounts(env)}
        library_insert = PostgresApplicationRecorder.insert_events.__wrapped__
        recorder = apps[LIBRARY].recorder
        recorder.insert_events = types.MethodType(library_insert, recorder)  # type: ignore[method-assign]
        try:
            owners = owner_names(40)
            ids = {name: open_accounts(apps[name], 80, owners) for name in apps}
            figures: dict[str, Any] = {}
            for threads in THREADS:
                results = interleaved(
                    {
                        name: partial(deposits, apps[name], ids[name], threads, each)
                        for name in apps
                    },
                    repetitions,
                )
                ratio = paired_ratios(results[ONE_TRIP], results[LIBRARY]).as_dict()
                rates = {name: Spread.of(v).as_dict() for name, v in results.items()}
                log(
                    f"inserts, {threads} thread(s): {rates[ONE_TRIP]['median']:,.0f} "
                    f"deposits/s in one round trip, {rates[LIBRARY]['median']:,.0f} "
                    f"with the library's insert; ratio {ratio['median']:.2f}"
                )
                figures[str(threads)] = {"rates": rates, "ratio": ratio}
        finally:
            for app in apps.values():
                app.close()
    return {"deposits_per_thread": each, "threads": figures}
