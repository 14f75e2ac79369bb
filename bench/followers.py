"""The followers' CPU per Accounts event, under load and in catch-up.

Under load (target 4): ``run_processors`` runs every follower in a thread
of one process (``esbank_site/runtime/workers.py``). Started with
``ESBANK_FOLLOWER_METER_DIR`` set (``meter_env``), each processor writes,
after each of its pulls, the CPU its thread has used so far
(``time.thread_time``), the part of it spent inside the pulls, and how many
pulls and notifications it has done (``esbank_site/runtime/processing.py``).
``Meter`` reads those files, and the whole process's CPU from /proc, before
and after bench/web.py's steady 8-client deposits: the differences give each
follower's milliseconds of CPU per Accounts event and its mean pull size.

The levers (``run``): each follower works through the same Accounts log,
recorded as the site's deposits record it (a deposit and its receipt),
under its own name and tables once per setting, in windows that take turns:

- skipping: the notifications whose events the policy ignores are not
  decoded (``BatchProcessApplication.skip_ignored``), against decoding
  every one, the library's way;
- snapshots: the ledger's snapshot taken from the aggregate the pull holds
  (``snapshot_from_pull``), against the library's rebuild from the database.

Each window is the same notifications for every setting; CPU is the
processing thread's, wall time the window's.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from uuid import uuid4

from accounts.projections import AccountsListProjection
from bench import common
from bench.common import Spread
from bench.servers import LOGS
from esbank_site.bank import Bank
from esbank_site.runtime.processing import (
    METER_VARIABLE,
    Processor,
    ProjectionProcessor,
)
from ledger.application import LedgerProcess, TransactionLogProcess
from ledger.domain import Ledger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bench.servers import Followers
    from esbank_site.persistence.read_models import AccountsListTables
    from esbank_site.runtime.processing import BaseProcessor
    from ledger.batches import BatchProcessApplication

# Target 4: all three followers together, CPU per Accounts event.
TARGET_MS_PER_EVENT = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Seconds between two wake-ups of a follower, as run_processors gathers.
GATHER = 0.2


def meter_directory(database: Mapping[str, Any]) -> Path:
    return LOGS / f"followers-meter-{database['NAME']}"


def meter_env(database: Mapping[str, Any]) -> dict[str, str]:
    """What ``run_processors`` needs in its environment to write its figures."""
    directory = meter_directory(database)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        old.unlink()
    return {METER_VARIABLE: str(directory)}


class Meter:
    """Each follower's CPU and pulls over a stretch of ``run_processors``.

    Read every ``INTERVAL`` seconds from ``start`` to ``stop``: the whole
    stretch gives each follower's figures, each interval one repetition of
    the total, for its spread.
    """

    INTERVAL = 1.0

    def __init__(self, followers: Followers) -> None:
        self.followers = followers
        self.directory = meter_directory(followers.site.database)
        self._readings: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._sampler: threading.Thread | None = None

    def read(self) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for path in sorted(self.directory.glob("*.json")):
            found = json.loads(path.read_text())
            figures[found["name"]] = found
        process = self.followers.process
        return {
            "followers": figures,
            "process_cpu": _process_cpu(process.pid) if process else None,
        }

    def start(self) -> None:
        self._readings = [self.read()]
        self._stopping.clear()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stopping.wait(self.INTERVAL):
            self._readings.append(self.read())

    def stop(self) -> dict[str, Any]:
        """Per follower: ms of CPU per Accounts event, and events per pull."""
        self._stopping.set()
        if self._sampler is not None:
            self._sampler.join()
        self._readings.append(self.read())
        whole = _difference(self._readings[0], self._readings[-1])
        intervals = [_difference(a, b) for a, b in itertools.pairwise(self._readings)]
        totals = [i["total_ms_per_event"] for i in intervals]
        totals = [t for t in totals if t is not None]
        return whole | {
            "total_by_interval": Spread.of(totals).as_dict() if totals else None,
            "target_ms_per_event": TARGET_MS_PER_EVENT,
        }


def _difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What each follower did between two readings."""
    found: dict[str, Any] = {}
    for name, now in after["followers"].items():
        then = before["followers"].get(name)
        if then is None or then["pid"] != now["pid"]:
            continue  # restarted in between: no difference to take
        events = now["pulled"] - then["pulled"]
        pulls = now["pulls"] - then["pulls"]
        found[name] = {
            "events": events,
            "pulls": pulls,
            "mean_pull": events / pulls if pulls else None,
            "thread_ms_per_event": _ms_per(
                now["thread_cpu"] - then["thread_cpu"], events
            ),
            "pulls_ms_per_event": _ms_per(now["cpu"] - then["cpu"], events),
        }
    events = max((f["events"] for f in found.values()), default=0)
    process_cpu = None
    if after["process_cpu"] is not None and before["process_cpu"] is not None:
        process_cpu = after["process_cpu"] - before["process_cpu"]
    per_event = [f["thread_ms_per_event"] for f in found.values()]
    total = sum(per_event) if per_event and None not in per_event else None
    return {
        "followers": found,
        "total_ms_per_event": total,
        "process_ms_per_event": _ms_per(process_cpu, events)
        if process_cpu is not None
        else None,
    }


