"""manage.py bank_audit: passes after bank_demo, fails naming a tampered account."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.domain import Deposited
from tests.support.rawdb import event_id, run_sql

REPO = Path(__file__).resolve().parents[2]


def run_audit(*args):
    out = StringIO()
    try:
        call_command("bank_audit", "--wait=0", *args, stdout=out, no_color=True)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_passes_after_bank_demo(site_bank):
    call_command("bank_demo", accounts=6, transactions=60, stdout=StringIO())
    output, error = run_audit()
    assert error is None, output
    assert "The books balance." in output
    assert "PROBLEM" not in output
    head = site_bank.accounts.recorder.max_notification_id()
    for name in ("Ledger", "Transactions", "AccountsList"):
        assert f"{name:<20} {head:>7} / {head:<7} lag 0" in output
    assert "AccountsList         6 rows recomputed" in output


def corrupt_one_deposit(bank, database):
    """Change the amount inside one stored Deposited event, in the database."""
    for account_id in [e.account_id for e in bank.accounts.account_index.get()]:
        for event in bank.accounts.events.get(account_id):
            if isinstance(event, Deposited):
                break
        else:
            continue
        break
    transcoder = bank.accounts.mapper.transcoder
    where = "WHERE originator_id = %s AND originator_version = %s"
    params = (event_id(database, account_id), event.originator_version)
    [(state,)] = run_sql(database, f"SELECT state FROM accounts_events {where}", params)
    data = transcoder.decode(bytes(state))
    data["amount"] += 1000
    run_sql(
        database,
        f"UPDATE accounts_events SET state = %s {where}",
        (transcoder.encode(data), *params),
    )
    return account_id


def test_fails_naming_the_account_when_a_stored_event_is_corrupted(site_bank, database):
    call_command("bank_demo", accounts=4, transactions=20, stdout=StringIO())
    account_id = corrupt_one_deposit(site_bank, database)

    output, error = run_audit()
    assert error is not None
    assert "problem(s)" in str(error)
    problems = [line for line in output.splitlines() if line.startswith("PROBLEM")]
    assert problems
    assert any(str(account_id) in problem for problem in problems), output
    # The read model still holds what was projected before the change.
    assert any("accounts list" in p and str(account_id) in p for p in problems)


def test_reports_lag_as_a_problem(site_bank):
    account_id = site_bank.accounts.open_account("ada", "Current")
    site_bank.process_inline = False
    site_bank.accounts.deposit(account_id, "1.00")
    output, error = run_audit()
    assert error is not None
    assert "PROBLEM: AccountsList is 1 notification(s) behind Accounts" in output


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("bank_audit", ["Reconcile the bank independently", "--wait SECONDS"]),
        ("rebuild_projection", ["keeps serving", "NAME", "--batch-size"]),
    ],
)
def test_commands_explain_themselves(command, expected):
    result = subprocess.run(
        [sys.executable, "manage.py", command, "--help"],
        cwd=REPO,
        env={
            "DJANGO_SECRET_KEY": os.environ["DJANGO_SECRET_KEY"],
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for snippet in expected:
        assert snippet in text
