"""Reads that do not grow with history: ``get`` of accounts with long histories.

An account is rebuilt from its latest snapshot and the events after it, so
its ``get`` should cost about the same at 10 events as at 10,000. Measured
on both databases, for the site's configuration (a snapshot every 50
events, and the library's aggregate cache, fast-forwarded from the
database on every ``get`` so it never serves a stale account) and, as
levers, without the cache (rebuilt from the latest snapshot on every
``get``), without snapshots, and with other intervals.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

from accounts.application import Accounts
from accounts.domain import Account
from accounts.statements import whole_statement
from bench.common import (
    NO_CACHE,
    Spread,
    bank_env,
    database_of,
    interleaved,
    median_latency,
    paired_ratios,
    sized,
)
from bench.loading import grow_history

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

# History lengths. The longer ones end on a snapshot; the worst case ends
# 49 events after one (the most a get ever replays at an interval of 50),
# and only that tail matters, not the length before it.
HISTORIES = (10, 1_000, 10_000)
WORST_TAIL = 49
WORST_200 = 200 + 199
# Lines on a page of the account page's statement (accounts.views).
STATEMENT_PAGE = 20


def accounts_with_interval(interval: int) -> type[Accounts]:
    """``Accounts`` snapshotting every ``interval`` events (a lever)."""

    class IntervalAccounts(Accounts):
        name = "Accounts"
        snapshotting_intervals: ClassVar = {Account: interval}

    return IntervalAccounts


def build(accounts: Accounts, length: int) -> UUID:
    """An account whose history is ``length`` events long."""
    account_id = accounts.open_account("bench-reads", f"{length} events")
    grow_history(accounts, account_id, length)
    return account_id


def run(repetitions: int = 5) -> dict[str, Any]:
    return {
        engine: _run_engine(engine, repetitions) for engine in ("postgres", "sqlite")
    }


def _run_engine(engine: str, repetitions: int) -> dict[str, Any]:
    calls = sized(30, 10)
    longest = sized(10_000, 2_000)
    histories = (*HISTORIES[:-1], longest)
    with database_of(engine, "reads") as database:
        env = bank_env(database)
        site = Accounts(env)
        no_cache = Accounts(env | NO_CACHE)
        no_snapshots = Accounts(env | NO_CACHE | {"IS_SNAPSHOTTING_ENABLED": "no"})
        every_200 = accounts_with_interval(200)(env | NO_CACHE)
        apps = (site, no_snapshots, no_cache, every_200)
        try:
            ids = {length: build(site, length) for length in histories}
            worst = build(site, histories[1] + WORST_TAIL)
            ids_200 = {
                length: build(every_200, length) for length in (histories[0], WORST_200)
            }
            runs: dict[str, Callable[[], float]] = {}
            for length, account_id in ids.items():
                runs[f"site {length}"] = _getter(site, account_id, calls)
                # Replaying 10,000 events takes a while: fewer calls.
                runs[f"no snapshots {length}"] = _getter(
                    no_snapshots, account_id, max(3, calls // 6)
                )
                runs[f"no cache {length}"] = _getter(no_cache, account_id, calls)
            runs[f"site {histories[1] + WORST_TAIL}"] = _getter(site, worst, calls)
            runs[f"no cache {histories[1] + WORST_TAIL}"] = _getter(
                no_cache, worst, calls
            )
            for length in (histories[0], longest):
                account_id = ids[length]
                runs[f"statement {length}"] = _timer(
                    functools.partial(whole_statement, site.events, account_id),
                    max(3, calls // 6),
                )
                runs[f"statement page {length}"] = _timer(
                    functools.partial(
                        site.get_recent_statement, account_id, limit=STATEMENT_PAGE
                    ),
                    calls,
                )
            # A page from the middle of the longest history: its balances
            # start from the account as of that page, 49 events after a
            # snapshot.
            runs[f"older page {longest}"] = _timer(
                functools.partial(
                    site.get_recent_statement,
                    ids[longest],
                    upto_version=longest,
                    before=longest // 2,
                    limit=STATEMENT_PAGE,
                ),
                calls,
            )
            for length, account_id in ids_200.items():
                runs[f"every 200 {length}"] = _getter(every_200, account_id, calls)
            results = interleaved(runs, repetitions)
        finally:
            for app in apps:
                app.close()
    shortest = histories[0]

    def ratio(variant: str, length: int) -> dict[str, float]:
        return paired_ratios(
            results[f"{variant} {length}"], results[f"{variant} {shortest}"]
        ).as_dict()

    return {
        "histories": list(histories),
        "worst": histories[1] + WORST_TAIL,
        "calls": calls,
        "latency_ms": {
            name: Spread.of([v * 1000 for v in values]).as_dict()
            for name, values in results.items()
        },
        "ratios": {
            "site": {length: ratio("site", length) for length in histories[1:]},
            "site worst": ratio("site", histories[1] + WORST_TAIL),
            "no snapshots": {
                length: ratio("no snapshots", length) for length in histories[1:]
            },
            "no cache": {length: ratio("no cache", length) for length in histories[1:]},
            "no cache worst": ratio("no cache", histories[1] + WORST_TAIL),
            "every 200 worst": ratio("every 200", WORST_200),
            "statement": ratio("statement", longest),
            "statement page": ratio("statement page", longest),
            "older statement page": paired_ratios(
                results[f"older page {longest}"], results[f"statement page {shortest}"]
            ).as_dict(),
            "site vs no cache at longest": paired_ratios(
                results[f"site {longest}"], results[f"no cache {longest}"]
            ).as_dict(),
            "site vs no cache at worst": paired_ratios(
                results[f"site {histories[1] + WORST_TAIL}"],
                results[f"no cache {histories[1] + WORST_TAIL}"],
            ).as_dict(),
        },
    }


def _getter(accounts: Accounts, account_id: UUID, calls: int) -> Callable[[], float]:
    return _timer(lambda: accounts.get_account(account_id), calls)


def _timer(function: Callable[[], object], calls: int) -> Callable[[], float]:
    return lambda: median_latency(function, calls)
