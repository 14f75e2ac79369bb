"""Many threads moving money at once: no money made or lost, nothing twice.

8 threads x 200 random commands over 10 accounts, on each database, half
of the threads through a second bank on the same database, as a second web
process would (so the event store's version check is raced, not only the
in-process locks): mostly transfers, with deposits (some over £1,000) and
withdrawals mixed in so the ledger's balance moves too, staff freezing and
unfreezing accounts, and staff reversing recent transactions, their own
thread's and others', some freezing the account the money is taken back
from. A reversal over £1,000 is requested by one member of staff and
approved or rejected by another, from another thread. Every command either
succeeds or is refused with a BankError (insufficient funds, a frozen
account, a freeze of a frozen account, a transaction reversed or decided
already, approving one's own request, or a conflict that outlived its
retries), each counted by kind.

At the end, from the stored events (tests/support/reversals.py): each
transaction is reversed at most once on each account, each carried-out
reversal's legs undo the original's, the reversals the commands say they
carried out are exactly those carried out, and the balances add up to what
the commands say; then the ledger and the audit agree. Threads stuck on
each other's locks fail the test, showing where each waits, instead of
hanging the run.

A second test races on purpose, 12 rounds of each, four threads (two
through each bank) released at once: reversing the same transaction (one
carries it out, the others are refused), the same form submitted four
times with one idempotency key (one reversal, the same summary for all),
approving the same large request (one carries it out), and approving and
rejecting it (exactly one wins).
"""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from accounts.errors import (
    AccountFrozenError,
    BankError,
    ConflictError,
    FreezeStateError,
    InsufficientFundsError,
    ReversalError,
    SameStaffApprovalError,
)
from accounts.reversal import FOUR_EYES_ABOVE
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.reversals import balance_change, check_reversals, taken_back_from

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from uuid import UUID

THREADS = 8
COMMANDS_PER_THREAD = 200
ACCOUNTS = 10
# Relative weights of the random commands.
KINDS = {
    "transfer": 12,
    "deposit": 4,
    "withdraw": 4,
    "large deposit": 1,
    "freeze": 1,
    "unfreeze": 4,
    "reverse": 3,
    "reverse and freeze": 1,
    "request large reversal": 1,
    "decide": 2,
}
# Refusals a command may meet; anything else fails the test.
REFUSALS = (
    InsufficientFundsError,
    AccountFrozenError,
    FreezeStateError,
    ConflictError,
    ReversalError,
)
# The most recent transactions a reversal picks from.
RECENT = 40
# The commands take seconds; threads still running after this are stuck.
STUCK_AFTER = 120


@pytest.fixture
def second_process(bank: Bank, database: dict[str, Any]) -> Iterator[Bank]:
    other = Bank(eventsourcing_env(database), process_inline=False)
    yield other
    other.close()


def large_amount(rng: random.Random) -> Decimal:
    """More than a reversal may be carried out without a second approval."""
    return FOUR_EYES_ABOVE + Decimal(rng.randint(1, 150000)) / 100


