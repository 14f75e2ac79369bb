"""A bogus-login flood, with real password hashing, and a signed-in customer.

Each failed login costs a deliberately slow hash (Django's PBKDF2), made-up
usernames included. Before the login throttle, twelve threads sending 35 bad
logins in 12 s took a signed-in customer's dashboard from 26 ms to about
4 s. Here gunicorn's web processes run the site's own settings
(``esbank_site.settings``: PBKDF2, not the tests' MD5), behind a proxy of
one (``DJANGO_PROXY_COUNT=1``, every client named by ``X-Forwarded-For``),
with the login throttle's production limits; the users' passwords are
hashed with PBKDF2 too.

A customer signs in and reads the dashboard, first alone, then while twelve
threads send bounded bogus logins (four a second each, for a few seconds):
four from one address, six from a new address every time, two with HTTP
Basic credentials to the staff feed from new addresses. The flood must be
answered only with the login form again, 401 or 429 with ``Retry-After``;
its password checks must stay within one per web process and turn of the
site-wide rate; the customer's pages must all be 200. The customer's
latency with and without the flood, and their ratio, are printed, not
asserted: the target is within 2x.
"""

from __future__ import annotations

import base64
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.http_workload import (
    HttpClient,
    Recorder,
    _csrf_of,
    gunicorn_site,
    report_line,
)
from tests.support.processes import PASSWORD, REPO, process_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.http_workload import Exchange

LOGIN = "/accounts/login/"
FEED = "/staff/notifications/1,10/"
WORKERS = 3
# The production defaults (esbank_site/settings.py); the tests' own
# environment switches the throttle off.
PER_ADDRESS_PER_MINUTE = 10
PER_MINUTE = 30
TURN_SECONDS = 60 / PER_MINUTE
FLOODERS = 12
ATTEMPTS_PER_SECOND_EACH = 4
FLOOD_SECONDS = 4.0
READS_ALONE = 40
CUSTOMER_ADDRESS = "198.51.100.7"
FLOODER_ADDRESS = "203.0.113.9"


def create_users_hashed_as_in_production(database: dict[str, Any]) -> None:
    """A customer and a staff user, their passwords hashed with PBKDF2."""
    script = (
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user('carol', password={PASSWORD!r})\n"
        f"User.objects.create_user('sam', password={PASSWORD!r}, is_staff=True)\n"
        "assert User.objects.get(username='carol').password.startswith('pbkdf2_')\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO,
        env=process_env(database, DJANGO_SETTINGS_MODULE="esbank_site.settings"),
        check=True,
        capture_output=True,
        timeout=60,
    )


class Flooder(threading.Thread):
    """Bogus logins at a bounded rate until the deadline, each from ``address``."""

    def __init__(self, client: HttpClient, number: int, kind: str, start: float):
        super().__init__(name=f"flooder-{number}", daemon=True)
        self.client = client
        self.number = number
        self.kind = kind  # "one address", "new addresses" or "feed"
        self.start_at = start
        self.answers: list[Exchange] = []
        self.error: BaseException | None = None

    def address(self, attempt: int) -> str:
        if self.kind == "one address":
            return FLOODER_ADDRESS
        return f"198.18.{self.number}.{attempt % 250 + 1}"

    def run(self) -> None:
        try:
            attempt = 0
            while True:
                # A bounded flood: the attempt's moment, on a fixed schedule.
                due = self.start_at + attempt / ATTEMPTS_PER_SECOND_EACH
                if due >= self.start_at + FLOOD_SECONDS:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                self.client.headers["X-Forwarded-For"] = self.address(attempt)
                self.answers.append(self.attempt(f"made-up-{self.number}-{attempt}"))
                attempt += 1
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.error = error

    def attempt(self, username: str) -> Exchange:
        if self.kind == "feed":
            token = base64.b64encode(f"{username}:guess".encode()).decode()
            self.client.headers["Authorization"] = f"Basic {token}"
            return self.client.get(FEED)
        fields = {
            "username": username,
            "password": "guess",
            "csrfmiddlewaretoken": self.client.csrf,
        }
        return self.client.request("POST", LOGIN, fields)


def flooders(base_url: str, recorder: Recorder, start: float) -> list[Flooder]:
    kinds = ["one address"] * 4 + ["new addresses"] * 6 + ["feed"] * 2
    threads = []
    for number, kind in enumerate(kinds):
        client = HttpClient(base_url, f"flooder-{number}", recorder)
        # A flooder fetches the login form once, for its CSRF cookie and token.
        client.csrf = _csrf_of(client.request("GET", LOGIN, record=False).body)
        threads.append(Flooder(client, number, kind, start))
    return threads


