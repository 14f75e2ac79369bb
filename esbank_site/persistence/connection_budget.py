"""How many PostgreSQL connections each of the bank's processes holds, at most.

The library gives each application a pool of connections (psycopg_pool):
``POSTGRES_POOL_SIZE`` opened when it is first used, and up to
``POSTGRES_MAX_OVERFLOW`` more while all of them are in use, closed again
after ten idle minutes. Its defaults, 5 and 10, suit a process of many
threads. And psycopg_pool grows a pool by one whenever a connection is
asked for while none is free, which is what every pool's first use is: the
pool opens its first connections in the background, and the first request
asks before they are ready. So, left to those defaults with
``POSTGRES_POOL_SIZE=2``, a sync gunicorn worker held 12 connections
(Django's, and each of its four pools at its size plus one) and
``run_processors`` 14, although, with every checkout counted, no request
and no worker thread ever held two connections of one pool at once.

Here every pool is sized to the threads that use it, with its overflow
stated (0 by default, so a pool never holds more than its size):

- a web process: Django's connection (one per thread), and each of the four
  pools (Accounts, Ledger, Transactions and the accounts list's view)
  ``POSTGRES_POOL_SIZE`` (1: a sync worker serves one request at a time)
  plus ``POSTGRES_MAX_OVERFLOW``;
- ``run_processors``: a connection of its own per follower it runs, which
  holds the follower's advisory lock and listens; the leader's pool, which
  every worker reads, one per worker; each follower's pool and the view's,
  one, since one thread writes each; every pool plus the overflow.

docs/DEPLOYMENT.md ("Connection budget") has the same as a table, and
``tests/multiprocess/test_connection_budget.py`` counts a default ``make
serve`` and ``run_processors`` under load against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

# The bank's pools, by the name of their application or projection
# (tests/application/test_connection_budget.py checks the bank has these).
LEADER = "Accounts"
PROCESSORS = ("Ledger", "Transactions", "AccountsList")
POOLS = (LEADER, *PROCESSORS)


@dataclass(frozen=True)
class Budget:
    """The most connections one process may hold."""

    # Connections each pool keeps, by application.
    pool_sizes: Mapping[str, int]
    # More connections each pool may open while all of its own are in use.
    max_overflow: int
    # Connections outside the pools: Django's, run_processors' locks.
    own: int

    @property
    def total(self) -> int:
        return self.own + sum(
            size + self.max_overflow for size in self.pool_sizes.values()
        )


def web_process(pool_size: int, max_overflow: int, *, threads: int = 1) -> Budget:
    """A web process: Django's connection per thread, and four pools."""
    return Budget(dict.fromkeys(POOLS, pool_size), max_overflow, own=threads)


# With ``run_processors --library-runner``, the accounts list's worker runs
# the library's ProjectionRunner, which builds a leader and a view of its
# own: its subscription holds a connection to LISTEN while it reads on
# another, and one thread writes the view.
LIBRARY_RUNNER_POOLS = {LEADER: 2, "AccountsList": 1}


def processors_process(
    workers: int, max_overflow: int, *, library_runner: bool = False
) -> Budget:
    """``run_processors`` running ``workers`` followers: a thread each."""
    pools = dict.fromkeys(POOLS, 1) | {LEADER: workers}
    if library_runner:
        pools |= {
            f"{name} (ProjectionRunner)": size
            for name, size in LIBRARY_RUNNER_POOLS.items()
        }
    return Budget(pools, max_overflow, own=workers)


def pool_size_variable(application: str) -> str:
    """The library's variable for one application's pool size alone."""
    return f"{application.upper()}_POSTGRES_POOL_SIZE"
