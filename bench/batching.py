"""Lever: followers that record a pull of notifications in one transaction.

The library's ``ProcessApplication`` records each notification it processes
in a transaction of its own (the new events and the tracking record), so a
follower commits once per event of its leader. The bank's followers record
a whole pull instead, with the tracking record of its last notification
(``ledger/batches.py``): exactly-once still holds, since the pull commits
whole or not at all.

``run`` compares the bank's own followers with the same classes processing
one notification per transaction, the library's way (``process_event``),
each under its own name (and tables), following the same Accounts common.log in
the same database, alternately.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from eventsourcing.application import LocalNotificationLog

from bench import common
from bench.loading import deposit_each, open_accounts, owner_names
from esbank_site.bank import Bank
from ledger.application import LedgerProcess, TransactionLogProcess

if TYPE_CHECKING:
    from eventsourcing.system import Follower

    from ledger.batches import BatchProcessApplication


class OneByOneLedger(LedgerProcess):
    """The ledger, under another name, for processing an event at a time."""

    name = "OneByOneLedger"


class OneByOneTransactions(TransactionLogProcess):
    """The transaction common.log, under another name, an event at a time."""

    name = "OneByOneTransactions"


def process_in_batches(
    follower: BatchProcessApplication, leader: Any, limit: int
) -> int:
    """The bank's way: about ``limit`` notifications, a transaction per pull."""
    before = follower.recorder.max_tracking_id(leader.name) or 0
    follower.pull_and_process(leader.name, limit=limit)
    return (follower.recorder.max_tracking_id(leader.name) or 0) - before


def process_one_by_one(follower: Follower[Any], leader: Any, limit: int) -> int:
    """The library's way: a transaction per notification."""
    done = 0
    start = follower.recorder.max_tracking_id(leader.name)
    for notifications in follower.pull_notifications(
        leader.name, start=start, inclusive_of_start=False
    ):
        for domain_event, tracking in follower.convert_notifications(
            leader.name, notifications
        ):
            follower.process_event(domain_event, tracking)
        done += len(notifications)
        if done >= limit:
            break
    return done


def _entries(logged: list[Any]) -> list[tuple[Any, ...]]:
    """What each log entry says (not when each follower happened to write it)."""
    return [
        (e.number, e.transaction_id, e.kind, e.account_id, e.amount, e.position)
        for e in logged
    ]


def run(repetitions: int = 3) -> dict[str, Any]:
    """Per-event against batched processing, same common.log, alternating windows."""
    window = common.sized(1_500, 300)
    events = window * repetitions + window
    with common.postgres_database("batching") as database:
        env = common.bank_env(database, POSTGRES_POOL_SIZE="1")
        bank = Bank(env, process_inline=False)
        one_by_one: dict[str, Any] = {
            "Ledger": OneByOneLedger(env | {"CREATE_TABLE": "yes"}),
            "Transactions": OneByOneTransactions(env | {"CREATE_TABLE": "yes"}),
        }
        try:
            common.log(f"batching: recording {events:,} events")
            ids = open_accounts(bank.accounts, max(1, events // 5), owner_names(20))
            while (bank.accounts.recorder.max_notification_id() or 0) < events * 1.2:
                deposit_each(bank.accounts, ids)
            leader = bank.accounts
            found: dict[str, dict[str, list[float]]] = {}
            for name, slow in one_by_one.items():
                # Pulls of the same size; only the transactions differ.
                slow.follow(
                    leader.name,
                    LocalNotificationLog(
                        leader.recorder, section_size=slow.pull_section_size
                    ),
                )
                fast = bank.followers[name]  # followed by the bank's Processor
                rates: dict[str, list[float]] = {"one by one": [], "batched": []}
                for repetition in range(repetitions):
                    order = [("one by one", slow), ("batched", fast)]
                    if repetition % 2:
                        order.reverse()
                    for way, follower in order:
                        started = time.perf_counter()
                        if way == "batched":
                            done = process_in_batches(follower, leader, window)
                        else:
                            done = process_one_by_one(follower, leader, window)
                        rates[way].append(done / (time.perf_counter() - started))
                found[name] = rates
            # Both ways must end in the same state, or the figure means nothing.
            for name, slow in one_by_one.items():
                process_in_batches(bank.followers[name], leader, events * 2)
                process_one_by_one(slow, leader, events * 2)
            slow_ledger, slow_log = one_by_one["Ledger"], one_by_one["Transactions"]
            ledgers = (slow_ledger.get_ledger(), bank.ledger().get_ledger())
            logs = (
                _entries(slow_log.get_transactions(limit=events)),
                _entries(bank.transaction_log().get_transactions(limit=events)),
            )
            common.log(f"batching: ledgers {ledgers}; {len(logs[0])} log entries each")
            agrees = ledgers[0] == ledgers[1] and logs[0] == logs[1]
        finally:
            for follower in one_by_one.values():
                follower.close()
            bank.close()
    return {
        "batch": LedgerProcess.pull_section_size,
        "window": window,
        "same_outcome": agrees,
        "followers": {
            name: {
                "one_by_one": common.Spread.of(rates["one by one"]).as_dict(),
                "batched": common.Spread.of(rates["batched"]).as_dict(),
                "batched_vs_one_by_one": common.paired_ratios(
                    rates["batched"], rates["one by one"]
                ).as_dict(),
            }
            for name, rates in found.items()
        },
    }
