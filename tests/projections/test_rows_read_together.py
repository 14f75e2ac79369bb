"""A pull's rows are read in one query and written in one statement per kind.

``ProjectionProcessor`` tells the view which accounts the pull's events name
(``AccountsListTables.expect``); the view reads them all the first time one
is needed, and writes the changed ones together at the end of the batch.
The list must come out the same as when each row is read on its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest

from esbank_site.operations.audit import audit
from esbank_site.runtime.processing import ProjectionProcessor
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from collections.abc import Iterator

    from esbank_site.bank import Bank


@pytest.fixture
def quiet_bank(database: dict[str, Any]) -> Iterator[Bank]:
    with fresh_bank(database, process_inline=False) as bank:
        yield bank


def list_processor(bank: Bank) -> ProjectionProcessor:
    return next(p for p in bank.processors if isinstance(p, ProjectionProcessor))


def statements(monkeypatch: pytest.MonkeyPatch, view: Any) -> list[str]:
    """Every statement the view sends one at a time (``_execute``)."""
    sent: list[str] = []
    real = view._execute

    def execute(c: Any, statement: str, params: Any) -> None:
        sent.append(statement)
        real(c, statement, params)

    monkeypatch.setattr(view, "_execute", execute)
    return sent


def movements(bank: Bank) -> None:
    """Accounts opened, then deposits and a transfer touching most of them."""
    accounts = [bank.accounts.open_account(f"owner{n}", "Current") for n in range(6)]
    for account in accounts:
        bank.accounts.deposit(account, "10.00", idempotency_key=uuid4().hex)
    bank.accounts.transfer(accounts[0], accounts[1], "2.50")
    bank.accounts.withdraw(accounts[2], "1.25")


def test_a_pulls_rows_are_read_in_one_query(
    quiet_bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = quiet_bank
    accounts = [bank.accounts.open_account(f"owner{n}", "Current") for n in range(6)]
    processor = list_processor(bank)
    assert processor.process(force=True)  # the rows exist before the pull
    for account in accounts:
        bank.accounts.deposit(account, "10.00", idempotency_key=uuid4().hex)
    bank.accounts.transfer(accounts[0], accounts[1], "2.50")
    view = processor.projection.view
    sent = statements(monkeypatch, view)
    assert processor.process(force=True)
    assert sent.count(view._select_rows_sql) == 1
    assert view._select_row_sql not in sent
    assert view._update_row_sql not in sent
    rows = {row.id: row for row in view.get_all_rows().rows}
    assert rows[accounts[0]].balance == Decimal("7.50")
    assert rows[accounts[1]].balance == Decimal("12.50")
    bank.wait_until_processed()  # the ledger and the log, for the audit
    report = audit(bank)
    assert report.ok, report.problems


@pytest.mark.parametrize("together", [True, False])
def test_the_list_is_the_same_either_way(quiet_bank: Bank, together: bool) -> None:
    bank = quiet_bank
    processor = list_processor(bank)
    processor.read_rows_together = together
    movements(bank)
    assert processor.process(force=True)
    assert processor.position() == bank.accounts.recorder.max_notification_id()
    contents = processor.projection.view.get_all_rows()
    balances = sorted(str(row.balance) for row in contents.rows)
    assert balances == sorted(["7.50", "12.50", "8.75", "10.00", "10.00", "10.00"])
    assert str(contents.summary.total_balance) == "58.75"
    bank.wait_until_processed()  # the ledger and the log, for the audit
    report = audit(bank)
    assert report.ok, report.problems
