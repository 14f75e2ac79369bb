"""Several machines on one: network namespaces, their links, their database.

For tests/multiprocess/test_partitions.py, which runs the bank's processes
as a deployment on several machines runs them, and breaks the network
between them. Each "machine" is a network namespace of its own
(``Namespace``), reached from the root namespace, where PostgreSQL runs, by
a link of its own:

- ``Veth``: a veth pair, a real link the kernel routes over; ``cut()`` takes
  it down (no FIN, no RST: a pulled cable), ``heal()`` brings it back;
- ``ImpairedLink``: two TUN devices and a process between them
  (``python -m tests.support.netns impair``) that forwards every IP packet
  after a delay, or drops it, at random, in each direction. The kernel's
  ``netem`` qdisc does this where it exists; this machine's kernel is built
  without it (``CONFIG_NET_SCH_NETEM`` is not set, and there are no modules
  to load), so ``tc qdisc add ... netem`` fails with "Specified qdisc kind is
  unknown". The packets are the kernel's own, so TCP sees real delay and
  real loss, and retransmits as it would over a bad network.

PostgreSQL is a cluster of the test's own (``postgres_cluster``), made
with the installed server's ``initdb`` and listening on the root end of
every link, so the processes in the namespaces reach it over them, and the
test on 127.0.0.1. It runs with ``track_commit_timestamp``, so a test can
tell when each row was committed, and logs every disconnection with its
reason.

Everything made here is named after the test process's pid and removed at
the end, whatever happened: processes still in a namespace are killed (by
pid: they are the test's), the namespaces, links and cluster are deleted.
Root is needed; ``require_root_networking`` fails the test without it when
``ESBANK_TEST_POSTGRES=1`` (CI), and skips it elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import heapq
import itertools
import json
import os
import pwd
import random
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUIRED = os.environ.get("ESBANK_TEST_POSTGRES") == "1"
REPO = Path(__file__).resolve().parents[2]
POSTGRES_BIN_DIRS = [
    *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
    Path("/usr/local/bin"),
]
# Addresses of the links: 10.<subnet>.<link>.0/30, the root end .1, the
# namespace's .2; the second byte from the pid, so two runs differ.
SUBNET = 200 + os.getpid() % 50


def missing_for_namespaces() -> list[str]:
    """What this process lacks to build namespaces and a cluster, if anything."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces, links and TUN devices)")
    if shutil.which("ip") is None:
        missing.append("the ip command (iproute2)")
    if not Path("/dev/net/tun").exists():
        missing.append("/dev/net/tun")
    if postgres_bin() is None:
        missing.append("PostgreSQL's initdb and pg_ctl")
    return missing


def require_root_networking() -> None:
    """Fail (in CI) or skip (elsewhere) unless namespaces can be made here."""
    import pytest  # noqa: PLC0415 (the impairer process runs without pytest)

    missing = missing_for_namespaces()
    if not missing:
        return
    message = f"Network namespace tests need {', '.join(missing)}."
    if REQUIRED:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def postgres_bin() -> Path | None:
    """The directory of the installed server's initdb and pg_ctl."""
    for directory in POSTGRES_BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def ip(*args: str) -> str:
    """Run ``ip`` with ``args``; its output, or an error saying what failed."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        msg = f"ip {' '.join(args)}: {done.stderr.strip()}"
        raise RuntimeError(msg)
    return done.stdout


def unique_name(role: str) -> str:
    """A name for a namespace or device of this run (15 characters at most)."""
    return f"esb{os.getpid()}{role}"[:15]


# Namespaces.


@dataclass
class Namespace:
    """A network namespace: a machine of its own, as far as the network goes."""

    name: str

    @property
    def exec_prefix(self) -> list[str]:
        """What runs a command in this namespace (the same pid: ip execs it)."""
        return ["ip", "netns", "exec", self.name]

    def pids(self) -> list[int]:
        return [int(pid) for pid in ip("netns", "pids", self.name).split()]


@contextlib.contextmanager
def namespace(role: str) -> Iterator[Namespace]:
    """A new namespace with its loopback up; deleted afterwards.

    Any process still in it at the end was started by the test: it is
    killed, by pid, before the namespace goes.
    """
    created = Namespace(unique_name(role))
    with contextlib.suppress(RuntimeError):
        ip("netns", "delete", created.name)  # left by a run with the same pid
    ip("netns", "add", created.name)
    try:
        ip("-n", created.name, "link", "set", "lo", "up")
        yield created
    finally:
        with contextlib.suppress(RuntimeError):
            for pid in created.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        ip("netns", "delete", created.name)


# Links.


@dataclass
class Link:
    """A link from the root namespace to ``namespace``, and its two ends."""

    namespace: Namespace
    host_device: str
    host_address: str  # the root end's: PostgreSQL listens here
    address: str  # the namespace's end: its processes' source address


def _addresses(number: int) -> tuple[str, str]:
    return f"10.{SUBNET}.{number}.1", f"10.{SUBNET}.{number}.2"


@dataclass
class Veth(Link):
    """A veth pair, the namespace's only way out."""

    def cut(self) -> None:
        """Take the link down: packets go nowhere, and nobody is told."""
        ip("link", "set", self.host_device, "down")

    def heal(self) -> None:
        ip("link", "set", self.host_device, "up")


