"""``manage.py run_processors`` as real processes: crashes, standbys, lost links.

Commands are recorded from this test process, straight through Accounts;
the followers run only in the processes under test. At the end every test
folds the Accounts events itself (``esbank_site.operations.audit``) and checks the
ledger and the transaction log against that: each movement exactly once.
"""

from __future__ import annotations

import logging
import random
import re
import signal
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from eventsourcing.cipher import AESCipher

from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.runtime.advisory_locks import processor_holders
from esbank_site.runtime.progress import CatchUpProgress
from esbank_site.runtime.workers import (
    FollowerWorker,
    UnknownFollowerError,
    WorkerOptions,
    select_processors,
)
from tests.support.databases import postgres_admin_connection
from tests.support.processes import caught_up, held_by, migrate, wait_for
from tests.support.traffic import (
    MoneyMover,
    assert_exactly_once,
    open_funded_accounts,
)

if TYPE_CHECKING:
    from tests.support.processes import Spawned, Spawner

pytestmark = pytest.mark.multiprocess


def stand_by_started(process: Spawned) -> bool:
    return "standing by" in process.output()


def test_catches_up_at_start_then_wakes_on_notification(
    observer: Bank, spawner: Spawner
) -> None:
    account_ids = open_funded_accounts(observer.accounts, 4)
    mover = MoneyMover(observer.accounts, account_ids, seed=1)
    for _ in range(150):
        mover.move_once()
    backlog = observer.processor_status()[0].lag

    # A poll interval far longer than the test: only NOTIFY can wake it.
    processor = spawner.processor("--poll-interval=60")
    catch_up = wait_for(lambda: caught_up(observer), 30, "caught up")
    latencies = []
    for _ in range(5):
        observer.accounts.deposit(account_ids[0], "1.00")
        latencies.append(wait_for(lambda: caught_up(observer), 10, "notified"))

    print(
        f"\ncaught up on {backlog} notifications in {catch_up:.2f}s "
        f"(processor start included); after a deposit: "
        f"{', '.join(f'{t:.3f}s' for t in latencies)}"
    )
    assert max(latencies) < 5
    assert processor.popen.poll() is None
    print(assert_exactly_once(observer))


def test_sigterm_stops_between_events_and_releases_followers(
    observer: Bank, spawner: Spawner
) -> None:
    account_ids = open_funded_accounts(observer.accounts, 4)
    mover = MoneyMover(observer.accounts, account_ids, seed=2, pause=0.005)
    mover.start()
    try:
        processor = spawner.processor()
        wait_for(lambda: held_by(observer, processor), 30, "holding its followers")
        time.sleep(1.0)
        processor.signal(signal.SIGTERM)
        started = time.monotonic()
        exit_code = processor.wait(timeout=15)
        stopped_in = time.monotonic() - started
    finally:
        mover.stop()

    assert exit_code == 0
    assert "Processors stopped." in processor.output()
    assert set(processor_holders(observer).values()) == {None}
    lag_left = max(status.lag for status in observer.processor_status())

    spawner.processor()
    wait_for(lambda: caught_up(observer), 60, "caught up after restart")
    print(f"\nstopped {stopped_in:.2f}s after SIGTERM with lag {lag_left}; ")
    print(assert_exactly_once(observer))


def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    observer: Bank, spawner: Spawner
) -> None:
    rng = random.Random(20)
    account_ids = open_funded_accounts(observer.accounts, 8)
    movers = [
        MoneyMover(observer.accounts, account_ids, seed=seed, pause=0.005)
        for seed in (21, 22)
    ]
    for mover in movers:
        mover.start()
    kills: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        for _ in range(12):
            processor = spawner.processor()
            wait_for(lambda p=processor: held_by(observer, p), 30, "holding")
            time.sleep(rng.uniform(0.0, 1.2))
            before = observer.processor_status()
            processor.kill()
            kills.append(
                {
                    "positions": [s.position for s in before],
                    "lags": [s.lag for s in before],
                }
            )
    finally:
        for mover in movers:
            mover.stop()
    spawner.processor()
    final_catch_up = wait_for(lambda: caught_up(observer), 90, "caught up")
    elapsed = time.monotonic() - started

    moved = sum(m.moved for m in movers)
    killed_behind = sum(1 for kill in kills if any(kill["lags"]))
    print(
        f"\n{len(kills)} SIGKILLs in {elapsed:.1f}s, {killed_behind} of them "
        f"while behind; {moved} movements recorded meanwhile "
        f"({sum(m.refused for m in movers)} refused); final catch-up "
        f"{final_catch_up:.1f}s"
    )
    print("positions at each kill:", [k["positions"] for k in kills])
    assert len(kills) >= 10
    # The kills really did land while the followers were working.
    assert killed_behind >= 5
    positions = [k["positions"][0] for k in kills]
    assert positions == sorted(positions)
    assert positions[-1] > positions[0]
    print(assert_exactly_once(observer))


