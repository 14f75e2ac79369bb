"""manage.py follow_notifications, against the live feed over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from io import StringIO

import pytest
from django.contrib.auth.signals import user_logged_in
from django.core.management import CommandError, call_command

from esbank_site.feed.follower import notification_to_json
from esbank_site.management.commands.follow_notifications import (
    Command as FollowNotifications,
)
from tests.support.feed import CUSTOMER_PASSWORD, STAFF_PASSWORD, record_history

pytestmark = pytest.mark.urls("tests.feed.urls")


@pytest.fixture
def feed_url(live_server, staff, monkeypatch) -> str:
    monkeypatch.setenv("ESBANK_FEED_PASSWORD", STAFF_PASSWORD)
    return f"{live_server.url}/staff/notifications/"


def follow(url: str, *args: str, user: str = "feeder") -> tuple[str, str]:
    """Run the command; return what it printed on stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command(
        "follow_notifications", url, "--user", user, *args, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def printed_ids(output: str) -> list[int]:
    """The positions at the start of each printed event line."""
    return [
        int(line.split()[0])
        for line in output.splitlines()
        if line.strip() and line.split()[0].isdigit()
    ]


def recorded(bank):
    return list(bank.accounts.recorder.select_notifications(start=1, limit=1000))


def test_prints_every_notification_once_in_order(feed_url, history):
    logins = []

    def count(sender, user, **kwargs):
        logins.append(user.username)

    user_logged_in.connect(count)
    try:
        out, err = follow(feed_url)
    finally:
        user_logged_in.disconnect(count)

    notifications = recorded(history)
    assert printed_ids(out) == [n.id for n in notifications] == list(range(1, 17))
    lines = out.splitlines()
    for line, notification in zip(lines, notifications, strict=False):
        assert notification.topic in line
        assert (
            f"{notification.originator_id} v{notification.originator_version}" in line
        )
    assert '"amount": "1.25"' in out  # decoded state of the first deposit
    assert "_row" not in out  # the bank's own mapper checked and removed it
    assert lines[-1] == "Read 16 notifications, up to 16."
    assert err == ""
    # Two sections, one password check: the client kept the session cookie.
    assert logins == ["feeder"]


def test_starts_from_a_given_position(feed_url, history):
    out, _ = follow(feed_url, "--from", "12")
    assert printed_ids(out) == [12, 13, 14, 15, 16]
    out, _ = follow(feed_url, "--from", "16")
    assert out.splitlines()[-1] == "Read 1 notification, up to 16."


def test_mirror_copies_every_notification_and_resumes(feed_url, history, tmp_path):
    mirror = tmp_path / "accounts.jsonl"
    out, _ = follow(feed_url, "--mirror", str(mirror))
    assert printed_ids(out) == list(range(1, 17))
    assert out.splitlines()[-1].endswith(f"{mirror} ends at notification 16.")

    record_history(history, owner="dave")
    out, _ = follow(feed_url, "--mirror", str(mirror))
    assert printed_ids(out) == list(range(17, 33))

    out, _ = follow(feed_url, "--mirror", str(mirror))
    assert printed_ids(out) == []
    assert out.splitlines()[-1].startswith("No new notifications.")

    mirrored = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert mirrored == [notification_to_json(n) for n in recorded(history)]
    assert len(mirrored) == 32


def test_a_mirror_refuses_a_start_that_would_skip_or_repeat(
    feed_url, history, tmp_path
):
    mirror = tmp_path / "accounts.jsonl"
    follow(feed_url, "--mirror", str(mirror), "--from", "1")
    with pytest.raises(CommandError, match="resumes from 17, not 3: leave out --from"):
        follow(feed_url, "--mirror", str(mirror), "--from", "3")


def test_follows_new_events_until_sigterm(feed_url, history):
    out = StringIO()
    previous_handler = signal.getsignal(signal.SIGTERM)

    def wait_for(position: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if position in printed_ids(out.getvalue()):
                return True
            time.sleep(0.02)
        return False

    def meanwhile() -> None:
        deadline = time.monotonic() + 20
        if wait_for(16, deadline):
            record_history(history, owner="dave")
            wait_for(32, deadline)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=meanwhile)
    thread.start()
    try:
        call_command(
            "follow_notifications",
            feed_url,
            "--user",
            "feeder",
            "--follow",
            "--poll-interval",
            "0.05",
            stdout=out,
            stderr=StringIO(),
        )
    finally:
        thread.join()
    assert printed_ids(out.getvalue()) == list(range(1, 33))
    assert out.getvalue().splitlines()[-1] == (
        "Stopped. Read 32 notifications, up to 32."
    )
    assert signal.getsignal(signal.SIGTERM) is previous_handler


def test_wrong_password_is_a_clear_error(feed_url, monkeypatch):
    monkeypatch.setenv("ESBANK_FEED_PASSWORD", "not-the-password")
    with pytest.raises(
        CommandError, match=r"refused the credentials of 'feeder' \(401\)"
    ):
        follow(feed_url)


def test_customers_are_told_the_feed_is_for_staff(feed_url, customer, monkeypatch):
    monkeypatch.setenv("CAROL_PASSWORD", CUSTOMER_PASSWORD)
    with pytest.raises(CommandError, match=r"'carol' may not read .* \(403\)"):
        follow(feed_url, "--password-env", "CAROL_PASSWORD", user="carol")


def test_the_password_must_come_from_the_environment(feed_url, monkeypatch):
    monkeypatch.delenv("ESBANK_FEED_PASSWORD")
    with pytest.raises(CommandError, match="Set the environment variable ESBANK_FEED"):
        follow(feed_url)


def test_an_unreachable_bank_is_a_clear_error(django_bank, monkeypatch):
    monkeypatch.setenv("ESBANK_FEED_PASSWORD", "x")
    with pytest.raises(
        CommandError, match=re.escape("Cannot reach http://127.0.0.1:1/")
    ):
        follow("http://127.0.0.1:1/staff/notifications/")


def test_a_silent_bank_times_out(django_bank, monkeypatch):
    monkeypatch.setenv("ESBANK_FEED_PASSWORD", "x")
    # A socket that is listening (connections succeed) but never answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        url = f"http://127.0.0.1:{port}/staff/notifications/"
        started = time.monotonic()
        with pytest.raises(CommandError, match=r"Cannot reach .*timed out"):
            follow(url, "--timeout", "0.3")
    assert time.monotonic() - started < 5


def test_plain_http_beyond_this_machine_is_warned_about(django_bank, monkeypatch):
    monkeypatch.setenv("ESBANK_FEED_PASSWORD", "x")
    err = StringIO()
    with pytest.raises(CommandError, match="Cannot reach"):
        call_command(
            "follow_notifications",
            "http://192.0.2.1:81/staff/notifications/",  # TEST-NET: nobody there
            "--user",
            "feeder",
            "--timeout",
            "0.5",
            stdout=StringIO(),
            stderr=err,
        )
    assert "is not HTTPS: the password crosses the network in clear" in err.getvalue()


def test_a_page_that_redirects_is_not_followed(feed_url, live_server):
    # A stand-in for any page of the site, which sends visitors to log in.
    with pytest.raises(CommandError, match="redirected to /accounts/login/"):
        follow(f"{live_server.url}/members-only/")


def test_a_wrong_path_is_a_clear_error(feed_url, live_server):
    with pytest.raises(CommandError, match=r"Nothing at .*/nowhere/1,10/ \(404\)"):
        follow(f"{live_server.url}/nowhere/")


def test_json_that_is_not_a_section_is_a_clear_error(feed_url, live_server):
    with pytest.raises(CommandError, match="is not a notification log section"):
        follow(f"{live_server.url}/not-a-feed/")


def test_help_teaches_by_example():
    command = FollowNotifications()
    text = command.create_parser("manage.py", "follow_notifications").format_help()
    assert "--user staff --follow --mirror accounts.jsonl" in text
    assert "never\nfrom the command line" in text  # line breaks kept
    assert "(default: ESBANK_FEED_PASSWORD)" in " ".join(text.split())
