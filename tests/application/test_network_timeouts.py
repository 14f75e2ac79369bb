"""PostgreSQL connections give up on a silent network, at both ends.

``ESBANK_DB_NETWORK_TIMEOUT`` (esbank_site/persistence/network.py) becomes
keepalives and ``TCP_USER_TIMEOUT`` on the client's socket, and the same
for the session at the server; the workers' lock connections also get an
idle-session timeout. These tests read what each kind of connection really
got, from its socket and from the server. What it buys, a standby taking
over from a processor cut off by the network within that bound, is shown
in tests/multiprocess/test_partitions.py.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
from contextlib import closing
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from esbank_site.bank import Bank
from esbank_site.persistence.environment import ConnectionSettings, eventsourcing_env
from esbank_site.persistence.network import client_keepalives, server_options
from esbank_site.runtime.workers import FollowerWorker, WorkerOptions
from tests.support.processes import REPO, process_env

if TYPE_CHECKING:
    from collections.abc import Iterator

SECONDS = 7


def socket_timeouts(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """The client socket's (SO_KEEPALIVE, TCP_USER_TIMEOUT in ms)."""
    with closing(socket.socket(fileno=os.dup(conn.fileno()))) as sock:
        return (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        )


def server_settings(conn: psycopg.Connection[Any], *names: str) -> list[str]:
    """What the server has for this session."""
    values = []
    for name in names:
        row = conn.execute(f"SHOW {name}").fetchone()
        values.append(
            str(next(iter(row.values())) if isinstance(row, dict) else row[0])
        )
    return values


def test_the_timeout_becomes_keepalives_and_a_user_timeout() -> None:
    assert client_keepalives(15) == {
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 15000,
    }
    assert server_options(15) == (
        "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
        "-c tcp_keepalives_count=3 -c tcp_user_timeout=15000"
    )
    assert client_keepalives(2)["keepalives_idle"] == 1
    assert client_keepalives(0) == {}
    assert server_options(0) == ""


@pytest.fixture
def bank_with_timeout(postgres_database: dict[str, Any]) -> Iterator[Bank]:
    connections = dataclasses.replace(
        ConnectionSettings.from_django(), network_timeout=SECONDS
    )
    bank = Bank(
        eventsourcing_env(postgres_database, connections=connections),
        process_inline=False,
    )
    try:
        yield bank
    finally:
        bank.close()


def test_the_event_stores_connections_give_up_at_both_ends(
    bank_with_timeout: Bank,
) -> None:
    datastore = bank_with_timeout.accounts.factory.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        assert socket_timeouts(conn) == (1, SECONDS * 1000)
        assert server_settings(
            conn, "tcp_user_timeout", "tcp_keepalives_idle", "lock_timeout"
        ) == ["7000", "2", "5s"]


def test_djangos_connection_gives_up_at_both_ends(
    postgres_database: dict[str, Any],
) -> None:
    script = (
        "import os, socket\n"
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('SHOW tcp_user_timeout')\n"
        "sock = socket.socket(fileno=os.dup(connection.connection.fileno()))\n"
        "print(cursor.fetchone()[0], "
        "sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO,
        env=process_env(postgres_database, ESBANK_DB_NETWORK_TIMEOUT=str(SECONDS)),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.splitlines()[-1].split() == ["7000", "7000"]


def test_a_workers_lock_connection_gives_up_and_its_idle_session_ends(
    bank_with_timeout: Bank, postgres_database: dict[str, Any]
) -> None:
    [ledger] = [p for p in bank_with_timeout.processors if p.name == "Ledger"]
    options = WorkerOptions(
        network_timeout=SECONDS,
        poll_interval=1.0,
        gather_seconds=0.5,
        standby_interval=2.0,
    )
    worker = FollowerWorker(ledger, postgres_database, threading.Event(), options)
    with worker._connect() as conn:  # the lock connection
        assert socket_timeouts(conn) == (1, SECONDS * 1000)
        # The network timeout past the longest a well worker idles there:
        # here its standby interval.
        assert server_settings(conn, "tcp_user_timeout", "idle_session_timeout") == [
            "7000",
            "9s",
        ]
    off = FollowerWorker(
        ledger,
        postgres_database,
        threading.Event(),
        dataclasses.replace(options, network_timeout=0),
    )
    with off._connect() as conn:
        assert socket_timeouts(conn)[1] == 0
        assert server_settings(conn, "tcp_user_timeout", "idle_session_timeout") == [
            "0",
            "0",
        ]