def test_standby_takes_over_when_the_active_processor_dies(
    observer: Bank, spawner: Spawner
) -> None:
    account_ids = open_funded_accounts(observer.accounts, 6)
    mover = MoneyMover(observer.accounts, account_ids, seed=3, pause=0.005)
    mover.start()
    takeovers = []
    standbys = []
    try:
        active = spawner.processor()
        wait_for(lambda: held_by(observer, active), 30, "holding")
        for _ in range(3):
            standby = spawner.processor()
            standbys.append(
                wait_for(lambda s=standby: stand_by_started(s), 30, "standing by")
            )
            time.sleep(0.5)
            # Only one of them processes.
            assert held_by(observer, active)
            active.kill()
            takeovers.append(
                wait_for(lambda s=standby: held_by(observer, s), 15, "taken over")
            )
            active = standby
    finally:
        mover.stop()
    catch_up = wait_for(lambda: caught_up(observer), 60, "caught up")

    print(
        f"\n{len(takeovers)} takeovers, in "
        f"{', '.join(f'{t:.2f}s' for t in takeovers)} (standbys ready after "
        f"{', '.join(f'{t:.1f}s' for t in standbys)}); {mover.moved} movements; "
        f"caught up {catch_up:.1f}s after the last one"
    )
    assert max(takeovers) < 5
    print(assert_exactly_once(observer))


def test_recovers_by_itself_when_its_connections_are_terminated(
    observer: Bank, spawner: Spawner, own_database: dict[str, Any]
) -> None:
    account_ids = open_funded_accounts(observer.accounts, 4)
    mover = MoneyMover(observer.accounts, account_ids, seed=4, pause=0.005)
    mover.start()
    app_name = "esbank-test-terminated"
    terminated = []
    recoveries = []
    try:
        processor = spawner.processor(PGAPPNAME=app_name)
        wait_for(lambda: held_by(observer, processor), 30, "holding")
        for _ in range(3):
            time.sleep(1.0)
            with postgres_admin_connection() as admin:
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s "
                    "AND (application_name = %s OR application_name LIKE %s)",
                    (
                        own_database["NAME"],
                        app_name,
                        f"esbank-processor {processor.pid}@%",
                    ),
                ).fetchall()
            terminated.append(len(rows))
            position = min(s.position for s in observer.processor_status())
            recoveries.append(
                wait_for(
                    lambda p=position: (
                        held_by(observer, processor)
                        and min(s.position for s in observer.processor_status()) > p
                    ),
                    30,
                    "processing again",
                )
            )
    finally:
        mover.stop()
    wait_for(lambda: caught_up(observer), 60, "caught up")

    print(
        f"\nterminated {terminated} connections; processing again after "
        f"{', '.join(f'{t:.2f}s' for t in recoveries)}; {mover.moved} movements"
    )
    assert processor.popen.poll() is None
    assert all(count >= 1 for count in terminated)
    assert "lost the follower" in processor.output()
    print(assert_exactly_once(observer))


def test_deposits_before_any_processor_show_as_lag(observer: Bank) -> None:
    account_id = observer.accounts.open_account("ada", "Current")
    observer.accounts.deposit(account_id, Decimal("10.00"))
    statuses = observer.processor_status()
    assert {s.position for s in statuses} == {0}
    assert {s.lag for s in statuses} == {statuses[0].leader_position}
    assert statuses[0].lag > 0
    assert set(processor_holders(observer).values()) == {None}


def test_waits_for_migrate_before_building_the_bank(
    empty_database: dict[str, Any], spawner: Spawner
) -> None:
    processor = spawner.processor()
    wait_for(
        lambda: "no tables yet: run `manage.py migrate`" in processor.output(),
        30,
        "waiting for the tables",
    )
    migrate(empty_database)
    bank = Bank(eventsourcing_env(empty_database), process_inline=False)
    try:
        wait_for(lambda: held_by(bank, processor), 30, "holding")
        account_id = bank.accounts.open_account("ada", "Current")
        bank.accounts.deposit(account_id, "10.00")
        wait_for(lambda: caught_up(bank), 10, "caught up")
        assert bank.ledger().get_ledger().balance == Decimal("10.00")
    finally:
        bank.close()


