"""Staff operations on the Account alone: limits and freezes, each with a reason.

Corrections are new events: a limit set again, a freeze and then an
unfreeze each add an event, and none changes an earlier one. Guards run in
the commands, so a refused operation records nothing; old events and
snapshots stored before reasons and freezes existed are upcast.
"""

from __future__ import annotations

import json
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from accounts.domain import Account
from accounts.errors import (
    AccountClosedError,
    AccountFrozenError,
    FreezeStateError,
    InvalidAmountError,
    InvalidReasonError,
)
from tests.domain.test_account_numbers import stored_as_version_1


def event_types(aggregate):
    return [type(e).__name__ for e in aggregate.collect_events()]


@pytest.fixture
def account():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("100.00", uuid4())
    account.collect_events()
    return account


@pytest.fixture
def payee():
    payee = Account.open(owner="bob", name="Savings", number="40981235")
    payee.collect_events()
    return payee


def test_an_overdraft_limit_records_its_reason(account):
    account.set_overdraft_limit("250.00", " Salary moved here ")
    [limit_set] = account.collect_events()
    assert type(limit_set).__name__ == "OverdraftLimitSet"
    assert (limit_set.limit, limit_set.reason) == (
        Decimal("250.00"),
        "Salary moved here",
    )
    assert account.overdraft_limit == Decimal("250.00")


@pytest.mark.parametrize(
    ("limit", "refusal"),
    [("10000.01", InvalidAmountError), ("-1", InvalidAmountError)],
)
def test_a_limit_out_of_range_records_nothing(account, limit, refusal):
    with pytest.raises(refusal):
        account.set_overdraft_limit(limit, "Agreed")
    assert event_types(account) == []


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("", "Give a reason"),
        ("   ", "Give a reason"),
        ("x" * 201, "at most 200 characters"),
        ("\u200b\u200b", "would show as blank"),
        ("Fraud \u202ekcehc", "reverses text direction"),
        ("two\nlines", "control character"),
    ],
)
def test_every_operation_needs_a_readable_reason(account, reason, says):
    for operation in (
        lambda: account.set_overdraft_limit("10", reason),
        lambda: account.freeze(reason),
    ):
        with pytest.raises(InvalidReasonError, match=says):
            operation()
    account.freeze("Suspected fraud")
    account.collect_events()
    with pytest.raises(InvalidReasonError, match=says):
        account.unfreeze(reason)
    assert event_types(account) == []
    assert account.frozen


def test_a_reason_of_200_characters_is_enough(account):
    account.freeze("x" * 200)
    [frozen] = account.collect_events()
    assert len(frozen.reason) == 200


def test_a_frozen_account_takes_money_in_but_lets_none_out(account, payee):
    account.freeze("Suspected fraud")
    assert account.frozen
    assert event_types(account) == ["Frozen"]
    account.deposit("5.00", uuid4())
    payee.deposit("20.00", uuid4())
    payee.send_transfer("20.00", account, uuid4())
    assert account.balance == Decimal("125.00")
    account.collect_events()
    for money_out in (
        lambda: account.withdraw("1.00", uuid4()),
        lambda: account.send_transfer("1.00", payee, uuid4()),
    ):
        with pytest.raises(AccountFrozenError, match=r"^This account is frozen"):
            money_out()
    assert event_types(account) == []
    assert account.balance == Decimal("125.00")


def test_a_frozen_account_cannot_be_closed(account):
    account.withdraw("100.00", uuid4())
    account.freeze("Suspected fraud")
    account.collect_events()
    with pytest.raises(AccountFrozenError, match=r"^This account is frozen"):
        account.close()
    assert event_types(account) == []
    account.unfreeze("Cleared by the fraud team")
    account.close()
    assert event_types(account) == ["Unfrozen", "Closed"]


def test_freezing_twice_or_unfreezing_an_open_account_is_refused(account):
    with pytest.raises(FreezeStateError, match="not frozen"):
        account.unfreeze("Cleared")
    account.freeze("Suspected fraud")
    account.collect_events()
    with pytest.raises(FreezeStateError, match="frozen already"):
        account.freeze("Again")
    assert event_types(account) == []


def test_a_closed_account_is_neither_frozen_nor_given_a_limit(account):
    account.withdraw("100.00", uuid4())
    account.close()
    account.collect_events()
    for operation in (
        lambda: account.freeze("Suspected fraud"),
        lambda: account.unfreeze("Cleared"),
        lambda: account.set_overdraft_limit("10", "Agreed"),
    ):
        with pytest.raises(AccountClosedError):
            operation()
    assert event_types(account) == []


def test_freezes_replay_from_the_events_without_their_guards():
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.deposit("10.00", uuid4())
    account.freeze("Suspected fraud")
    account.deposit("1.00", uuid4())
    account.unfreeze("Cleared by the fraud team")
    account.withdraw("5.00", uuid4())
    account.freeze("Reported stolen card")
    events = account.collect_events()
    rebuilt = None
    for domain_event in events:
        rebuilt = domain_event.mutate(rebuilt)
    assert rebuilt.frozen
    assert rebuilt.balance == Decimal("6.00")
    assert [e.reason for e in events if hasattr(e, "reason")] == [
        "Suspected fraud",
        "Cleared by the fraud team",
        "Reported stolen card",
    ]


# Upcasting: what was stored before reasons and freezes existed.


def test_a_v1_overdraft_limit_event_is_upcast_with_an_empty_reason(account):
    app = Application()
    account.set_overdraft_limit("50.00", "Agreed")
    [limit_set] = account.collect_events()
    old = stored_as_version_1(app, limit_set, "reason")
    assert b"reason" not in old.state
    assert b"class_version" not in old.state
    upcast = app.mapper.to_domain_event(old)
    assert (upcast.limit, upcast.reason) == (Decimal("50.00"), "")
    # Written today: version 2, with its reason.
    assert json.loads(app.mapper.to_stored_event(limit_set).state)["class_version"] == 2


def test_a_v3_snapshot_is_upcast_to_an_account_that_is_not_frozen():
    app = Application(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.freeze("Suspected fraud")
    app.save(account)
    app.take_snapshot(account.id)
    [snapshot] = app.snapshots.get(account.id)
    stored = app.mapper.to_stored_event(snapshot)
    state = json.loads(stored.state)
    assert state["state"]["class_version"] == 4
    state["state"]["class_version"] = 3
    state["state"].pop("frozen")
    old = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )
    restored = app.mapper.to_domain_event(old).mutate(None)
    assert restored.frozen is False
    assert restored.number == "12345674"
