"""Faults between machines: the bank on three "machines" and a database.

Each machine is a network namespace with a link of its own to the root
namespace, where a PostgreSQL cluster of this module's own listens on the
root end of every link (tests/support/netns.py): gunicorn on the web
machine, ``run_processors`` on the active processor's machine and on its
standby's. Customers move money over HTTP through the web machine's link,
from the test process.

- A cut link to the active processor: the server ends its sessions after
  ``ESBANK_DB_NETWORK_TIMEOUT`` seconds of silence (its TCP timeout, or the
  lock sessions' idle-session timeout), which releases its advisory locks,
  and the standby takes over within the bound docs/DEPLOYMENT.md gives. The
  data (a trigger logs every tracking write with the writer's address, and
  commit timestamps say when) shows that the cut-off processor committed
  nothing after the cut, nor after the link came back, when it reconnects
  and stands by.
- A slow, lossy link to the web machine (a delay each way and packets
  dropped at random each way, as netem would; this kernel has no netem):
  every answer is 2xx, 4xx or 503 with ``Retry-After``, and no command
  moves money twice, though the customers resend each 503 with the same
  form.

Every test ends with the audit: an independent fold of the Accounts events
against the ledger and the transaction log, each movement exactly once.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import pytest

from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.http_workload import (
    Command,
    Customer,
    History,
    HttpClient,
    Recorder,
    statuses_of,
)
from tests.support.netns import (
    Cluster,
    ImpairedLink,
    Veth,
    impaired_link,
    namespace,
    postgres_cluster,
    require_root_networking,
    tcp_round_trip,
    veth,
)
from tests.support.processes import (
    Spawner,
    caught_up,
    create_users,
    held_by,
    machine_wide_turn,
    migrate,
    wait_for,
)
from tests.support.traffic import assert_exactly_once

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.processes import Spawned

pytestmark = pytest.mark.multiprocess

WEB_PORT = 8000  # in the web machine's namespace: nothing else listens there
# The processors' ESBANK_DB_NETWORK_TIMEOUT here (15 by default): the bound
# scales with it, and a shorter one keeps the module quick.
NETWORK_TIMEOUT = 6
# Spawner.processor's --poll-interval and --standby-interval, and the
# default --gather: the longest a well worker's lock session stays silent.
POLL_INTERVAL = 0.5
STANDBY_INTERVAL = 0.2
GATHER = 0.2
# The documented bound (docs/DEPLOYMENT.md, "On several machines").
TAKEOVER_BOUND = NETWORK_TIMEOUT + POLL_INTERVAL + GATHER + STANDBY_INTERVAL + 1.0
# The web machine's link in the second test: each way.
DELAY = 0.1  # seconds: 200 ms round trips
LOSS = 0.05  # of the packets, dropped at random
LOAD_SECONDS = 12
FOLLOWERS = 3  # Ledger, Transactions, AccountsList: one lock connection each
_numbers = itertools.count()


# The machines and their database.


@dataclass
class Lab:
    """Three machines, their links, and the database they share."""

    cluster: Cluster
    web: ImpairedLink
    active: Veth
    standby: Veth


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """The machines, for this module; everything removed at the end."""
    require_root_networking()
    with machine_wide_turn(), contextlib.ExitStack() as stack:
        web = stack.enter_context(impaired_link(stack.enter_context(namespace("w")), 1))
        active = stack.enter_context(veth(stack.enter_context(namespace("a")), 2))
        standby = stack.enter_context(veth(stack.enter_context(namespace("b")), 3))
        addresses = [web.host_address, active.host_address, standby.host_address]
        cluster = stack.enter_context(postgres_cluster(addresses))
        yield Lab(cluster, web, active, standby)


# Each follower's tracking writes, with the address of the machine that made
# them; only committed writes stay, and commit timestamps say when.
WRITES_LOG = """
CREATE TABLE esbank_test_writes (
    follower text NOT NULL,
    position bigint NOT NULL,
    client inet DEFAULT inet_client_addr()
);
CREATE FUNCTION esbank_test_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO esbank_test_writes (follower, position)
    VALUES (TG_TABLE_NAME, NEW.notification_id);
    RETURN NULL;
