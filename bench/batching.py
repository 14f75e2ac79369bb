"""Lever: followers that process a batch of notifications in one transaction.

The library's followers record each notification they process in a
transaction of its own (the new events and the tracking record), so a
follower commits once per event of its leader. Recording a whole pull the
same way, with the tracking record of its last notification, keeps
exactly-once (the batch and its position commit together or not at all)
and commits once per batch.

The bank's policies are not written for that yet: the ledger reloads itself
for every event, and the transaction log counts its next entry from the
database, so events collected earlier in the same batch would collide.
``BatchedLedger`` and ``BatchedTransactions`` below are the smallest change
that makes them batch-safe, for measuring only; ``run`` compares them with
the bank's own followers, each under its own name (and tables), following
the same Accounts log in the same database, alternately.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from eventsourcing.application import ProcessingEvent

from bench.common import (
    Spread,
    bank_env,
    log,
    paired_ratios,
    postgres_database,
    sized,
)
from bench.loading import deposit_each, open_accounts, owner_names
from esbank_site.bank import Bank
from ledger.application import LedgerProcess, TransactionLogProcess

if TYPE_CHECKING:
    from eventsourcing.system import Follower

    from ledger.domain import Ledger, TransactionKind

BATCH = 100


class BatchedLedger(LedgerProcess):
    """The ledger, loaded once per batch instead of once per event."""

    name = "BatchedLedger"
    _batch_ledger: Ledger | None = None

    def _get_or_start_ledger(self) -> Ledger:
        if self._batch_ledger is None:
            self._batch_ledger = super()._get_or_start_ledger()
        return self._batch_ledger

    def end_batch(self) -> None:
        self._batch_ledger = None


class BatchedTransactions(TransactionLogProcess):
    """The transaction log, counting its next entry within the batch."""

    name = "BatchedTransactions"
    _next_version: int | None = None

    def _log(
        self,
        kind: TransactionKind,
        domain_event: Any,
        counterparty_id: Any,
        processing_event: ProcessingEvent[Any],
    ) -> None:
        if self._next_version is None:
            last = self.transaction_log.get_last()
            self._next_version = 1 if last is None else last.originator_version + 1
        tracking = processing_event.tracking
        if tracking is None:
            msg = "The transaction log only logs events it follows."
            raise RuntimeError(msg)
        processing_event.collect_events(
            self.transaction_log.trigger_event(
                next_originator_version=self._next_version,
                transaction_id=domain_event.transaction_id,
                kind=kind,
                account_id=domain_event.originator_id,
                counterparty_id=counterparty_id,
                amount=domain_event.amount,
                occurred_at=domain_event.timestamp,
                position=tracking.notification_id,
            )
        )
        self._next_version += 1

    def end_batch(self) -> None:
        self._next_version = None


def process_in_batches(follower: Any, leader: Any, limit: int) -> int:
    """Pull and process about ``limit`` notifications, one transaction per pull."""
    done = 0
    start = follower.recorder.max_tracking_id(leader.name)
    while done < limit:
        notifications = leader.recorder.select_notifications(
            start, BATCH, inclusive_of_start=False
        )
        if not notifications:
            break
        jobs = follower.convert_notifications(leader.name, notifications)
        batch: ProcessingEvent[Any] = ProcessingEvent(tracking=jobs[-1][1])
        try:
            for domain_event, tracking in jobs:
                one: ProcessingEvent[Any] = ProcessingEvent(tracking=tracking)
                follower.policy(domain_event, one)
                batch.collect_events(*one.events)
                batch.aggregates.update(one.aggregates)
            follower._record(batch)
            follower._take_snapshots(batch)
        finally:
            follower.end_batch()
        done += len(notifications)
        start = notifications[-1].id
    return done


def process_one_by_one(follower: Follower[Any], leader: Any, limit: int) -> int:
    """The library's way, as the bank runs it: a transaction per notification."""
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


def run(repetitions: int = 3) -> dict[str, Any]:
    """Per-event against batched processing, same log, alternating windows."""
    window = sized(1_500, 300)
    events = window * repetitions + window
    with postgres_database("batching") as database:
        env = bank_env(database, POSTGRES_POOL_SIZE="1")
        bank = Bank(env, process_inline=False)
        fast_ledger = BatchedLedger(env | {"CREATE_TABLE": "yes"})
        fast_log = BatchedTransactions(env | {"CREATE_TABLE": "yes"})
        batched: dict[str, Any] = {"Ledger": fast_ledger, "Transactions": fast_log}
        try:
            log(f"batching: recording {events:,} events")
            ids = open_accounts(bank.accounts, max(1, events // 5), owner_names(20))
            while (bank.accounts.recorder.max_notification_id() or 0) < events * 1.2:
                deposit_each(bank.accounts, ids)
            leader = bank.accounts
            found: dict[str, dict[str, list[float]]] = {}
            for name, fast in batched.items():
                fast.follow(leader.name, leader.notification_log)
                slow = bank.followers[name]
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
            for name, fast in batched.items():
                process_in_batches(fast, leader, events * 2)
                process_one_by_one(bank.followers[name], leader, events * 2)
            agrees = (
                batched["Ledger"].get_ledger().balance
                == bank.ledger().get_ledger().balance
                and batched["Ledger"].get_ledger().transaction_count
                == bank.ledger().get_ledger().transaction_count
                and batched["Transactions"].count_transactions()
                == bank.transaction_log().count_transactions()
            )
        finally:
            for follower in batched.values():
                follower.close()
            bank.close()
    return {
        "batch": BATCH,
        "window": window,
        "same_outcome": agrees,
        "followers": {
            name: {
                "one_by_one": Spread.of(rates["one by one"]).as_dict(),
                "batched": Spread.of(rates["batched"]).as_dict(),
                "batched_vs_one_by_one": paired_ratios(
                    rates["batched"], rates["one by one"]
                ).as_dict(),
            }
            for name, rates in found.items()
        },
    }