def test_refuses_to_run_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    database = connections["default"].settings_dict
    monkeypatch.setitem(database, "ENGINE", "django.db.backends.sqlite3")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("run_processors")


def test_refuses_an_unknown_follower(observer: Bank) -> None:
    with pytest.raises(UnknownFollowerError, match="the bank has Ledger, Trans"):
        select_processors(observer, ["ledger", "nonsense"])
    assert [p.name for p in select_processors(observer, ["TRANSACTIONS"])] == [
        "Transactions"
    ]


def test_follows_encrypted_events_and_refuses_a_wrong_key(
    own_database: dict[str, Any], spawner: Spawner
) -> None:
    key = AESCipher.create_key(16)
    bank = Bank(eventsourcing_env(own_database, cipher_key=key), process_inline=False)
    try:
        account_id = bank.accounts.open_account("ada", "Current")
        bank.accounts.deposit(account_id, "10.00")
        wrong = spawner.processor(CIPHER_KEY=AESCipher.create_key(16))
        assert wrong.wait(timeout=30) != 0
        assert "cannot be read with this configuration" in wrong.output()

        spawner.processor(CIPHER_KEY=key)
        wait_for(lambda: caught_up(bank), 30, "caught up")
        assert bank.ledger().get_ledger().balance == Decimal("10.00")
    finally:
        bank.close()


def test_pulls_on_its_timer_when_no_notification_comes(
    observer: Bank, own_database: dict[str, Any]
) -> None:
    stopping = threading.Event()
    [ledger] = select_processors(observer, ["ledger"])
    worker = FollowerWorker(
        ledger, own_database, stopping, WorkerOptions(poll_interval=0.5)
    )
    # A channel nobody notifies: as if every NOTIFY had been lost.
    worker.channel = "esbank_test_silence"
    worker.start()
    try:
        wait_for(worker.holding.is_set, 10, "holding")
        account_id = observer.accounts.open_account("ada", "Current")
        observer.accounts.deposit(account_id, "10.00")
        waited = wait_for(lambda: ledger.status().lag == 0, 10, "pulled")
    finally:
        stopping.set()
        worker.join(timeout=10)
    print(f"\npulled {waited:.2f}s after the deposit, with no notification")
    assert observer.ledger().get_ledger().balance == Decimal("10.00")
    assert not worker.is_alive()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "esbank_site.runtime.progress"
    ]


def test_a_follower_far_behind_reports_its_progress_then_once_that_it_caught_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="esbank_site.runtime.progress")
    clock = FakeClock()
    progress = CatchUpProgress("Ledger", interval=5, threshold=100, clock=clock)
    progress.observe(0, 10_000)  # far behind: a catch-up starts, silently
    clock.now += 4
    progress.observe(800, 10_000)
    assert progress_lines(caplog) == []  # nothing until an interval has passed
    clock.now += 1
    progress.observe(2_000, 10_000)
    clock.now += 2
    progress.observe(2_500, 10_000)
    clock.now += 3
    progress.observe(3_000, 10_000)
    assert progress_lines(caplog) == [
        "Ledger: catching up [######------------------------]  20% 2000/10000,"
        " 400 events/s, about 20s left",
        "Ledger: catching up [#########---------------------]  30% 3000/10000,"
        " 200 events/s, about 35s left",
    ]
    clock.now += 5
    progress.observe(3_000, 10_000)
    clock.now += 5
    progress.observe(9_000, 10_000)
    assert progress_lines(caplog)[2:] == [
        "Ledger: catching up [#########---------------------]  30% 3000/10000,"
        " 0 events/s, not moving",
        "Ledger: catching up [###########################---]  90% 9000/10000,"
        " 1,200 events/s, under 1s left",
    ]
    for _ in range(600):  # near the head, under load: nothing to say
        clock.now += 0.1
        progress.observe(9_950, 10_000)
    progress.observe(10_000, 10_000)  # at the head: caught up
    clock.now += 5
    progress.observe(10_000, 10_000)
    assert progress_lines(caplog)[4:] == [
        "Ledger: caught up at position 10000 (head 10000): 10000 events in 80.0s,"
        " 125 events/s"
    ]