END $$;
"""


@pytest.fixture
def database(lab: Lab) -> dict[str, Any]:
    """A migrated database on the lab's cluster, its tracking writes logged."""
    database = lab.cluster.create_database(f"esbank_netns_{next(_numbers)}")
    migrate(database)
    with lab.cluster.connect(database["NAME"]) as conn:
        conn.execute(WRITES_LOG)
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name LIKE '%\\_tracking'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                f"CREATE TRIGGER esbank_test_log AFTER INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION esbank_test_log_write()"
            )
    return database


@pytest.fixture
def observer(database: dict[str, Any]) -> Iterator[Bank]:
    """A bank in the test process, on 127.0.0.1: records setup, reads; no follower."""
    bank = Bank(eventsourcing_env(database), process_inline=False)
    try:
        yield bank
    finally:
        bank.close()


@dataclass
class Machines:
    """Starts processes on each machine, reaching the database over its link."""

    web: Spawner
    active: Spawner
    standby: Spawner


@pytest.fixture
def machines(
    lab: Lab, database: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Machines]:
    spawned: list[Spawned] = []

    def on(link: ImpairedLink | Veth) -> Spawner:
        reached = database | {"HOST": link.host_address}
        return Spawner(reached, tmp_path, spawned, link.namespace.exec_prefix)

    try:
        yield Machines(on(lab.web), on(lab.active), on(lab.standby))
    finally:
        for process in spawned:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            for process in spawned:
                tail = process.output()[-4000:]
                print(f"\n--- {process.name} {process.pid} ---\n{tail}")
            print(f"\n--- PostgreSQL ---\n{lab.cluster.log()[-4000:]}")


# The customers.


def answers(host: str, port: int) -> bool:
    """Whether a web process answers at ``host:port`` (any status)."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", "/health/")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def start_web(machines: Machines, lab: Lab, workers: int) -> Spawned:
    web = machines.web.gunicorn(
        WEB_PORT,
        workers=workers,
        host=lab.web.address,
        DJANGO_ALLOWED_HOSTS=lab.web.address,
    )
    wait_for(lambda: answers(lab.web.address, WEB_PORT), 60, "serving")
    return web


def processor(spawner: Spawner, *args: str) -> Spawned:
    return spawner.processor(*args, ESBANK_DB_NETWORK_TIMEOUT=str(NETWORK_TIMEOUT))


def funded_accounts(bank: Bank, owners: list[str]) -> dict[str, list[Any]]:
    """Two accounts of £1,000.00 per owner, opened from the test process."""
    accounts = {}
    for owner in owners:
        accounts[owner] = []
        for number in range(2):
            account_id = bank.accounts.open_account(owner, f"Account {number}")
            bank.accounts.deposit(account_id, "1000.00")
            accounts[owner].append(account_id)
    return accounts


class PatientCustomer(Customer):
    """Sends each command again, the same form, until it is not a 503.

    As a browser's user would after "try again in a moment": the same
    token, so a command that moved money before its answer was lost moves
    nothing more. It waits a second rather than the whole ``Retry-After``,
    to send more in a short test, and gives up 20 s after the deadline.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unanswered: list[str] = []
        self.resent = 0

    def send(self, command: Command) -> None:
        htmx = self.rng.random() < 0.8
        while True:
            try:
                exchange = self.client.post(command.path, command.fields, htmx=htmx)
            except OSError as error:  # no answer at all
                self.unanswered.append(f"{command.kind}: {error!r}")
                exchange = None
            giving_up = time.monotonic() > self.deadline + 20
            if exchange is not None and (
                exchange.status != HTTPStatus.SERVICE_UNAVAILABLE or giving_up
            ):
                break
            if giving_up:
                return
            self.resent += 1
            time.sleep(1.0)
        command.exchange = exchange
        self.commands.append(command)


def customers_for(
    lab: Lab, database: dict[str, Any], observer: Bank, count: int, deadline: float
) -> tuple[list[PatientCustomer], Recorder, int]:
    """Signed-in customers with funded accounts; and the setup's deposits."""
    usernames = [f"customer{number}" for number in range(count)]
    create_users(database, usernames)
    accounts = funded_accounts(observer, usernames)
    everyone = [a for owned in accounts.values() for a in owned]
    recorder = Recorder()
    customers = []
    for seed, name in enumerate(usernames, start=500):
        client = HttpClient(f"http://{lab.web.address}:{WEB_PORT}", name, recorder)
        client.log_in()
        customers.append(
            PatientCustomer(client, accounts[name], everyone, seed, deadline)
        )
    return customers, recorder, len(everyone)