@contextlib.contextmanager
def veth(ns: Namespace, number: int) -> Iterator[Veth]:
    """A veth pair between the root namespace and ``ns``; deleted afterwards."""
    host_address, address = _addresses(number)
    host_device = unique_name(f"v{number}")
    peer = unique_name(f"p{number}")
    with contextlib.suppress(RuntimeError):
        ip("link", "delete", host_device)
    ip("link", "add", host_device, "type", "veth", "peer", "name", peer)
    try:
        ip("link", "set", peer, "netns", ns.name)
        ip("address", "add", f"{host_address}/30", "dev", host_device)
        ip("link", "set", host_device, "up")
        ip("-n", ns.name, "address", "add", f"{address}/30", "dev", peer)
        ip("-n", ns.name, "link", "set", peer, "up")
        yield Veth(ns, host_device, host_address, address)
    finally:
        with contextlib.suppress(RuntimeError):  # gone with its namespace
            ip("link", "delete", host_device)


@dataclass
class ImpairedLink(Link):
    """Two TUN devices with a packet-forwarding process between them.

    ``impair`` sets the delay and loss of each direction at once, as netem
    on both ends of a link would.
    """

    process: subprocess.Popen[str] | None = None

    def _ask(self, line: str) -> str:
        assert self.process is not None
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def impair(self, delay: float, loss: float) -> None:
        """Delay every packet by ``delay`` seconds; drop ``loss`` of them."""
        assert self._ask(f"set {delay} {loss}") == "ok"

    def stats(self) -> dict[str, int]:
        """Packets forwarded and dropped, each way, so far."""
        counts: dict[str, int] = json.loads(self._ask("stats"))
        return counts