class Shared:
    """What the threads tell each other: transactions made, requests waiting."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.made: list[tuple] = []
        self.large: list[tuple] = []
        self.pending: dict[UUID, str] = {}  # reversal id -> who asked

    def publish(self, made: tuple, *, large: bool) -> None:
        with self.lock:
            self.made.append(made)
            if large:
                self.large.append(made)

    def recent(self, rng: random.Random, *, large: bool) -> tuple | None:
        with self.lock:
            pool = (self.large if large else self.made)[-RECENT:]
            return rng.choice(pool) if pool else None

    def wait_for_decision(self, reversal_id: UUID, requested_by: str) -> None:
        with self.lock:
            self.pending[reversal_id] = requested_by

    def decided(self, reversal_id: UUID) -> None:
        with self.lock:
            self.pending.pop(reversal_id, None)

    def waiting(self, rng: random.Random, staff: str) -> tuple[UUID, str] | None:
        """A request to decide: another's if there is one, else one's own."""
        with self.lock:
            others = [(r, s) for r, s in self.pending.items() if s != staff]
            own = [(r, s) for r, s in self.pending.items() if s == staff]
            pool = others or own
            return rng.choice(pool) if pool else None


REVERSING = {"reverse", "reverse and freeze", "request large reversal"}


class Worker:
    """One thread: a member of staff's random commands, through one bank."""

    def __init__(self, seed: int, bank: Bank, account_ids: list, shared: Shared):
        self.rng = random.Random(seed)
        self.accounts = bank.accounts
        self.staff = f"staff{seed}"
        self.account_ids = account_ids
        self.shared = shared
        self.mine: list[tuple] = []  # this thread's transactions
        self.accepted: list[tuple] = []  # (kind, transaction id, accounts, amount)
        self.refused: Counter = Counter()
        self.done: Counter = Counter()
        self.carried: list = []  # summaries of the reversals it carried out
        self.deciding: UUID | None = None

    def run(self) -> Worker:
        for _ in range(COMMANDS_PER_THREAD):
            kind, command = self.choose()
            try:
                outcome = command()
            except REFUSALS as refusal:
                self.refused[f"{kind}: {type(refusal).__name__}"] += 1
                decided_already = isinstance(refusal, ReversalError) and not (
                    isinstance(refusal, SameStaffApprovalError)
                )
                if self.deciding and kind in {"approve", "reject"} and decided_already:
                    self.shared.decided(self.deciding)
            else:
                self.done[outcome or kind] += 1
        return self

    def choose(self) -> tuple[str, Callable[[], str | None]]:
        rng = self.rng
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        source, target = rng.sample(self.account_ids, 2)
        if kind == "decide":
            waiting = self.shared.waiting(rng, self.staff)
            if waiting is not None:
                return self._decision(*waiting)
            kind = "reverse"  # nothing to decide yet
        if kind in REVERSING:
            if kind == "request large reversal":
                original = self.shared.recent(rng, large=True)
            elif self.mine and rng.random() < 0.5:
                original = rng.choice(self.mine[-RECENT:])
            else:
                original = self.shared.recent(rng, large=False)
            if original is not None:
                return kind, partial(self._reverse, kind, original)
            kind = "deposit"  # nothing made yet to reverse
        if kind == "freeze":
            return kind, partial(self.accounts.staff.freeze, source, "Random check")
        if kind == "unfreeze":
            return kind, partial(self.accounts.staff.unfreeze, source, "Check done")
        return kind, partial(self._move, kind, source, target)

    def _move(self, kind: str, source: UUID, target: UUID) -> None:
        amount = Decimal(self.rng.randint(1, 4000)) / 100
        if kind == "transfer":
            transaction_id = self.accounts.transfer(source, target, amount)
            on_accounts: tuple = (source, target)
        else:
            if kind == "large deposit":
                amount = large_amount(self.rng)
            deposit = kind != "withdraw"
            move = self.accounts.deposit if deposit else self.accounts.withdraw
            transaction_id = move(source, amount)
            on_accounts = (source,)
        made = (kind, transaction_id, on_accounts, amount)
        self.accepted.append(made)
        self.mine.append(made)
        self.shared.publish(made, large=kind == "large deposit")

    def _reverse(self, kind: str, original: tuple) -> None:
        _, transaction_id, on_accounts, _ = original
        summary = self.accounts.reversals.reverse(
            transaction_id,
            self.rng.choice(on_accounts),
            self.staff,
            f"Random {kind}",
            freeze=kind == "reverse and freeze" or self.rng.random() < 0.3,
        )
        if summary.needs_approval:
            self.shared.wait_for_decision(summary.id, self.staff)
        else:
            assert summary.status == "carried out", summary
            self.carried.append(summary)

    def _decision(
        self, reversal_id: UUID, requested_by: str
    ) -> tuple[str, Callable[[], str | None]]:
        self.deciding = reversal_id
        if requested_by != self.staff and self.rng.random() < 0.4:
            return "reject", partial(self._reject, reversal_id)
        return "approve", partial(self._approve, reversal_id)

    def _reject(self, reversal_id: UUID) -> None:
        self.accounts.reversals.reject(reversal_id, self.staff, "Not proven")
        self.shared.decided(reversal_id)

    def _approve(self, reversal_id: UUID) -> str | None:
        summary = self.accounts.reversals.approve(reversal_id, self.staff)
        # Whoever is told it was carried out is the one who carried it out:
        # a losing approval is refused (ReversalError), never told otherwise.
        assert (summary.status, summary.decided_by) == ("carried out", self.staff)
        self.shared.decided(reversal_id)
        self.carried.append(summary)
        return None


