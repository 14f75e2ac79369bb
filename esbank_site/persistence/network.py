"""PostgreSQL connections that give up on a silent network, at both ends.

A network that fails silently (a cut link, a partition, a machine that
vanished without closing its connections) sends no FIN and no RST: without
more, each end of a connection waits on the other for the kernel's
defaults, two hours of idle before the first keepalive, or about fifteen
minutes of retransmissions when it has data to send. For
``run_processors`` that is fatal to a failover: PostgreSQL keeps the cut-off
worker's session, and with it the advisory lock that names the worker as
the one processing a follower, and the standby waits as long.

``ESBANK_DB_NETWORK_TIMEOUT`` (seconds, 15 by default; 0 leaves the
kernel's defaults) bounds that wait on every connection the site opens to
PostgreSQL, Django's, the event store's pools and the workers' own:

- at the client, libpq's ``keepalives`` and ``tcp_user_timeout``: a query
  on a dead connection fails after that long, instead of hanging;
- at the server, the same values for the session (``tcp_keepalives_*`` and
  ``tcp_user_timeout``, passed in the connection's ``options``, so no
  server configuration is needed): the server ends a session whose client
  stopped answering after that long, releasing its locks.

Keepalive probes start after a third of the timeout and repeat every
sixth, so the connection is given up after the timeout whether it was idle
(no answer to the probes) or busy (no acknowledgement of the data sent).
Over a Unix socket PostgreSQL ignores these settings, as there is no
network to fail.
"""

from __future__ import annotations

from typing import Any

# How many keepalive probes go unanswered before a connection is given up,
# where the platform has no TCP_USER_TIMEOUT (Linux has: it decides there).
KEEPALIVE_PROBES = 3


def _keepalive_seconds(timeout: int) -> tuple[int, int]:
    """Seconds of silence before the first probe, and between probes."""
    return max(1, timeout // 3), max(1, timeout // 6)


def client_keepalives(timeout: int) -> dict[str, Any]:
    """libpq's connection parameters that give up after ``timeout`` seconds.

    Empty for 0: the kernel's defaults.
    """
    if not timeout:
        return {}
    idle, interval = _keepalive_seconds(timeout)
    return {
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": KEEPALIVE_PROBES,
        "tcp_user_timeout": timeout * 1000,
    }


def server_options(timeout: int) -> str:
    """The ``options`` that make the server give up after ``timeout`` seconds.

    Empty for 0: the server's settings.
    """
    if not timeout:
        return ""
    idle, interval = _keepalive_seconds(timeout)
    return (
        f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval={interval} "
        f"-c tcp_keepalives_count={KEEPALIVE_PROBES} "
        f"-c tcp_user_timeout={timeout * 1000}"
    )