def processing(bank: Bank, what: str) -> None:
    """Wait until every follower has processed 100 more events."""

    def position() -> int:
        return min(status.position for status in bank.processor_status())

    start = position()
    wait_for(lambda: position() > start + 100, 30, what)


def finish(customers: list[PatientCustomer], timeout: float) -> None:
    for customer in customers:
        customer.join(timeout=timeout)
        assert not customer.is_alive(), f"{customer.name} did not finish"
        if customer.error is not None:
            raise customer.error


CLEAN = {HTTPStatus.OK, HTTPStatus.FOUND}


def answer_problems(recorder: Recorder) -> list[str]:
    """Answers other than 2xx, 4xx, or 503 with Retry-After."""
    problems = []
    for exchange in recorder.exchanges:
        status = exchange.status
        if status == HTTPStatus.SERVICE_UNAVAILABLE:
            if not exchange.headers.get("retry-after"):
                problems.append(f"{exchange.path}: 503 without Retry-After")
        elif not 200 <= status < 500:
            problems.append(f"{exchange.path}: {status} {exchange.body[:200]!r}")
    return problems


def money_problems(
    customers: list[PatientCustomer], history: History, setup_deposits: int
) -> tuple[list[str], Counter[str]]:
    """Each command moved money at most once; an accepted one exactly once.

    A command's receipt names its form token; the receipt's transaction is
    on every leg of the movement. A command last answered 503 may have
    moved money (once) or not: its outcome is what the events say.
    """
    problems = []
    outcomes: Counter[str] = Counter()
    sent = set()
    legs_of = {"deposit": 1, "withdraw": 1, "transfer": 2}
    for customer in customers:
        for command in customer.commands:
            assert command.exchange is not None
            status = command.exchange.status
            sent.add(command.token)
            receipts = history.receipts.get(command.token, [])
            where = f"{command.kind} {command.amount} -> {status}"
            if len(receipts) > 1:
                problems.append(f"{where}: moved {len(receipts)} times")
                continue
            if status in CLEAN:
                outcomes["accepted"] += 1
                if not receipts:
                    problems.append(f"{where}: accepted, yet nothing moved")
                    continue
            elif status == HTTPStatus.SERVICE_UNAVAILABLE:
                outcomes["503, moved" if receipts else "503, not moved"] += 1
                if not receipts:
                    continue
            else:
                outcomes["refused"] += 1
                if receipts:
                    problems.append(f"{where}: refused, yet moved")
                continue
            legs = history.by_transaction.get(receipts[0].transaction_id, [])
            amounts = {leg.amount for leg in legs}
            if len(legs) != legs_of[command.kind] or amounts != {
                Decimal(command.amount)
            }:
                problems.append(f"{where}: legs {legs}")
    phantoms = [token for token in history.receipts if token not in sent]
    if phantoms:
        problems.append(f"{len(phantoms)} receipt(s) of no command")
    receipted = {r.transaction_id for rs in history.receipts.values() for r in rs}
    unexplained = [t for t in history.by_transaction if t not in receipted]
    if len(unexplained) != setup_deposits:
        problems.append(
            f"{len(unexplained)} movements without a receipt; the setup made "
            f"{setup_deposits}"
        )
    return problems, outcomes


# What the database says.


def writes_by_machine(lab: Lab, database: dict[str, Any]) -> dict[str, list[Any]]:
    """Each machine's committed tracking writes: (commit time, follower, position)."""
    with lab.cluster.connect(database["NAME"]) as conn:
        rows = conn.execute(
            "SELECT host(client), extract(epoch FROM pg_xact_commit_timestamp(xmin)),"
            " follower, position FROM esbank_test_writes ORDER BY 2, position"
        ).fetchall()
    names = {lab.active.address: "active", lab.standby.address: "standby"}
    found: dict[str, list[Any]] = {"active": [], "standby": []}
    for client, committed, follower, position in rows:
        found[names.get(client, client)].append((float(committed), follower, position))
    return found


def positions_only_move_forward(writes: dict[str, list[Any]]) -> list[str]:
    """Problems, if a follower's positions, in commit order, ever went back."""
    problems = []
    merged = sorted(w for machine_writes in writes.values() for w in machine_writes)
    last: dict[str, int] = {}
    for _, follower, position in merged:
        if position <= last.get(follower, 0):
            problems.append(f"{follower} recorded {position} after {last[follower]}")
        last[follower] = position
    return problems