def _ms_per(seconds: float, events: int) -> float | None:
    return seconds * 1000 / events if events else None


def _process_cpu(pid: int) -> float | None:
    """User and system CPU seconds of a running process, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of stat (utime, stime); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# The levers, in-process.


class PlainLedger(LedgerProcess):
    """The ledger with both levers off, under a name (and tables) of its own."""

    name = "LedgerPlain"
    skip_ignored = False
    snapshot_from_pull = False


class LedgerDecodingAll(LedgerProcess):
    """The ledger decoding every notification; its snapshots from the pull."""

    name = "LedgerDecodingAll"
    skip_ignored = False


class LedgerRebuilding(LedgerProcess):
    """The ledger skipping what it ignores; its snapshots rebuilt."""

    name = "LedgerRebuilding"
    snapshot_from_pull = False


class TransactionsPlain(TransactionLogProcess):
    """The transaction log decoding every notification."""

    name = "TransactionsPlain"
    skip_ignored = False


# The accounts list, in tables of its own for each setting, in pulls the
# size of those under load (bench/web.py measures them): name, and whether
# it skips decoding what only moves its position, and reads the rows of a
# pull together.
LIST_PULL = 40
LISTS = {
    "AccountsListPulls": (True, True),
    "AccountsListDecodingAll": (False, True),
    "AccountsListRowByRow": (True, False),
}

# Each lever: the processor with it on, and with it off (by name).
LEVERS: dict[str, tuple[str, str]] = {
    "skip ignored notifications (Ledger)": ("LedgerRebuilding", "LedgerPlain"),
    "skip ignored notifications (Transactions)": ("Transactions", "TransactionsPlain"),
    "skip ignored notifications (AccountsList)": (
        "AccountsListPulls",
        "AccountsListDecodingAll",
    ),
    "rows of a pull read together (AccountsList)": (
        "AccountsListPulls",
        "AccountsListRowByRow",
    ),
    "snapshot from the pull (Ledger)": ("LedgerDecodingAll", "LedgerPlain"),
    "both (Ledger)": ("Ledger", "LedgerPlain"),
}


class _Window:
    """One processor processing windows of notifications, CPU and wall timed."""

    def __init__(self, processor: BaseProcessor) -> None:
        self.processor = processor
        self.cpu: list[float] = []
        self.rates: list[float] = []

    def run(self, size: int) -> float:
        processor = self.processor
        before = processor.position()
        cpu, wall = time.thread_time(), time.perf_counter()
        if not processor.process(limit=size, force=True):
            msg = f"{processor.name} failed: {processor.last_error}"
            raise RuntimeError(msg)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        done = processor.position() - before
        self.cpu.append(cpu * 1000 / done if done else float("nan"))
        self.rates.append(done / wall if wall else float("nan"))
        return self.cpu[-1]


def run(repetitions: int = 5) -> dict[str, Any]:
    """Each lever on and off, the same windows of the same log, in turns."""
    window = common.sized(1_000, 300)
    deposits = (window * (repetitions + 1)) // 2 + 100
    common.wait_for_connections(12)
    with common.postgres_database("followers") as database:
        env = common.bank_env(database, POSTGRES_POOL_SIZE="1")
        bank = Bank(env, process_inline=False)
        extra: list[BatchProcessApplication] = []
        try:
            common.set_synchronous_commit(database["NAME"], on=False)
            try:
                common.log(f"followers: recording {deposits:,} deposits")
                _record(bank, deposits)
            finally:
                common.set_synchronous_commit(database["NAME"], on=True)
            processors = _processors(bank, env, extra)
            windows = {name: _Window(p) for name, p in processors.items()}
            common.interleaved(
                {name: functools.partial(w.run, window) for name, w in windows.items()},
                repetitions,
            )
            outcomes = {name: _outcome(p) for name, p in processors.items()}
            common.log("followers: short pulls, with deposits arriving")
            short = _short_pulls(bank, env, extra, common.sized(10, 4))
        finally:
            for follower in extra:
                follower.close()
            bank.close()
    same = {
        kind: len({str(o) for name, o in outcomes.items() if name.startswith(kind)})
        == 1
        for kind in ("Ledger", "Transactions", "AccountsList")
    }
    levers = {}
    for lever, (on_name, off_name) in LEVERS.items():
        on, off = windows[on_name], windows[off_name]
        levers[lever] = {
            "on": on_name,
            "off": off_name,
            "cpu_ms_per_event_on": common.Spread.of(on.cpu).as_dict(),
            "cpu_ms_per_event_off": common.Spread.of(off.cpu).as_dict(),
            "cpu_on_vs_off": common.paired_ratios(on.cpu, off.cpu).as_dict(),
            "rate_on_vs_off": common.paired_ratios(on.rates, off.rates).as_dict(),
        }
    return {
        "window": window,
        "repetitions": repetitions,
        "same_outcome": same,
        "levers": levers,
        "short_pulls": short,
    }


class ChasingLedger(LedgerProcess):
    """The ledger pulling again after a short pull, until one comes back empty."""

    name = "LedgerChasing"
    stop_at_short_pull = False


class StoppingLedger(LedgerProcess):
    """The ledger as the bank runs it, under a name (and tables) of its own."""

    name = "LedgerStopping"


def _short_pulls(
    bank: Bank, env: dict[str, str], extra: list[BatchProcessApplication], seconds: int
) -> dict[str, Any]:
    """Stopping at a short pull, or chasing, while deposits keep arriving.

    A thread deposits (each with its receipt) for ``seconds``; meanwhile
    both ledgers are woken every ``GATHER`` seconds, as ``run_processors``
    wakes a follower, in turns. Each one's CPU per event and mean pull.
    """
    ledgers = [
        cls(env | {"CREATE_TABLE": "yes"}) for cls in (StoppingLedger, ChasingLedger)
    ]
    extra.extend(ledgers)
    processors = [Processor(ledger, bank.accounts) for ledger in ledgers]
    for processor in processors:
        processor.process(force=True)  # caught up, before anything is counted
    accounts = [bank.accounts.open_account(f"short-{n}", "Current") for n in range(50)]
    stop = threading.Event()

    def deposit() -> None:
        number = 0
        while not stop.is_set():
            bank.accounts.deposit(
                accounts[number % len(accounts)], "1.00", idempotency_key=uuid4().hex
            )
            number += 1

    before = [(p.cpu_seconds, *p.pull_counts()) for p in processors]
    writer = threading.Thread(target=deposit, daemon=True)
    writer.start()
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        time.sleep(GATHER)
        turn += 1
        order = processors if turn % 2 else processors[::-1]
        for processor in order:
            processor.process(force=True)
    stop.set()
    writer.join()
    found = {}
    for processor, (cpu, pulls, pulled) in zip(processors, before, strict=True):
        now_pulls, now_pulled = processor.pull_counts()
        events = now_pulled - pulled
        found[processor.name] = {
            "events": events,
            "mean_pull": events / (now_pulls - pulls) if now_pulls > pulls else None,
            "cpu_ms_per_event": _ms_per(processor.cpu_seconds - cpu, events),
        }
    return found


def _processors(
    bank: Bank, env: dict[str, str], extra: list[BatchProcessApplication]
) -> dict[str, BaseProcessor]:
    """The bank's processors, and one for each follower with a lever off.

    Each with its own tables, following the same Accounts log from its start.
    """
    found: dict[str, BaseProcessor] = {p.name: p for p in bank.processors}
    for cls in (PlainLedger, LedgerDecodingAll, LedgerRebuilding, TransactionsPlain):
        follower = cls(env | {"CREATE_TABLE": "yes"})
        extra.append(follower)
        found[cls.name] = Processor(follower, bank.accounts)
    live = next(p for p in bank.processors if isinstance(p, ProjectionProcessor))
    view = cast("AccountsListTables", live.projection.view)
    for name, (skip, together) in LISTS.items():
        twin = type(view)(
            view.datastore, tracking_table_name=f"{name.lower()}_tracking"
        )  # type: ignore[call-arg]
        twin.create_table()
        processor = ProjectionProcessor(
            AccountsListProjection(view=twin), bank.accounts, batch_size=LIST_PULL
        )
        processor.skip_position_only = skip
        processor.read_rows_together = together
        found[name] = processor
    return found


def _record(bank: Bank, deposits: int) -> None:
    """Deposits as the site records them: each with its receipt."""
    accounts = [
        bank.accounts.open_account(f"bench-{n:04d}", "Current") for n in range(200)
    ]
    for number in range(deposits):
        bank.accounts.deposit(
            accounts[number % len(accounts)], "1.00", idempotency_key=uuid4().hex
        )


def _outcome(processor: BaseProcessor) -> Any:
    """What the processor made of the log: the same under every setting."""
    if isinstance(processor, ProjectionProcessor):
        contents = processor.projection.view.get_all_rows()
        return (
            contents.position,
            sorted((str(r.id), r.balance) for r in contents.rows),
        )
    follower = cast("Processor", processor).follower
    if isinstance(follower, LedgerProcess):
        summary = follower.get_ledger()
        snapshots: list[Any] = (
            list(follower.snapshots.get(Ledger.create_id()))
            if follower.snapshots
            else []
        )
        return (
            summary.balance,
            summary.transaction_count,
            summary.version,
            [(s.originator_version, s.state["transaction_count"]) for s in snapshots],
        )
    if isinstance(follower, TransactionLogProcess):
        return follower.count_transactions()
    return None