def read_while(customer: HttpClient, busy: Any) -> list[Exchange]:
    reads = []
    while busy():
        reads.append(customer.get("/"))
    return reads


def milliseconds(reads: list[Exchange], quantile: float) -> float:
    times = sorted(read.elapsed for read in reads)
    return 1000 * times[min(len(times) - 1, int(quantile * len(times)))]


@pytest.mark.multiprocess
def test_a_bogus_login_flood_leaves_signed_in_customers_their_speed(
    tmp_path: Path,
) -> None:
    with gunicorn_site(
        tmp_path,
        workers=WORKERS,
        DJANGO_SETTINGS_MODULE="esbank_site.settings",
        DJANGO_PROXY_COUNT="1",
        ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE=str(PER_ADDRESS_PER_MINUTE),
        ESBANK_LOGIN_ATTEMPTS_PER_MINUTE=str(PER_MINUTE),
    ) as site:
        create_users_hashed_as_in_production(site.database or {})
        site.accounts_for(["carol"], 1, "100.00")
        recorder = Recorder()
        proxied = {"X-Forwarded-For": CUSTOMER_ADDRESS}
        customer = HttpClient(site.base_url, "carol", recorder, headers=proxied)
        customer.log_in()
        for _ in range(5):  # warm the worker's caches and connections
            customer.get("/")
        alone = [customer.get("/") for _ in range(READS_ALONE)]

        start = time.monotonic() + 0.5
        threads = flooders(site.base_url, recorder, start)
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, start - time.monotonic()))
        during = read_while(customer, lambda: any(t.is_alive() for t in threads))
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} did not finish"
            if thread.error is not None:
                raise thread.error
        answers = [a for t in threads for a in t.answers]
        flood_seconds = max(a.started + a.elapsed for a in answers) - min(
            a.started for a in answers
        )
        # Signed in all along, and the customer's session still works.
        after = customer.get("/")

    for read in [*alone, *during, after]:
        assert read.status == HTTPStatus.OK, (read.status, read.body[:300])
        assert 'id="customer-total"' in read.body
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {
        HTTPStatus.OK,  # the login form again, with its error
        HTTPStatus.UNAUTHORIZED,  # the feed's wrong Basic credentials
        HTTPStatus.TOO_MANY_REQUESTS,
    }, statuses
    refused = [a for a in answers if a.status == HTTPStatus.TOO_MANY_REQUESTS]
    checked = len(answers) - len(refused)
    assert refused
    assert all(int(a.headers["retry-after"]) >= 1 for a in refused)
    by_kind = {
        thread.kind: Counter(a.status for a in thread.answers) for thread in threads
    }
    assert all(HTTPStatus.TOO_MANY_REQUESTS in kind for kind in by_kind.values())
    # The site-wide rate: one password check per web process and turn.
    turns = int(flood_seconds // TURN_SECONDS) + 2
    assert checked <= WORKERS * turns, (checked, flood_seconds)

    alone_ms, during_ms = milliseconds(alone, 0.5), milliseconds(during, 0.5)
    print(
        report_line(
            "login flood (gunicorn, PBKDF2)",
            attempts=len(answers),
            seconds=f"{flood_seconds:.1f}",
            per_second=f"{len(answers) / flood_seconds:.0f}",
            passwords_checked=checked,
            refused_429=len(refused),
            statuses=dict(sorted(statuses.items())),
        ).lstrip("\n")
    )
    print(
        report_line(
            "customer dashboard",
            reads_alone=len(alone),
            median_alone_ms=f"{alone_ms:.1f}",
            p90_alone_ms=f"{milliseconds(alone, 0.9):.1f}",
            reads_during_flood=len(during),
            median_during_ms=f"{during_ms:.1f}",
            p90_during_ms=f"{milliseconds(during, 0.9):.1f}",
        ).lstrip("\n")
    )
    mean_alone = statistics.fmean(read.elapsed for read in alone)
    mean_during = statistics.fmean(read.elapsed for read in during)
    print(
        f"latency during the flood / alone (target: within 2x): median "
        f"{during_ms / alone_ms:.2f}x, mean {mean_during / mean_alone:.2f}x "
        f"({mean_during * 1000:.1f} ms vs {mean_alone * 1000:.1f} ms)"
    )