SERVER_LOG_LINE = re.compile(
    r"^(\S+ \S+) UTC \[(\d+)\] (\S+)\(\d+\) (.*?): (?:LOG|FATAL|ERROR):  (.*)$"
)


@dataclass
class SessionEnd:
    after: float  # seconds after the cut
    application: str
    why: str  # the first thing the server said about the session, if anything


def sessions_ended(cluster: Cluster, address: str, since: float) -> list[SessionEnd]:
    """Each session from ``address`` that ended after ``since``, from the log."""
    ended = []
    said: dict[str, str] = {}  # by backend pid
    for line in cluster.log().splitlines():
        match = SERVER_LOG_LINE.match(line)
        if match is None or match[3] != address:
            continue
        stamp, backend, _, application, message = match.groups()
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        if at.timestamp() < since:
            continue
        if not message.startswith("disconnection:"):
            said.setdefault(backend, message)
        else:
            why = said.pop(backend, "closed by the client")
            ended.append(SessionEnd(at.timestamp() - since, application, why))
    return ended


# The tests.


def test_a_cut_off_processor_hands_its_followers_to_the_standby_in_bounded_time(
    lab: Lab, database: dict[str, Any], observer: Bank, machines: Machines
) -> None:
    start_web(machines, lab, workers=2)
    customers, recorder, setup = customers_for(lab, database, observer, 2, 10**9)
    active = processor(machines.active)
    wait_for(lambda: held_by(observer, active), 60, "holding")
    standby = processor(machines.standby)
    wait_for(lambda: "standing by" in standby.output(), 60, "standing by")
    for customer in customers:
        customer.start()
    try:
        # The active processor follows the customers' traffic, then is cut off.
        processing(observer, "the active processor processing")
        with lab.cluster.connect(database["NAME"]) as conn:
            # Cut at a moment the active processor is busy, if one comes soon.
            busy_from = time.monotonic()
            while not _busy(conn, lab.active) and time.monotonic() - busy_from < 2:
                pass
            cut_at = time.time()
            lab.active.cut()
            cut_done = time.time()
            busy_at_cut = _busy(conn, lab.active)
        at_cut = observer.processor_status()
        wait_for(lambda: held_by(observer, standby), TAKEOVER_BOUND + 20, "taken over")
        takeover = time.time() - cut_at
        processing(observer, "the standby processing")
        lab.active.heal()
        # The cut-off processor reconnects, competes, and stands by.
        back = wait_for(
            lambda: _lock_sessions(lab, database, active) >= FOLLOWERS,
            45,
            "the cut-off processor back as a standby",
        )
        processing(observer, "the standby processing after the heal")
    finally:
        for customer in customers:
            customer.deadline = 0
    finish(customers, 60)
    catch_up = wait_for(lambda: caught_up(observer), 60, "caught up")
    summary = assert_exactly_once(observer)

    writes = writes_by_machine(lab, database)
    before_cut = [w for w in writes["active"] if w[0] <= cut_done]
    after_cut = [w for w in writes["active"] if w[0] > cut_done]
    ended = sessions_ended(lab.cluster, lab.active.address, cut_at)
    holder = f"esbank-processor {active.pid}@"
    lock_sessions = [e for e in ended if e.application.startswith(holder)]
    others = [e for e in ended if not e.application.startswith(holder)]
    last_before = cut_done - before_cut[-1][0] if before_cut else float("nan")
    first_after = (
        writes["standby"][0][0] - cut_at if writes["standby"] else float("nan")
    )
    output = active.output()
    failed_batches = output.count("failed to process")
    fenced = output.count("LostFollowerError:")
    already_processed = output.count("IntegrityError:")
    history = History.read(observer)
    problems, outcomes = money_problems(customers, history, setup)
    print(
        f"\ncut the active processor's link ({busy_at_cut} of its sessions in a "
        f"statement or transaction; positions {[s.position for s in at_cut]}, "
        f"lags {[s.lag for s in at_cut]}); the standby held every follower "
        f"{takeover:.2f}s later (bound {TAKEOVER_BOUND:.1f}s: network timeout "
        f"{NETWORK_TIMEOUT} + poll {POLL_INTERVAL} + gather {GATHER} + standby "
        f"{STANDBY_INTERVAL} + 1)"
        f"\nthe server ended the cut-off processor's lock sessions "
        f"{', '.join(f'{e.after:.2f}s' for e in lock_sessions)} after the cut: "
        f"{dict(Counter(e.why for e in lock_sessions))}; its other sessions: "
        f"{dict(Counter(e.why for e in others))}"
        f"\ncut-off processor: {len(before_cut)} tracking writes committed before "
        f"the cut (the last {last_before:.2f}s before it), {len(after_cut)} after; "
        f"back as a standby {back:.1f}s after the link was healed, "
        f"{failed_batches} failed batch(es) in its log: {fenced} refused by the "
        f"fence, {already_processed} as already processed; standby: "
        f"{len(writes['standby'])} tracking writes, the first {first_after:.2f}s "
        "after the cut"
        f"\nHTTP answers by status {statuses_of(recorder.exchanges)}; commands "
        f"{dict(outcomes)}; caught up {catch_up:.1f}s after the traffic"
        f"\n{summary}"
    )
    assert takeover <= TAKEOVER_BOUND
    assert lock_sessions, "the server logged no end of the lock sessions"
    assert before_cut, "the active processor processed nothing before the cut"
    assert after_cut == []
    assert min(w[0] for w in writes["standby"]) >= cut_at
    assert positions_only_move_forward(writes) == []
    assert held_by(observer, standby)
    assert active.popen.poll() is None
    assert standby.popen.poll() is None
    assert answer_problems(recorder) == []
    assert problems == []


