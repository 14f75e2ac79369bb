"""Following a log: order, exactly once, retries, decoding, and the mirror file."""

from __future__ import annotations

import json
import os
import signal
import threading
from decimal import Decimal

import pytest
from eventsourcing.application import NotificationLog
from eventsourcing.cipher import AESCipher

from accounts.application import Accounts
from esbank_site.feed.client import FeedAuthenticationError, FeedUnavailableError
from esbank_site.feed.follower import (
    Mirror,
    MirrorError,
    accounts_mapper,
    decoded_state,
    describe,
    follow_log,
    notification_to_json,
)
from esbank_site.runtime.signals import stopping_on_signals


def in_memory_accounts(**env: str) -> Accounts:
    """Accounts as the bank stores them (row-bound state), in memory."""
    return Accounts(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "MAPPER_TOPIC": "esbank_site.persistence.row_binding:RowBindingMapper",
            **env,
        }
    )


@pytest.fixture
def accounts():
    accounts = in_memory_accounts()
    for number in range(4):
        account_id = accounts.open_account("dora", f"Pot {number}")
        accounts.deposit(account_id, Decimal("12.50"))
    yield accounts  # 20 notifications
    accounts.close()


class Flaky(NotificationLog):
    """A log whose sections fail, as a restarting server would, when told to."""

    def __init__(self, log: NotificationLog, failures: list[Exception]) -> None:
        self.log = log
        self.failures = failures
        self.requests: list[str] = []

    def __getitem__(self, section_id):
        self.requests.append(section_id)
        if self.failures:
            raise self.failures.pop(0)
        return self.log[section_id]

    def select(self, *args, **kwargs):
        raise NotImplementedError


def test_every_notification_is_handed_on_once_in_order(accounts):
    seen = []
    progress = follow_log(
        accounts.notification_log,
        start=1,
        on_notification=seen.append,
        stopping=threading.Event(),
    )
    assert [n.id for n in seen] == list(range(1, 21))
    assert (progress.count, progress.last_id, progress.stopped) == (20, 20, False)


def test_nothing_new_is_no_progress(accounts):
    progress = follow_log(
        accounts.notification_log,
        start=21,
        on_notification=pytest.fail,
        stopping=threading.Event(),
    )
    assert (progress.count, progress.last_id) == (0, None)


def test_following_polls_for_new_notifications_until_stopped(accounts):
    stopping = threading.Event()
    seen = []

    def on_notification(notification):
        seen.append(notification.id)
        if notification.id == 20:
            # New events arrive while the follower waits at the end.
            accounts.open_account("eve", "Later")
        if notification.id == 24:
            stopping.set()

    progress = follow_log(
        accounts.notification_log,
        start=1,
        on_notification=on_notification,
        stopping=stopping,
        follow=True,
        poll_interval=0.01,
    )
    assert seen == list(range(1, 25))
    assert progress.stopped


def test_a_follower_retries_transient_errors_once_the_feed_has_answered(accounts):
    stopping = threading.Event()
    log = Flaky(accounts.notification_log, [])
    retries = []
    seen = []

    def on_notification(notification):
        seen.append(notification.id)
        if notification.id == 20:
            log.failures.append(FeedUnavailableError("503"))
            accounts.open_account("eve", "Later")
        if notification.id == 24:
            stopping.set()

    follow_log(
        log,
        start=1,
        on_notification=on_notification,
        stopping=stopping,
        follow=True,
        poll_interval=0.01,
        on_retry=retries.append,
    )
    assert seen == list(range(1, 25))
    assert [str(error) for error in retries] == ["503"]


def test_a_first_answer_that_fails_is_raised_even_when_following(accounts):
    log = Flaky(accounts.notification_log, [FeedUnavailableError("503")])
    with pytest.raises(FeedUnavailableError):
        follow_log(
            log,
            start=1,
            on_notification=pytest.fail,
            stopping=threading.Event(),
            follow=True,
            on_retry=pytest.fail,
        )


def test_refused_credentials_are_never_retried(accounts):
    log = Flaky(accounts.notification_log, [])
    seen = []

    def on_notification(notification):
        seen.append(notification.id)
        log.failures.append(FeedAuthenticationError("401"))

    with pytest.raises(FeedAuthenticationError):
        follow_log(
            log,
            start=1,
            on_notification=on_notification,
            stopping=threading.Event(),
            follow=True,
            on_retry=pytest.fail,
        )
    assert seen == list(range(1, 11))