def test_a_follower_that_keeps_up_or_catches_up_quickly_says_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="esbank_site.runtime.progress")
    clock = FakeClock()
    progress = CatchUpProgress("Ledger", interval=5, threshold=100, clock=clock)
    for step in range(1_000):  # steady load: always a little behind
        clock.now += 0.05
        progress.observe(step * 10, step * 10 + 99)
    for step in range(100):  # bursts far behind, each over within 4s
        clock.now += 1
        head = 1_000_000 + step * 1_000
        progress.observe(head - (1_000 if step % 4 == 0 else 0), head)
    progress.observe(0, 1_000_000)  # far behind, but stopped: no line
    progress.reset()
    clock.now += 60
    progress.observe(1_000_000, 1_000_000)
    assert progress_lines(caplog) == []
    silent = CatchUpProgress("Ledger", interval=0, threshold=100, clock=clock)
    silent.observe(0, 10_000)
    clock.now += 60
    silent.observe(1, 10_000)
    assert progress_lines(caplog) == []


def test_catching_up_logs_progress_and_is_quiet_once_caught_up(
    observer: Bank, spawner: Spawner
) -> None:
    followers = ("Ledger", "AccountsList")  # a process application, a projection

    def followers_caught_up() -> bool:
        statuses = observer.processor_status()
        return all(s.lag == 0 for s in statuses if s.name in followers)

    def said(output: str, follower: str, what: str) -> list[str]:
        return [line for line in output.splitlines() if f"{follower}: {what}" in line]

    account_id = observer.accounts.open_account("ada", "Current")
    # A backlog of 5,000 deposits, saved 500 at a time: quicker than commands.
    account = observer.accounts.repository.get(account_id)
    for _ in range(10):
        for _ in range(500):
            account.deposit("1.00", uuid4())
        observer.accounts.save(account)
    processor = spawner.processor(
        *followers, "--progress-threshold=50", "--progress-interval=0.1"
    )
    wait_for(followers_caught_up, 60, "caught up")
    wait_for(
        lambda: all(said(processor.output(), f, "caught up") for f in followers),
        10,
        "said so",
    )
    output = processor.output()
    for follower in followers:
        lines = said(output, follower, "catching up")
        assert lines
        for line in lines:
            assert re.search(r"\[[#-]{30}\] +\d+% \d+/\d+, [\d,]+ events/s, ", line)
        assert len(said(output, follower, "caught up")) == 1
        print(f"\n{len(lines)} progress lines, the last:\n{lines[-1]}")
        print(said(output, follower, "caught up")[0])

    # Followed as it happens, a deposit at a time: nothing more to say.
    for _ in range(30):
        observer.accounts.deposit(account_id, "1.00")
        time.sleep(0.02)
    wait_for(followers_caught_up, 10, "caught up again")
    time.sleep(1.0)
    after = processor.output()
    for follower in followers:
        progress = said(output, follower, "catching up")
        assert said(after, follower, "catching up") == progress
        assert len(said(after, follower, "caught up")) == 1


def test_gathers_commits_after_a_notification_into_one_pull(
    observer: Bank, own_database: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    stopping = threading.Event()
    [ledger] = select_processors(observer, ["ledger"])
    pulls: list[int] = []
    real_process_batch = ledger.follower.process_batch

    def counted(jobs: Any) -> None:
        if jobs:
            pulls.append(len(jobs))
        real_process_batch(jobs)

    monkeypatch.setattr(ledger.follower, "process_batch", counted)
    worker = FollowerWorker(
        ledger,
        own_database,
        stopping,
        WorkerOptions(poll_interval=60, gather_seconds=1.0),
    )
    account_id = observer.accounts.open_account("ada", "Current")
    worker.start()
    try:
        wait_for(worker.holding.is_set, 10, "holding")
        wait_for(lambda: ledger.status().lag == 0, 10, "caught up")
        pulls.clear()
        for _ in range(10):  # ten commits, ten notifications, within the second
            observer.accounts.deposit(account_id, "1.00")
        wait_for(lambda: ledger.status().lag == 0, 10, "pulled")
    finally:
        stopping.set()
        worker.join(timeout=10)
    print(f"\nten deposits, one second's gathering: pulls of {pulls} events")
    assert sum(pulls) == 10
    assert len(pulls) <= 2  # one, unless the deposits outlasted the second


def test_the_library_runner_is_one_flag_away(observer: Bank, spawner: Spawner) -> None:
    account_ids = open_funded_accounts(observer.accounts, 4)
    mover = MoneyMover(observer.accounts, account_ids, seed=3)
    for _ in range(50):
        mover.move_once()
    processor = spawner.processor("--library-runner")
    waited = wait_for(lambda: caught_up(observer), 60, "caught up")
    for _ in range(20):
        mover.move_once()
    wait_for(lambda: caught_up(observer), 30, "followed")
    print(f"\nProjectionRunner caught up in {waited:.2f}s, then followed")
    assert processor.popen.poll() is None
    assert "AccountsList: projecting Accounts" in processor.output()
    print(assert_exactly_once(observer))