def _busy(conn: Any, link: Veth) -> int:
    """How many sessions from ``link``'s machine are in a statement or transaction."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE host(client_addr) = %s "
        "AND xact_start IS NOT NULL",
        (link.address,),
    ).fetchone()
    return int(row[0]) if row else 0


def _lock_sessions(lab: Lab, database: dict[str, Any], process: Spawned) -> int:
    """How many lock connections ``process`` has open now."""
    with lab.cluster.connect(database["NAME"]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"esbank-processor {process.pid}@%",),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_slow_lossy_link_to_the_web_gets_clean_answers_and_moves_money_once(
    lab: Lab, database: dict[str, Any], observer: Bank, machines: Machines
) -> None:
    deadline = 10**9  # set when the link is impaired
    start_web(machines, lab, workers=4)
    customers, recorder, setup = customers_for(lab, database, observer, 4, deadline)
    worker = processor(machines.active)
    wait_for(lambda: held_by(observer, worker), 60, "holding")
    round_trip = tcp_round_trip(lab.web.address, WEB_PORT)
    packets_before = lab.web.stats()
    lab.web.impair(DELAY, LOSS)
    try:
        slow_round_trip = tcp_round_trip(lab.web.address, WEB_PORT)
        started = time.monotonic()
        for customer in customers:
            customer.deadline = started + LOAD_SECONDS
            customer.start()
        finish(customers, LOAD_SECONDS + 90)
        traffic = time.monotonic() - started
    finally:
        lab.web.impair(0, 0)
    packets = {k: n - packets_before[k] for k, n in lab.web.stats().items()}
    catch_up = wait_for(lambda: caught_up(observer), 60, "caught up")
    summary = assert_exactly_once(observer)
    history = History.read(observer)
    problems, outcomes = money_problems(customers, history, setup)
    unanswered = [u for c in customers for u in c.unanswered]
    statuses = statuses_of(recorder.exchanges)
    times = sorted(exchange.elapsed for exchange in recorder.exchanges)
    print(
        f"\nweb machine's link: {DELAY * 1000:.0f} ms and {LOSS:.0%} loss each way; "
        f"TCP connect {round_trip * 1000:.2f} ms before, "
        f"{slow_round_trip * 1000:.0f} ms during; packets {packets}"
        f"\n{len(recorder.exchanges)} HTTP requests from {len(customers)} customers "
        f"in {traffic:.1f}s: by status {statuses}, answered in "
        f"{times[len(times) // 2]:.1f}s (median) to {times[-1]:.1f}s; "
        f"{sum(c.resent for c in customers)} resent after a 503 or no answer; "
        f"{len(unanswered)} unanswered; commands {dict(outcomes)}; caught up "
        f"{catch_up:.1f}s after"
        f"\n{summary}"
    )
    assert answer_problems(recorder) == []
    assert unanswered == []
    assert problems == []
    assert outcomes["accepted"] > 0
    assert packets["in dropped"] > 0
    assert packets["out dropped"] > 0