def run_to_the_end(workers: list[Worker]) -> None:
    """Run each worker in a thread; fail, showing where, if any is stuck.

    Daemon threads: threads stuck on each other's locks would otherwise
    keep the test run from ever ending. Any error in a worker is raised here.
    """
    errors: list[BaseException] = []

    def run(worker: Worker) -> None:
        try:
            worker.run()
        except BaseException as error:
            errors.append(error)
            raise

    threads = [
        threading.Thread(target=run, args=(w,), name=w.staff, daemon=True)
        for w in workers
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + STUCK_AFTER
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        frames = sys._current_frames()  # where each stuck thread waits
        where = "\n".join(
            f"{t.name}:\n{''.join(traceback.format_stack(frames[t.ident]))}"
            for t in stuck
            if t.ident in frames
        )
        pytest.fail(
            f"{len(stuck)} of {len(threads)} threads still running after "
            f"{STUCK_AFTER} s (waiting on each other?):\n{where}"
        )
    if errors:
        raise errors[0]


def test_random_concurrent_commands_keep_the_books_balanced(
    bank: Bank, second_process: Bank, database: dict[str, Any]
) -> None:
    account_ids = [
        bank.accounts.open_account(f"owner{i}", "Current") for i in range(ACCOUNTS)
    ]
    for account_id in account_ids:
        bank.accounts.deposit(account_id, "100.00")

    shared = Shared()
    workers = [
        Worker(seed, bank if seed % 2 else second_process, account_ids, shared)
        for seed in range(THREADS)
    ]
    run_to_the_end(workers)
    bank.wait_until_processed(timeout=60)

    accepted = [made for worker in workers for made in worker.accepted]
    refused = sum((worker.refused for worker in workers), Counter())
    done = sum((worker.done for worker in workers), Counter())
    carried = [summary for worker in workers for summary in worker.carried]
    findings = check_reversals(bank)
    report = audit(bank)
    refusals: Counter[str] = Counter()
    for key, count in refused.items():
        refusals[key.split(": ")[1]] += count
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\n{engine}: done {dict(sorted(done.items()))}; "
        f"refused {dict(sorted(refused.items()))}; "
        f"reversals: {findings.summary()}; audit: {report.summary()}"
    )

    assert done.total() + refused.total() == THREADS * COMMANDS_PER_THREAD
    assert len({t for _, t, _, _ in accepted}) == len(accepted)
    assert done["freeze"] > 0
    assert refusals["AccountFrozenError"] > 0
    # Reversals of every sort happened, and some were refused as duplicates.
    assert done["reverse"] > 0
    assert done["reverse and freeze"] > 0
    assert done["request large reversal"] > 0
    assert done["approve"] > 0
    assert done["reject"] > 0
    assert refused["reverse: ReversalError"] + refused["approve: ReversalError"] > 0
    assert {r.kind for r in findings.carried_out} == {
        "deposit",
        "withdrawal",
        "transfer",
    }
    # Only the refusals a member of staff can cause: no lookup went astray.
    assert refusals["TransactionNotFoundError"] == 0
    assert refusals["ReversalNotFoundError"] == 0

    # From the stored events: at most once, legs as they should be.
    assert findings.problems == []
    # What the commands say they carried out is what was carried out, once each.
    carried_ids = [summary.id for summary in carried]
    assert len(set(carried_ids)) == len(carried_ids)
    assert set(carried_ids) == {r.id for r in findings.carried_out}

    deposited = 1000 + sum(a for k, _, _, a in accepted if k.endswith("deposit"))
    withdrawn = sum(a for k, _, _, a in accepted if k == "withdraw")
    reversed_ = sum(balance_change(summary) for summary in carried)
    expected = deposited - withdrawn + reversed_
    balances = {a: bank.accounts.get_account(a).balance for a in account_ids}
    assert sum(balances.values()) == expected
    # Only a reversal that froze an account may take it below its limit.
    frozen_by_reversals = {
        taken_back_from(summary) for summary in carried if summary.freeze
    }
    overdrawn = {a for a, balance in balances.items() if balance < 0}
    assert overdrawn <= frozen_by_reversals

    assert bank.ledger().get_ledger().balance == expected
    assert report.ok, report.problems


RACES = 12  # of each sort
CONTENDERS = 4  # threads at once on one transaction, half through each bank


def race(*contenders: Callable) -> list:
    """Call each at the same moment, in a thread of its own.

    Each result, or the BankError that refused it.
    """
    start = threading.Barrier(len(contenders))

    def contend(contender: Callable) -> object:
        start.wait()
        try:
            return contender()
        except BankError as refusal:
            return refusal

    with ThreadPoolExecutor(max_workers=len(contenders)) as pool:
        return list(pool.map(contend, contenders))


def refused(results: list) -> list:
    return [r for r in results if isinstance(r, BankError)]


def answered(results: list) -> list:
    return [r for r in results if not isinstance(r, BankError)]


class Racers:
    """Transactions to race over, on a few accounts, and what they add up to."""

    def __init__(self, bank: Bank) -> None:
        self.rng = random.Random(12)
        self.accounts = bank.accounts
        self.account_ids = [
            bank.accounts.open_account(f"racer{i}", "Current") for i in range(4)
        ]
        for account_id in self.account_ids:
            bank.accounts.deposit(account_id, "500.00")
        self.expected = Decimal("2000.00")

    def new_transaction(self, *, large: bool = False) -> tuple[UUID, tuple, Decimal]:
        """A deposit, withdrawal or transfer (a large deposit if ``large``)."""
        source, target = self.rng.sample(self.account_ids, 2)
        kind = (
            "deposit" if large else self.rng.choice(["deposit", "withdraw", "transfer"])
        )
        amount = (
            large_amount(self.rng)
            if large
            else Decimal(self.rng.randint(1, 2000)) / 100
        )
        if kind == "transfer":
            return (
                self.accounts.transfer(source, target, amount),
                (source, target),
                amount,
            )
        if kind == "deposit":
            self.expected += amount
            return self.accounts.deposit(source, amount), (source,), amount
        self.expected -= amount
        return self.accounts.withdraw(source, amount), (source,), amount


