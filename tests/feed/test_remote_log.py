"""The library's JSON service and client, through ``RemoteNotificationLog``.

The service runs over the ``bank`` fixture, so on SQLite and PostgreSQL;
HTTP itself is covered by the views and the follower's tests.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eventsourcing.interface import NotificationLogInterface, NotificationLogJSONService
from eventsourcing.persistence import IntegrityError
from eventsourcing.system import NotificationLogReader

from accounts.domain import Account
from esbank_site.feed.client import (
    FeedError,
    FeedResponseError,
    HTTPNotificationLogInterface,
    RemoteNotificationLog,
)
from tests.support.feed import record_history


def leave_a_gap(bank) -> None:
    """Make a save fail after it drew a notification id (a gap on PostgreSQL).

    Early in the log, so that the first full section spans the gap.
    """
    account_id = bank.accounts.open_account("gus", "Gapped")
    stale = bank.accounts.repository.get(account_id)
    bank.accounts.deposit(account_id, Decimal("1.00"))
    stale.deposit(Decimal("2.00"), account_id)
    with pytest.raises(IntegrityError):
        bank.accounts.save(stale)
    bank.accounts.deposit(account_id, Decimal("3.00"))


def local_notifications(bank):
    return list(bank.accounts.recorder.select_notifications(start=1, limit=1000))


def test_a_reader_of_the_json_client_sees_every_notification_once(bank, database):
    leave_a_gap(bank)
    record_history(bank)
    log = RemoteNotificationLog(NotificationLogJSONService(bank.accounts))
    read = list(NotificationLogReader(log).read(start=1))
    expected = local_notifications(bank)
    assert len(expected) == 22
    if database["ENGINE"].endswith("postgresql"):
        assert expected[-1].id == 23  # the failed save used up an id
    assert read == expected  # ids, originators, versions, topics and state


def test_reading_resumes_after_any_position(bank):
    record_history(bank)
    log = RemoteNotificationLog(NotificationLogJSONService(bank.accounts))
    read = list(NotificationLogReader(log).read(start=7))
    assert [n.id for n in read] == [n.id for n in local_notifications(bank)[6:]]


def test_the_largest_section_id_reads_as_empty_on_every_database(bank):
    largest = 2**63 - 1
    service = NotificationLogJSONService(bank.accounts)
    body = service.get_log_section(f"{largest - 1},{largest}")
    assert body == '{"id": null, "next_id": null, "items": []}'


def test_select_is_made_of_sections_and_matches_the_local_log(bank):
    leave_a_gap(bank)
    record_history(bank)
    log = RemoteNotificationLog(NotificationLogJSONService(bank.accounts))
    local = bank.accounts.notification_log
    deposited = [Account.Deposited.__module__ + ":Account.Deposited"]
    for start, limit, stop, topics, inclusive in [
        (1, 10, None, (), True),
        (None, 5, None, (), True),
        (4, 10, None, (), False),
        (3, 10, 9, (), True),
        (1, 10, None, deposited, True),
        (1, 0, None, (), True),
    ]:
        expected = local.select(
            start, limit, stop, topics, inclusive_of_start=inclusive
        )
        selected = log.select(start, limit, stop, topics, inclusive_of_start=inclusive)
        assert selected == list(expected), (start, limit, stop, topics, inclusive)
    reader = NotificationLogReader(log, section_size=4)
    batches = list(reader.select(start=1))
    assert [n for batch in batches for n in batch] == local_notifications(bank)


class Answering(NotificationLogInterface):
    """An interface that answers every section with the same body."""

    def __init__(self, body: str) -> None:
        self.body = body

    def get_log_section(self, section_id: str) -> str:
        return self.body

    def get_notifications(self, start, limit, topics=(), *, inclusive_of_start=True):
        raise NotImplementedError


@pytest.mark.parametrize(
    "body",
    [
        "<html>login</html>",
        '{"status": "ok"}',
        "[]",
        '{"id": "1,1", "next_id": null, "items": [1]}',
        '{"id": "1,1", "next_id": null, "items": [{"id": 1, "originator_id": "x",'
        ' "originator_version": 1, "topic": "t", "state": ""}]}',
    ],
    ids=["html", "other-json", "a-list", "bad-item", "bad-uuid"],
)
def test_an_answer_that_is_not_a_section_is_a_clear_error(body):
    log = RemoteNotificationLog(Answering(body))
    with pytest.raises(FeedResponseError, match="is not a notification log section"):
        log["1,10"]


@pytest.mark.parametrize(
    "url",
    ["ftp://bank.example/staff/", "file:///etc/passwd", "bank.example", "http://"],
)
def test_only_http_urls_are_fetched(url):
    with pytest.raises(FeedError, match="is not the feed's URL"):
        HTTPNotificationLogInterface(url, "staff", "secret")


def test_the_feed_url_gets_its_trailing_slash():
    interface = HTTPNotificationLogInterface(
        "https://bank.example/staff/notifications", "staff", "secret"
    )
    assert interface.url == "https://bank.example/staff/notifications/"
