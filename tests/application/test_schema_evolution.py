"""Upcasting: events and snapshots written by version 1 load with today's code.

tests/fixtures/v1_accounts.json holds rows of accounts_events and
accounts_snapshots exactly as the version 1 code stored them: deposits
without a description, an overdraft limit set without a reason, and a
snapshot (at version 50) of an Account whose state still had ``is_closed``
instead of ``status`` (and neither ``number`` nor ``frozen``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from accounts.statements import whole_statement
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env

FIXTURE = Path(__file__).parent.parent / "fixtures" / "v1_accounts.json"
VERA = UUID("af639e6fa5174135ab41f5ad9dbcc891")
WALT = UUID("a9f12dc28cab415a8ef5140c9f800b7c")


@pytest.fixture
def v1_bank(bank, database):
    """A bank whose database holds only what version 1 wrote."""
    bank.close()
    loader = Bank(eventsourcing_env(database), process_inline=False)
    try:
        rows = json.loads(FIXTURE.read_text())["rows"]
        for table, recorder in (
            ("events", loader.accounts.recorder),
            ("snapshots", loader.accounts.snapshots.recorder),
        ):
            recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=UUID(row["originator_id"]),
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=json.dumps(row["state"]).encode(),
                    )
                    for row in rows
                    if row["table"] == table
                ]
            )
    finally:
        loader.close()
    today = Bank(eventsourcing_env(database))
    today.start()  # the followers catch up on the v1 history
    yield today
    today.close()


def test_v1_snapshot_is_upcast_to_the_v2_account_state(v1_bank):
    assert v1_bank.accounts.get_snapshot_versions(VERA) == [50]
    account = v1_bank.accounts.repository.get(VERA, version=50)
    assert account.status == "open"
    assert not account.is_closed
    assert "is_closed" not in vars(account)


def test_v1_history_loads_with_todays_code(v1_bank):
    summary = v1_bank.accounts.get_account(VERA)
    assert summary.balance == Decimal("1495.50")
    assert summary.version == 55
    assert not summary.is_closed


def test_v1_deposits_are_upcast_with_an_empty_description(v1_bank):
    statement = whole_statement(v1_bank.accounts.events, VERA)
    deposits = [line for line in statement if line.kind == "Deposit"]
    assert len(deposits) == 52
    assert {line.description for line in deposits} == {""}
    history = v1_bank.accounts.get_history(VERA)
    assert history[1].data["description"] == ""


def test_a_v1_overdraft_limit_is_upcast_with_an_empty_reason(v1_bank):
    [limit_set] = [
        e for e in v1_bank.accounts.get_history(WALT) if e.type == "OverdraftLimitSet"
    ]
    assert limit_set.data == {"limit": Decimal("50.00"), "reason": ""}
    walt = v1_bank.accounts.get_account(WALT)
    assert (walt.overdraft_limit, walt.frozen) == (Decimal("50.00"), False)
    # Set again by staff today: a v2 event with its reason, beside the old one.
    v1_bank.accounts.staff.set_overdraft_limit(WALT, "75.00", "Raised on request")
    history = v1_bank.accounts.get_history(WALT)
    assert [e.data.get("reason") for e in history[-2:]] == ["", "Raised on request"]


def test_the_v1_snapshot_loads_as_an_account_that_is_not_frozen(v1_bank):
    account = v1_bank.accounts.repository.get(VERA, version=50)
    assert account.frozen is False
    v1_bank.accounts.staff.freeze(VERA, "Checking an old account")
    assert v1_bank.accounts.get_account(VERA).frozen


def test_new_deposits_are_v2_beside_the_old_ones(v1_bank):
    v1_bank.accounts.deposit(VERA, "4.50", description="Birthday money")
    last = whole_statement(v1_bank.accounts.events, VERA)[-1]
    assert (last.amount, last.description) == (Decimal("4.50"), "Birthday money")
    [notification] = v1_bank.accounts.recorder.select_notifications(
        v1_bank.accounts.recorder.max_notification_id(), 1
    )
    assert b'"class_version":2' in notification.state


def test_followers_rebuild_from_v1_history_and_the_books_balance(v1_bank):
    ledger = v1_bank.ledger().get_ledger()
    assert ledger.balance == Decimal("1746.00")  # deposits 1846.00 - 100.00
    report = audit(v1_bank)
    assert report.ok, report.problems
