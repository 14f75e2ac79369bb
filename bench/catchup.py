"""Start-up and catch-up: the followers working through 100,000 events.

A bank's events are recorded with the followers off (as after an outage,
or when a new follower is deployed), then ``manage.py run_processors``
works through them, one process per follower as docs/DEPLOYMENT.md allows.
It runs in windows of a few seconds, alternating two settings side by side:
durable commits (the default), and asynchronous commits for the followers'
own connections only (``PGOPTIONS=-c synchronous_commit=off``; the web
processes, and so the Accounts events themselves, stay durable). Each
follower's events per second in each window, its progress over time, and
the raw commit rate measured before and after are reported.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from bench.commits import raw_postgres
from bench.common import (
    Spread,
    bank_env,
    log,
    paired_ratios,
    postgres_database,
    sized,
)
from bench.loading import deposit_each, open_accounts, owner_names
from bench.servers import Site
from esbank_site.bank import Bank

if TYPE_CHECKING:
    from collections.abc import Mapping

EVENTS = 100_000
SAMPLE_EVERY = 0.5
WINDOW = 10.0
START_UP = 3.0  # seconds a starting run_processors is left before counting
MODES: dict[str, dict[str, str]] = {
    "durable": {},
    "asynchronous commit": {"PGOPTIONS": "-c synchronous_commit=off"},
}


def run() -> dict[str, Any]:
    events = sized(EVENTS, 10_000)
    time_limit = float(sized(100, 60))
    with postgres_database("catchup", tables=False) as database:
        site = Site(database)
        site.manage("migrate", "--noinput")
        bank = Bank(bank_env(database, POSTGRES_POOL_SIZE="1"), process_inline=False)
        try:
            log(f"catch-up: recording {events:,} events with the followers off")
            recorded = _record(bank, events)
            raw_before = raw_postgres(database, sized(1_000, 200))
            log("catch-up: run_processors, one process per follower (figure 5)")
            found = _catch_up(site, bank, time_limit)
            raw_after = raw_postgres(database, sized(1_000, 200))
        finally:
            bank.close()
    raw = Spread.of([raw_before, raw_after])
    rates = found["rates"]
    followers = {}
    for name in found["names"]:
        durable = rates["durable"][name]
        asynchronous = rates["asynchronous commit"][name]
        followers[name] = {
            "caught_up_at": found["finished"].get(name),
            "durable": Spread.of(durable).as_dict() if durable else None,
            "asynchronous": Spread.of(asynchronous).as_dict() if asynchronous else None,
            "asynchronous_vs_durable": paired_ratios(
                asynchronous[: len(durable)], durable[: len(asynchronous)]
            ).as_dict(),
            "durable_vs_raw": Spread.of([r / raw.median for r in durable]).as_dict()
            if durable
            else None,
        }
    return {
        "events": found["head"],
        "recorded_per_second": recorded,
        "raw_commit": raw.as_dict(),
        "time_limit": time_limit,
        "window": WINDOW,
        "followers": followers,
        "windows": found["windows"],
        "samples": found["samples"],
    }


def _catch_up(site: Site, bank: Bank, time_limit: float) -> dict[str, Any]:
    names = [p.name for p in bank.processors]
    head = bank.accounts.recorder.max_notification_id() or 0
    start = {p.name: p.position() for p in bank.processors}
    rates: dict[str, dict[str, list[float]]] = {
        m: {n: [] for n in names} for m in MODES
    }
    samples: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    finished: dict[str, float] = {}
    began = time.monotonic()

    def positions() -> dict[str, int]:
        return {p.name: p.position() - start[p.name] for p in bank.processors}

    def sample_until(deadline: float) -> dict[str, int]:
        while True:
            now = time.monotonic() - began
            seen = positions()
            samples.append({"t": now, "processed": seen})
            for name, done in seen.items():
                if done + start[name] >= head and name not in finished:
                    finished[name] = now
            if len(finished) == len(names) or time.monotonic() >= deadline:
                return seen
            time.sleep(SAMPLE_EVERY)

    number = 0
    while len(finished) < len(names) and time.monotonic() - began < time_limit:
        mode = list(MODES)[number % len(MODES)]
        number += 1
        busy = [n for n in names if n not in finished]
        with contextlib.ExitStack() as stack:
            for name in busy:
                stack.enter_context(site.processors(name.lower(), env=MODES[mode]))
            opened = time.monotonic()
            first = sample_until(opened + START_UP)
            counted_from = time.monotonic()
            last = sample_until(counted_from + WINDOW)
            counted_to = time.monotonic()
        seconds = counted_to - counted_from
        windows.append(
            {"mode": mode, "from": counted_from - began, "to": counted_to - began}
        )
        for name in busy:
            if name not in finished or finished[name] > counted_from - began:
                rates[mode][name].append((last[name] - first[name]) / seconds)
    return {
        "names": names,
        "head": head,
        "rates": rates,
        "samples": samples,
        "windows": windows,
        "finished": finished,
    }


def _record(bank: Bank, events: int) -> float:
    """About ``events`` notifications: accounts opened, then two deposits each.

    An account opened is three notifications (the account and its two index
    entries), so a fifth of ``events`` accounts with two deposits each.
    """
    started = time.monotonic()
    ids = open_accounts(bank.accounts, events // 5, owner_names(100))
    deposit_each(bank.accounts, ids)
    deposit_each(bank.accounts, ids)
    head = bank.accounts.recorder.max_notification_id() or 0
    return head / (time.monotonic() - started)


def modes() -> Mapping[str, Mapping[str, str]]:
    return MODES