def test_racing_reversals_carry_each_out_once(
    bank: Bank, second_process: Bank, database: dict[str, Any]
) -> None:
    """Several threads at the same moment on the same transaction or request."""
    banks = [bank.accounts.reversals, second_process.accounts.reversals]
    racers = Racers(bank)
    outcomes: Counter = Counter()

    for round_number in range(RACES):
        # Reversing the same transaction at once, from either of its accounts.
        transaction_id, on_accounts, _ = racers.new_transaction()
        results = race(
            *(
                partial(
                    banks[n % 2].reverse,
                    transaction_id,
                    on_accounts[n % len(on_accounts)],
                    f"staff{n}",
                    "Twice",
                )
                for n in range(CONTENDERS)
            )
        )
        assert len(refused(results)) == CONTENDERS - 1, results
        assert all(isinstance(r, ReversalError) for r in refused(results)), results
        (winner,) = answered(results)
        assert winner.status == "carried out"
        racers.expected += balance_change(winner)
        outcomes["reverse: one carried out, others refused"] += 1

        # The same form submitted from several tabs at once: one reversal.
        transaction_id, on_accounts, _ = racers.new_transaction()
        key = f"reverse-form-{round_number}"
        results = race(
            *(
                partial(
                    banks[n % 2].reverse,
                    transaction_id,
                    on_accounts[0],
                    "carol",
                    "Once",
                    idempotency_key=key,
                )
                for n in range(CONTENDERS)
            )
        )
        assert refused(results) == [], results
        assert len(set(results)) == 1, results
        assert results[0].status == "carried out"
        racers.expected += balance_change(results[0])
        outcomes["double submit: one reversal, same summary"] += 1

        # A large request approved by several members of staff at once.
        transaction_id, on_accounts, amount = racers.new_transaction(large=True)
        request = banks[0].reverse(transaction_id, on_accounts[0], "carol", "Bounced")
        assert request.status == "pending"
        approvers = [f"approver{n}" for n in range(CONTENDERS)]
        results = race(
            *(
                partial(banks[n % 2].approve, request.id, approvers[n])
                for n in range(CONTENDERS)
            )
        )
        final = banks[0].get(request.id)
        assert (final.status, final.decided_by in approvers) == ("carried out", True)
        # Only the approver that won is told it was carried out; every other
        # is refused as a reversal already decided, never for want of money.
        assert answered(results) == [final], results
        racers.expected -= amount
        outcomes["approve: one carried out"] += 1
        for refusal in refused(results):
            assert type(refusal) is ReversalError, refusal
            outcomes["approve: refused, already decided"] += 1

        # A large request approved and rejected at once: exactly one wins.
        transaction_id, on_accounts, amount = racers.new_transaction(large=True)
        request = banks[0].reverse(transaction_id, on_accounts[0], "carol", "Bounced")
        first, second = banks if round_number % 2 else banks[::-1]
        approved, rejected = race(
            partial(first.approve, request.id, "dave"),
            partial(second.reject, request.id, "erin", "Cleared"),
        )
        final = banks[0].get(request.id)
        if isinstance(rejected, BankError):
            assert isinstance(rejected, ReversalError), rejected
            assert not isinstance(approved, BankError), approved
            assert (final.status, final.decided_by) == ("carried out", "dave")
            racers.expected -= amount
            outcomes["approve beat reject"] += 1
        else:
            assert isinstance(approved, ReversalError), approved
            assert (final.status, final.decided_by) == ("rejected", "erin")
            outcomes["reject beat approve"] += 1

    bank.wait_until_processed(timeout=60)
    findings = check_reversals(bank)
    report = audit(bank)
    print(
        f"\n{database['ENGINE'].rsplit('.', 1)[-1]}: {dict(outcomes)}; "
        f"reversals: {findings.summary()}; audit: {report.summary()}"
    )
    assert findings.problems == []
    assert len(findings.carried_out) == 3 * RACES + outcomes["approve beat reject"]
    balances = [bank.accounts.get_account(a).balance for a in racers.account_ids]
    assert sum(balances) == racers.expected
    assert bank.ledger().get_ledger().balance == racers.expected
    assert report.ok, report.problems
