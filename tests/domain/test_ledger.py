"""The Ledger aggregate alone."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from ledger.domain import Ledger


def test_ledger_id_is_the_same_everywhere():
    assert Ledger().id == Ledger.create_id() == Ledger().id


def test_deposits_and_withdrawals_move_the_balance_transfers_only_count():
    ledger = Ledger()
    ledger.record_deposit(Decimal("100.00"), uuid4())
    ledger.record_withdrawal(Decimal("30.00"), uuid4())
    ledger.record_transfer(Decimal("50.00"), uuid4())
    assert ledger.balance == Decimal("70.00")
    assert (ledger.total_deposits, ledger.total_withdrawals) == (
        Decimal("100.00"),
        Decimal("30.00"),
    )
    assert ledger.transaction_count == 3
