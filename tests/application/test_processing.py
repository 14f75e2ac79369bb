"""A follower that fails never fails a command whose events committed."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from esbank_site.operations.audit import audit
from ledger.application import LedgerProcess


@pytest.fixture
def failing_ledger(monkeypatch):
    """Make the ledger fail on deposits of exactly 13.00; call the result to mend it."""
    real_process_batch = LedgerProcess.process_batch

    def process_batch(self, jobs):
        if any(getattr(event, "amount", None) == Decimal("13.00") for event, _ in jobs):
            msg = "ledger unavailable"
            raise RuntimeError(msg)
        return real_process_batch(self, jobs)

    monkeypatch.setattr(LedgerProcess, "process_batch", process_batch)

    def mend():
        monkeypatch.setattr(LedgerProcess, "process_batch", real_process_batch)

    return mend


def test_failing_policy_is_reported_not_raised_and_retried_later(
    bank, failing_ledger, caplog
):
    account = bank.accounts.open_account("ada", "Current")
    with caplog.at_level(logging.ERROR, logger="esbank_site.runtime.processing"):
        bank.accounts.deposit(account, "13.00")  # returns normally
        bank.accounts.deposit(account, "1.00")

    assert bank.accounts.get_account(account).balance == Decimal("14.00")
    ledger_status, log_status, _accounts_list = bank.processor_status()
    assert ledger_status.failing
    assert "ledger unavailable" in ledger_status.last_error
    assert ledger_status.lag > 0
    assert not log_status.failing  # the transaction log is not held back
    assert log_status.lag == 0
    assert "Ledger failed to process Accounts events" in caplog.text
    assert not audit(bank).ok

    failing_ledger()  # mend the fault
    bank.wait_until_processed()

    ledger_status = bank.processor_status()[0]
    assert (ledger_status.failing, ledger_status.lag) == (False, 0)
    assert ledger_status.last_error  # the last error stays visible
    assert bank.ledger().get_ledger().balance == Decimal("14.00")
    assert audit(bank).ok


def test_failing_follower_backs_off_between_attempts(bank, failing_ledger):
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "13.00")
    ledger = bank.processors[0]
    failures = ledger.failures
    assert ledger.process() is False  # still backing off: not even tried
    assert ledger.failures == failures
    assert ledger.process(force=True) is False  # tried, failed again
    assert ledger.failures == failures + 1
