"""Pages that do not grow with the bank: 100, 10,000 and 100,000 accounts.

Three databases, one per size, each served by its own gunicorn (one sync
worker), so that the staff dashboard and the accounts list can be requested
from all three in turn, interleaved. The banks are built in bulk with the
followers off, then the read models catch up (see ``common.catch_up``); the first
100 accounts hold the same 1,000 deposits at every size, so the ledger and
transaction panels show the same figures whatever the bank's size.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from bench import common
from bench.load import Session, get
from bench.servers import Server, Site
from bench.web import page_latency

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SIZES = (100, 10_000, 100_000)
DEPOSITS = 1_000
PAGES = {"dashboard": ("/", False), "accounts list": ("/accounts/panel/", True)}


def run(repetitions: int = 3) -> dict[str, Any]:
    sizes = (SIZES[0], common.sized(SIZES[1], 1_000), common.sized(SIZES[2], 5_000))
    calls = common.sized(15, 5)
    with contextlib.ExitStack() as stack:
        sites: dict[int, Site] = {}
        sessions: dict[int, Session] = {}
        setup: dict[int, dict[str, Any]] = {}
        for size in sizes:
            database = stack.enter_context(
                common.postgres_database(f"pages_{size}", tables=False)
            )
            sites[size] = Site(database)
            common.log(f"pages: building a bank of {size:,} accounts")
            setup[size] = build(sites[size], database, size)
            sessions[size] = Session(**setup[size].pop("staff_session"))
        servers = {
            size: stack.enter_context(site.gunicorn(workers=1))
            for size, site in sites.items()
        }
        common.log("pages: dashboard and accounts list (figure 3)")
        runs: dict[str, Callable[[], float]] = {}
        for size in sizes:
            for page, (path, htmx) in PAGES.items():
                request = get(path, sessions[size], htmx=htmx)
                runs[f"{page} {size}"] = page_latency(servers[size], request, calls)
            runs[f"rss {size}"] = _rss(servers[size])
        results = common.interleaved(runs, repetitions)
    smallest, largest = sizes[0], sizes[-1]
    return {
        "sizes": list(sizes),
        "calls": calls,
        "setup": setup,
        "latency_ms": {
            f"{page} {size}": common.Spread.of(
                [v * 1000 for v in results[f"{page} {size}"]]
            ).as_dict()
            for page in PAGES
            for size in sizes
        },
        "rss_mib": {
            size: common.Spread.of([v / 1024 for v in results[f"rss {size}"]]).as_dict()
            for size in sizes
        },
        "ratios": {
            **{
                f"{page} {size}": common.paired_ratios(
                    results[f"{page} {size}"], results[f"{page} {smallest}"]
                ).as_dict()
                for page in PAGES
                for size in sizes[1:]
            },
            "rss": common.paired_ratios(
                results[f"rss {largest}"], results[f"rss {smallest}"]
            ).as_dict(),
        },
    }


def build(site: Site, database: Mapping[str, Any], size: int) -> dict[str, Any]:
    """Migrate, load ``size`` accounts and let the read models catch up.

    Durability is switched off for this database while it is built (and on
    again before anything is measured): building is not what is measured,
    and a commit per event would take minutes at 100,000 accounts.
    """
    name = database["NAME"]
    site.manage("migrate", "--noinput")
    common.set_synchronous_commit(name, on=False)
    try:
        seeded = site.seed(
            "pages", "--accounts", str(size), "--deposits", str(DEPOSITS)
        )
        seconds = common.catch_up(database, seeded["head"], seeded["money_head"])
    finally:
        common.set_synchronous_commit(name, on=True)
    return seeded | {"catch_up_seconds": seconds}


def _rss(server: Server) -> Callable[[], float]:
    return lambda: float(max(server.worker_rss_kib()))