def test_signals_stop_a_follower_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with stopping_on_signals() as stopping:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopping.wait(5)
    assert signal.getsignal(signal.SIGTERM) is before


def test_describe_prints_position_topic_originator_and_state(accounts):
    [opened, *_] = accounts.notification_log.select(1, 1)
    line = describe(opened, accounts_mapper())
    assert line.startswith(
        f"     1  accounts.domain:Account.Opened  {opened.originator_id} v1  {{"
    )
    state = json.loads(line[line.index("{") :])
    assert "_row" not in state
    assert state["owner"] == "dora"
    assert state["name"] == "Pot 0"
    assert state["timestamp"] == opened_event_timestamp(accounts, opened)


def opened_event_timestamp(accounts, notification):
    return accounts.mapper.to_domain_event(notification).timestamp.isoformat()


def test_encrypted_state_decodes_only_with_the_key():
    key = AESCipher.create_key(16)
    encrypted = in_memory_accounts(
        CIPHER_TOPIC="eventsourcing.cipher:AESCipher", CIPHER_KEY=key
    )
    encrypted.open_account("dora", "Secret pot")
    [opened] = encrypted.notification_log.select(1, 1)
    assert b"Secret pot" not in opened.state
    assert "Secret pot" in decoded_state(opened, accounts_mapper(cipher_key=key))
    assert decoded_state(opened, accounts_mapper()) == (
        "(not decoded: check CIPHER_KEY and ESBANK_COMPRESS_EVENTS)"
    )
    encrypted.close()


def test_unknown_topics_are_printed_undecoded(accounts):
    [opened] = accounts.notification_log.select(1, 1)
    stranger = type(opened)(
        id=1,
        originator_id=opened.originator_id,
        originator_version=1,
        topic="elsewhere.domain:Thing.Happened",
        state=opened.state,
    )
    assert decoded_state(stranger, accounts_mapper()) == (
        "(not decoded: this code does not know the topic)"
    )


def test_a_mirror_appends_lines_and_resumes_after_its_last(accounts, tmp_path):
    path = tmp_path / "mirror" / "accounts.jsonl"
    notifications = list(accounts.notification_log.select(1, 10))
    mirror = Mirror.open(path)
    assert mirror.last_id is None
    for notification in notifications[:4]:
        mirror.append(notification)
    mirror.close()

    mirror = Mirror.open(path)
    assert mirror.last_id == 4
    with pytest.raises(MirrorError, match="already ends at notification 4"):
        mirror.append(notifications[3])
    for notification in notifications[4:]:
        mirror.append(notification)
    mirror.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        notification_to_json(n) for n in notifications
    ]


def test_a_torn_last_line_is_cut_and_read_again(accounts, tmp_path):
    path = tmp_path / "accounts.jsonl"
    [first, second] = accounts.notification_log.select(1, 2)
    whole = json.dumps(notification_to_json(first)) + "\n"
    torn = json.dumps(notification_to_json(second))[:25]
    path.write_text(whole + torn)
    mirror = Mirror.open(path)
    assert (mirror.last_id, mirror.discarded_bytes) == (1, 25)
    mirror.append(second)
    mirror.close()
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [1, 2]


@pytest.mark.parametrize("content", ["not json\n", '{"no": "id"}\n', '{"id": "7"}\n'])
def test_a_file_that_is_not_a_mirror_is_refused(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_text(content)
    with pytest.raises(MirrorError, match="is it a mirror"):
        Mirror.open(path)
    assert path.read_text() == content


def test_the_last_line_is_found_across_read_chunks(accounts, tmp_path):
    path = tmp_path / "accounts.jsonl"
    lines = [
        json.dumps(notification_to_json(n) | {"padding": "x" * 9000})
        for n in accounts.notification_log.select(1, 3)
    ]
    path.write_text("\n".join(lines) + "\n")
    mirror = Mirror.open(path)
    assert mirror.last_id == 3
    mirror.close()


def test_state_copied_from_another_event_is_reported(accounts):
    # Each account: Opened, its number, two index entries, a deposit.
    [opened, *_, other_opened] = accounts.notification_log.select(1, 6)
    copied = type(opened)(
        id=6,
        originator_id=other_opened.originator_id,
        originator_version=1,
        topic=opened.topic,
        state=opened.state,
    )
    assert decoded_state(copied, accounts_mapper()) == (
        "(not decoded: the state belongs to another event: tampered with)"
    )