@contextlib.contextmanager
def impaired_link(ns: Namespace, number: int, seed: int = 1) -> Iterator[ImpairedLink]:
    """A TUN link between the root namespace and ``ns``, unimpaired at first.

    The TUN devices belong to the forwarding process: they go with it.
    """
    host_address, address = _addresses(number)
    host_device = unique_name(f"t{number}")
    peer = unique_name(f"u{number}")
    command = ["-m", "tests.support.netns", "impair", ns.name, host_device, peer]
    process = subprocess.Popen(
        [sys.executable, *command, str(seed)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        assert ready == "ready", f"the impairer did not start: {ready!r}"
        ip("address", "add", host_address, "peer", address, "dev", host_device)
        ip("link", "set", host_device, "up")
        ip("-n", ns.name, "address", "add", address, "peer", host_address, "dev", peer)
        ip("-n", ns.name, "link", "set", peer, "up")
        yield ImpairedLink(ns, host_device, host_address, address, process)
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


# The forwarding process (python -m tests.support.netns impair ...).

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name: str) -> int:
    """A new TUN device ``name`` in this thread's namespace: its packets' fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def enter_namespace(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


@dataclass
class Direction:
    """Packets read from one device, written to the other after a delay."""

    name: str
    source: int
    target: int
    forwarded: int = 0
    dropped: int = 0


@dataclass
class Impairer:
    """Forwards packets between two TUN devices with a delay and a loss rate."""

    directions: list[Direction]
    rng: random.Random
    delay: float = 0.0
    loss: float = 0.0
    # (due time, sequence, target fd, packet): a fixed delay keeps the order.
    queue: list[tuple[float, int, int, bytes]] = field(default_factory=list)
    sequence: Any = field(default_factory=itertools.count)

    def receive(self, direction: Direction) -> None:
        while True:
            try:
                packet = os.read(direction.source, 65536)
            except BlockingIOError:
                return
            if self.loss and self.rng.random() < self.loss:
                direction.dropped += 1
                continue
            direction.forwarded += 1
            due = time.monotonic() + self.delay
            heapq.heappush(
                self.queue, (due, next(self.sequence), direction.target, packet)
            )

    def send_due(self) -> float | None:
        """Write every packet whose time has come; seconds until the next."""
        while self.queue:
            due, _, target, packet = self.queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                return wait
            heapq.heappop(self.queue)
            with contextlib.suppress(OSError):  # a device down drops it
                os.write(target, packet)
        return None

    def command(self, line: str) -> str:
        words = line.split()
        if words[:1] == ["set"]:
            self.delay, self.loss = float(words[1]), float(words[2])
            return "ok"
        if words[:1] == ["stats"]:
            counts = {}
            for direction in self.directions:
                counts[f"{direction.name} forwarded"] = direction.forwarded
                counts[f"{direction.name} dropped"] = direction.dropped
            return json.dumps(counts)
        return f"unknown command {line!r}"


def impair_main(namespace_name: str, host_device: str, peer: str, seed: str) -> None:
    """Make the two devices, say "ready", forward until stdin closes."""
    host_fd = open_tun(host_device)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter_namespace(f"/run/netns/{namespace_name}")
    peer_fd = open_tun(peer)
    enter_namespace(f"/proc/self/fd/{home}")
    impairer = Impairer(
        [Direction("in", host_fd, peer_fd), Direction("out", peer_fd, host_fd)],
        random.Random(int(seed)),
    )
    selector = selectors.DefaultSelector()
    for direction in impairer.directions:
        selector.register(direction.source, selectors.EVENT_READ, direction)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(timeout=impairer.send_due()):
            if key.data is not None:
                impairer.receive(key.data)
                continue
            line = sys.stdin.readline()
            if not line:
                return
            print(impairer.command(line), flush=True)


# PostgreSQL.


@dataclass
class Cluster:
    """A PostgreSQL server of the test's own."""

    port: int
    directory: Path

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def settings(self, name: str, host: str = "127.0.0.1") -> dict[str, Any]:
        """A Django DATABASES entry for database ``name``, reached at ``host``."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": host,
            "PORT": str(self.port),
            "USER": "postgres",
            "PASSWORD": "",
        }

    def connect(self, name: str = "postgres") -> Any:
        import psycopg  # noqa: PLC0415 (the impairer process needs no driver)

        return psycopg.connect(
            dbname=name, host="127.0.0.1", port=self.port, user="postgres",
            autocommit=True, connect_timeout=5,
        )  # fmt: skip

    def create_database(self, name: str) -> dict[str, Any]:
        with self.connect() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.settings(name)


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the postgres user: initdb refuses root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def postgres_cluster(listen: list[str]) -> Iterator[Cluster]:
    """A new cluster listening on 127.0.0.1 and ``listen``; removed afterwards.

    Trust authentication from 127.0.0.1 and from the links' addresses only.
    Durability is off (fsync): the cluster lives as long as one test module.
    """
    from tests.support.processes import free_port  # noqa: PLC0415

    binaries = postgres_bin()
    assert binaries is not None
    directory = Path(tempfile.mkdtemp(prefix="esbank-netns-pg-"))
    data = directory / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(free_port(), directory)
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres"]
    subprocess.run(
        _as_postgres([*initdb, "--auth=trust", "--encoding=UTF8", "--no-sync"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all postgres 10.{SUBNET}.0.0/16 trust\n")
    settings = {
        "listen_addresses": f"'{','.join(['127.0.0.1', *listen])}'",
        "port": str(cluster.port),
        "unix_socket_directories": f"'{directory}'",
        "fsync": "off",
        "full_page_writes": "off",
        "track_commit_timestamp": "on",
        "log_disconnections": "on",
        "log_line_prefix": "'%m [%p] %r %a: '",
        "log_timezone": "'UTC'",
        "max_connections": "200",
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
    pg_ctl = str(binaries / "pg_ctl")
    started = False
    try:
        log = ["-l", str(cluster.log_path)]
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), *log, "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
            timeout=90,
        )
        started = True
        yield cluster
    finally:
        if started:
            subprocess.run(
                _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(directory, ignore_errors=True)


def tcp_round_trip(host: str, port: int, tries: int = 5) -> float:
    """The quickest of ``tries`` TCP connects to ``host``: the round trip."""
    times = []
    for _ in range(tries):
        started = time.monotonic()
        with socket.create_connection((host, port), timeout=10):
            times.append(time.monotonic() - started)
    return min(times)


if __name__ == "__main__":
    if sys.argv[1:2] == ["impair"]:
        impair_main(*sys.argv[2:6])
    else:
        sys.exit(f"usage: {sys.argv[0]} impair NAMESPACE HOST_DEVICE PEER SEED")
