"""Login floods and lockouts: refused before any hashing, never turned on a victim.

``LoginThrottleMiddleware`` answers 429 with ``Retry-After`` to a login
form POST, or to a feed request with HTTP Basic credentials, once the
client's address or the whole site is past its rate, before the view runs:
``hashes`` counts every password the hashers compute, and a refusal adds
none. The lockout (django-axes) counts a username's failures per address,
so an attacker's failures lock out the attacker's address only, for the
form and the feed alike; behind a proxy that address is read from
``X-Forwarded-For`` (``esbank_site/web/addresses.py``), never the proxy's.

The throttle's clock (``login_throttle.now``) is frozen at 30 seconds into
a minute, so no test straddles two windows or turns.
"""

from __future__ import annotations

import base64
from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import get_hashers
from django.test import Client, RequestFactory, override_settings

from esbank_site.web import login_throttle
from esbank_site.web.addresses import client_address
from esbank_site.web.security import seconds_to_wait

LOGIN = "/accounts/login/"
FEED = "/staff/notifications/1,10/"
PROXY = "10.0.0.2"  # the load balancer, as gunicorn sees it
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
NOW = 1_800_000_030.0


@pytest.fixture
def clock(monkeypatch):
    """The throttle's time, settable, starting 30 seconds into a minute.

    This process's site-wide turns begin on the clock's whole turns
    (a phase of 0), so their ``Retry-After`` is known.
    """
    now = [NOW]
    monkeypatch.setattr(login_throttle, "now", lambda: now[0])
    monkeypatch.setattr(login_throttle, "turn_phase", lambda: 0.0)
    return now


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hashed, by whichever of the site's hashers.

    Each hasher's ``encode`` makes the slow hash, for a new password (and
    for a made-up username, which Django hashes anyway) and to verify one.
    """
    calls: list[str] = []
    for hasher in get_hashers():
        cls = type(hasher)
        original = cls.encode

        def encode(self, *args, _original=original, **kwargs):
            calls.append(self.algorithm)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "encode", encode)
    return calls


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def log_in(client: Client, username: str, password: str, **headers: str):
    data = {"username": username, "password": password}
    return client.post(LOGIN, data, headers=headers)


def read_feed(client: Client, username: str, password: str, **headers: str):
    return client.get(FEED, headers=basic(username, password) | headers)


def assert_throttled(response, *, retry_after: int, json: bool) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Retry-After"] == str(retry_after)
    if json:
        assert f"wait {retry_after} seconds" in response.json()["error"]
    else:
        assert f"wait {retry_after} seconds" in response.content.decode()
        assert "Login paused" in response.content.decode()


# (a) A flood from one address.


@override_settings(
    ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE=3, ESBANK_LOGIN_ATTEMPTS_PER_MINUTE=0
)
def test_a_flood_from_one_address_is_refused_before_any_hashing(
    django_bank, alice, staff, clock, hashes
):
    flooder = Client(REMOTE_ADDR=ATTACKER)
    checked = [log_in(flooder, f"made-up-{n}", "guess").status_code for n in range(3)]
    assert checked == [200, 200, 200]  # the form again, with its error
    assert len(hashes) == 3
    refused = [log_in(flooder, f"made-up-{n}", "guess") for n in range(3, 40)]
    for response in refused:
        assert_throttled(response, retry_after=30, json=False)
    # Not even the right password is checked now, nor any Basic credentials.
    assert_throttled(
        log_in(flooder, "alice", "alice-secret-1"), retry_after=30, json=False
    )
    assert_throttled(
        read_feed(flooder, "staff", "staff-secret-1"), retry_after=30, json=True
    )
    assert "_auth_user_id" not in flooder.session
    assert len(hashes) == 3
    print(
        f"\none address: {len(checked)} attempts checked, "
        f"{len(refused) + 2} refused, {len(hashes)} passwords hashed"
    )
    # Anyone else is let through, and the flooder is next minute.
    victim = Client(REMOTE_ADDR=VICTIM)
    assert log_in(victim, "alice", "alice-secret-1").status_code == 302
    clock[0] += 30
    assert log_in(flooder, "alice", "alice-secret-1").status_code == 302


@override_settings(ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE=2)
def test_what_checks_no_password_is_not_counted(django_bank, staff_client, clock):
    anonymous = Client()
    for _ in range(5):
        assert anonymous.get(LOGIN).status_code == 200
        # A staff session reads the feed without its credentials being checked.
        assert staff_client.get(FEED).status_code == 200
        response = staff_client.get(FEED, headers=basic("staff", "wrong"))
        assert response.status_code == 200
        # A feed request without credentials is challenged, not checked.
        assert anonymous.get(FEED).status_code == 401
    assert log_in(anonymous, "staff", "staff-secret-1").status_code == 302


# (b) A flood from many addresses, past the site's rate.


@pytest.mark.parametrize("addresses", ["remote-addr", "x-forwarded-for"])
@pytest.mark.usefixtures("alice")
def test_a_flood_from_many_addresses_gets_one_check_per_turn(
    clock, hashes, settings, addresses
):
    settings.ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE = 3
    # Six a minute: one turn every 10 seconds; the clock is 0 s into one.
    settings.ESBANK_LOGIN_ATTEMPTS_PER_MINUTE = 6
    clock[0] = 1_800_000_000.0
    if addresses == "x-forwarded-for":
        settings.PROXY_COUNT = 1

    def client(number: int) -> tuple[Client, dict[str, str]]:
        address = f"198.18.{number // 250}.{number % 250 + 1}"
        if addresses == "remote-addr":
            return Client(REMOTE_ADDR=address), {}
        return Client(REMOTE_ADDR=PROXY), {"X-Forwarded-For": address}

    flooder, headers = client(0)
    assert log_in(flooder, "made-up-0", "guess", **headers).status_code == 200
    assert len(hashes) == 1
    clock[0] += 3
    refused = []
    for number in range(1, 61):
        flooder, headers = client(number)
        if number % 3:
            refused.append(log_in(flooder, f"made-up-{number}", "guess", **headers))
        else:
            refused.append(read_feed(flooder, "staff", "guess", **headers))
    for response in refused:
        json = response.wsgi_request.path == FEED
        assert_throttled(response, retry_after=7, json=json)
        if not json:
            assert "too many attempts to log in just now" in response.content.decode()
    assert len(hashes) == 1
    print(
        f"\nmany addresses ({addresses}): {len(refused) + 1} attempts from as "
        f"many addresses, {len(refused)} refused, {len(hashes)} password hashed"
    )
    # The next turn lets one through: the customer, this time.
    clock[0] += 7
    customer, headers = client(999)
    assert log_in(customer, "alice", "alice-secret-1", **headers).status_code == 302
    latecomer, headers = client(1000)
    response = log_in(latecomer, "alice", "alice-secret-1", **headers)
    assert_throttled(response, retry_after=10, json=False)


@override_settings(ESBANK_LOGIN_ATTEMPTS_PER_MINUTE=6)
def test_a_refused_address_takes_no_turn_from_others(django_bank, alice, clock):
    with override_settings(ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE=1):
        flooder = Client(REMOTE_ADDR=ATTACKER)
        assert log_in(flooder, "made-up", "guess").status_code == 200
        clock[0] += 10  # the next turn
        for _ in range(5):
            response = log_in(flooder, "made-up", "guess")
            assert "from your address" in response.content.decode()
        customer = Client(REMOTE_ADDR=VICTIM)
        assert log_in(customer, "alice", "alice-secret-1").status_code == 302


def test_each_process_takes_its_turns_at_a_moment_of_its_own(monkeypatch, clock):
    # Ten-second turns; this process's begin 5 seconds into the clock's.
    monkeypatch.setattr(login_throttle, "turn_phase", lambda: 0.5)
    clock[0] = 1_800_000_000.0
    assert login_throttle.seconds_to_next_turn("site", 6) is None
    assert login_throttle.seconds_to_next_turn("site", 6) == 5
    clock[0] += 5
    assert login_throttle.seconds_to_next_turn("site", 6) is None
    assert login_throttle.seconds_to_next_turn("site", 6) == 10


@pytest.mark.usefixtures("clock")
def test_a_taken_turn_stays_taken_however_many_addresses_fill_the_cache():
    # The per-process cache holds 300 keys, then drops its least recently
    # used; each new address adds its count.
    assert login_throttle.seconds_to_next_turn("site", 6) is None
    refused = 0
    for number in range(2000):
        seconds_to_wait(f"login-address:198.18.{number // 250}.{number % 250}", 10)
        refused += login_throttle.seconds_to_next_turn("site", 6) is not None
    assert refused == 2000


def test_a_process_keeps_its_phase_and_another_gets_its_own(monkeypatch):
    monkeypatch.setattr(login_throttle, "_phases", {})
    monkeypatch.setattr(login_throttle.os, "getpid", lambda: 101)
    first = login_throttle.turn_phase()
    assert 0 <= first < 1
    assert login_throttle.turn_phase() == first
    monkeypatch.setattr(login_throttle.os, "getpid", lambda: 102)
    login_throttle.turn_phase()
    assert set(login_throttle._phases) == {101, 102}


# (c) An attacker's failures lock out the attacker's address, not the victim.


def test_failed_logins_elsewhere_never_lock_the_victim_out(
    django_bank, alice, staff, settings, hashes
):
    limit = settings.AXES_FAILURE_LIMIT
    attacker = Client(REMOTE_ADDR=ATTACKER)
    form = [log_in(attacker, "alice", "wrong").status_code for _ in range(limit + 2)]
    feed = [read_feed(attacker, "staff", "wrong").status_code for _ in range(limit + 2)]
    assert form == [200] * (limit - 1) + [429] * 3
    assert feed == [401] * (limit - 1) + [429] * 3
    # The attacker's address is locked out for those usernames, either way
    # in, and a locked-out attempt hashes nothing.
    hashed = len(hashes)
    assert log_in(attacker, "alice", "alice-secret-1").status_code == 429
    assert read_feed(attacker, "staff", "staff-secret-1").status_code == 429
    assert log_in(attacker, "staff", "staff-secret-1").status_code == 429
    assert len(hashes) == hashed
    # The victims, at their own address, are not.
    victim = Client(REMOTE_ADDR=VICTIM)
    assert log_in(victim, "alice", "alice-secret-1").status_code == 302
    machine = Client(REMOTE_ADDR=VICTIM)
    response = read_feed(machine, "staff", "staff-secret-1")
    assert response.status_code == 200
    assert "items" in response.json()


# (d) Behind a proxy: the address is the one the proxy saw.


@override_settings(PROXY_COUNT=1)
def test_behind_a_proxy_an_attacker_cannot_lock_the_victim_out(
    django_bank, alice, staff, settings
):
    limit = settings.AXES_FAILURE_LIMIT
    # Everyone reaches gunicorn through the proxy; it appends whom it served.
    attacker = Client(REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": ATTACKER})
    # An attacker writing the victim's address in the header gains nothing:
    # the proxy appends the attacker's own after it.
    forged = Client(
        REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": f"{VICTIM}, {ATTACKER}"}
    )
    for client in (attacker, forged):
        for _ in range(limit):
            log_in(client, "alice", "wrong")
            read_feed(client, "staff", "wrong")
    assert log_in(attacker, "alice", "alice-secret-1").status_code == 429
    assert read_feed(forged, "staff", "staff-secret-1").status_code == 429
    victim = Client(REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": VICTIM})
    assert log_in(victim, "alice", "alice-secret-1").status_code == 302
    machine = Client(REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": VICTIM})
    assert read_feed(machine, "staff", "staff-secret-1").status_code == 200


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "address"),
    [
        (0, "192.0.2.1", None, "192.0.2.1"),
        (0, "192.0.2.1", "203.0.113.5", "192.0.2.1"),  # no proxy: a forgery
        (1, PROXY, "203.0.113.5", "203.0.113.5"),
        (1, PROXY, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        (1, PROXY, " 2001:db8::1 ", "2001:db8::1"),
        (2, PROXY, "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "192.0.2.1", "203.0.113.5", "192.0.2.1"),  # did not pass both
        (1, "192.0.2.1", None, "192.0.2.1"),  # reached gunicorn directly
        (1, PROXY, "unknown", PROXY),
        (1, PROXY, "203.0.113.5:4711", PROXY),
        (1, PROXY, "", PROXY),
    ],
)
def test_the_client_address(proxies, remote, forwarded, address, settings):
    settings.PROXY_COUNT = proxies
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)
    assert client_address(request) == address
