"""What the provenance on every event costs a deposit: time and stored bytes.

Every event carries ``actor``, ``correlation_id`` and ``causation`` in its
stored state (``accounts/provenance.py``), stamped by the mapper
(``esbank_site/persistence/row_binding.py``). Two ``Accounts`` on the same
database, each with its own accounts, make the same in-process deposits,
interleaved: one with the bank's mapper, one with ``UnstampedMapper``, which
is the same mapper without the stamp, so nothing else differs. Each deposit
runs under a provenance as a web request's would be (a username and a fresh
request id), so the stamped events hold what a real request's hold. Bytes
are the stored state (after the transcoder, and the compressor and cipher
if the environment sets them) of the ``Deposited`` events each side wrote.
"""

from __future__ import annotations

import statistics
import time
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from eventsourcing.utils import get_topic

from accounts.application import Accounts
from accounts.domain import Deposited
from accounts.provenance import Provenance, acting_as
from bench.common import (
    Spread,
    bank_env,
    database_of,
    interleaved,
    log,
    paired_ratios,
    rate,
    sized,
)
from bench.loading import open_accounts, owner_names
from esbank_site.persistence.row_binding import RowBindingMapper

if TYPE_CHECKING:
    from uuid import UUID

    from eventsourcing.domain import DomainEventProtocol

STAMPED, UNSTAMPED = "with metadata", "without metadata"
UNSTAMPED_MAPPER_TOPIC = "bench.metadata:UnstampedMapper"


class UnstampedMapper(RowBindingMapper):
    """The bank's mapper without provenance: events stored as before it existed."""

    def stamp(self, domain_event: DomainEventProtocol[UUID]) -> None:
        """Leave the event as it is."""


def deposits(accounts: Accounts, ids: list[UUID], operations: int) -> float:
    """Keyed deposits per second, each under its own request's provenance."""
    started = time.perf_counter()
    for number in range(operations):
        request = Provenance(actor=f"owner{number % 100}", correlation_id=uuid4().hex)
        with acting_as(request):
            accounts.deposit(
                ids[number % len(ids)], "1.00", idempotency_key=str(uuid4())
            )
    return rate(operations, time.perf_counter() - started)


def deposit_bytes(accounts: Accounts, ids: list[UUID]) -> float:
    """Mean stored state, in bytes, of the ``Deposited`` events of ``ids``."""
    wanted, topic = set(ids), get_topic(Deposited)
    sizes: list[int] = []
    position = 0
    while page := accounts.recorder.select_notifications(
        position, 1_000, inclusive_of_start=False
    ):
        sizes += [
            len(n.state) for n in page if n.topic == topic and n.originator_id in wanted
        ]
        position = page[-1].id
    return statistics.mean(sizes) if sizes else float("nan")


def run(repetitions: int = 3) -> dict[str, Any]:
    """Both databases, the two mappers interleaved ``repetitions`` times."""
    return {
        engine: _run_engine(engine, repetitions) for engine in ("postgres", "sqlite")
    }


def _run_engine(engine: str, repetitions: int) -> dict[str, Any]:
    operations = sized(300, 60)
    account_count = sized(1000, 100)
    with database_of(engine, "metadata") as database:
        env = bank_env(database)
        apps = {
            STAMPED: Accounts(env),
            UNSTAMPED: Accounts(env | {"MAPPER_TOPIC": UNSTAMPED_MAPPER_TOPIC}),
        }
        try:
            owners = owner_names(100)
            ids = {
                name: open_accounts(apps[STAMPED], account_count, owners)
                for name in apps
            }
            results = interleaved(
                {
                    name: partial(deposits, apps[name], ids[name], operations)
                    for name in apps
                },
                repetitions,
            )
            stored = {name: deposit_bytes(apps[name], ids[name]) for name in apps}
        finally:
            for app in apps.values():
                app.close()
    rates = {name: Spread.of(v).as_dict() for name, v in results.items()}
    ratio = paired_ratios(results[STAMPED], results[UNSTAMPED]).as_dict()
    bytes_ratio = stored[STAMPED] / stored[UNSTAMPED]
    log(
        f"metadata ({engine}): {rates[STAMPED]['median']:,.0f} deposits/s with, "
        f"{rates[UNSTAMPED]['median']:,.0f} without; with / without "
        f"{ratio['median']:.2f}; {stored[STAMPED]:.0f} bytes per Deposited "
        f"event with, {stored[UNSTAMPED]:.0f} without ({bytes_ratio:.2f}x)"
    )
    return {
        "operations": operations,
        "accounts": account_count,
        "rates": rates,
        "bytes_per_deposit_event": stored,
        "stamped_vs_unstamped": ratio,
        "bytes_ratio": bytes_ratio,
    }
