"""The Ledger aggregate alone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from ledger.domain import (
    Ledger,
    TransactionKind,
    TransactionKindAsName,
    TransactionLogged,
)


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


def test_reversals_undo_the_totals_and_count_as_transactions():
    ledger = Ledger()
    ledger.record_deposit(Decimal("100.00"), uuid4())
    ledger.record_withdrawal(Decimal("30.00"), uuid4())
    ledger.record_transfer(Decimal("50.00"), uuid4())
    ledger.record_deposit_reversal(Decimal("100.00"), uuid4())
    ledger.record_withdrawal_reversal(Decimal("30.00"), uuid4())
    ledger.record_transfer_reversal(Decimal("50.00"), uuid4())
    assert (ledger.balance, ledger.total_deposits, ledger.total_withdrawals) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert ledger.balance == ledger.total_deposits - ledger.total_withdrawals
    assert ledger.transaction_count == 6
    assert [type(e).__name__ for e in ledger.collect_events()][-3:] == [
        "DepositReversed",
        "WithdrawalReversed",
        "TransferReversed",
    ]


def test_a_withdrawal_reversal_alone_pays_money_back_into_the_bank():
    ledger = Ledger()
    ledger.record_deposit(Decimal("10.00"), uuid4())
    ledger.record_withdrawal(Decimal("4.00"), uuid4())
    ledger.record_withdrawal_reversal(Decimal("4.00"), uuid4())
    assert (ledger.balance, ledger.total_withdrawals) == (
        Decimal("10.00"),
        Decimal("0.00"),
    )


def entry(kind, amount="12.50", reverses=None):
    return TransactionLogged(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime.now(UTC),
        transaction_id=uuid4(),
        kind=kind,
        account_id=uuid4(),
        counterparty_id=None,
        amount=Decimal(amount),
        occurred_at=datetime.now(UTC),
        position=1,
        reverses=reverses,
    )


@pytest.mark.parametrize(
    ("kind", "signed", "label", "transfer"),
    [
        (TransactionKind.DEPOSIT, "12.50", "Deposit", False),
        (TransactionKind.WITHDRAWAL, "-12.50", "Withdrawal", False),
        (TransactionKind.TRANSFER, "0", "Transfer", True),
        (TransactionKind.DEPOSIT_REVERSAL, "-12.50", "Reversal of deposit", False),
        (TransactionKind.WITHDRAWAL_REVERSAL, "12.50", "Reversal of withdrawal", False),
        (TransactionKind.TRANSFER_REVERSAL, "0", "Reversal of transfer", True),
    ],
)
def test_an_entry_s_signed_amount_is_how_it_changed_the_bank_s_money(
    kind, signed, label, transfer
):
    logged = entry(kind, reverses=uuid4() if kind.reversed_kind else None)
    assert logged.signed_amount == Decimal(signed)
    assert logged.kind.label == label
    assert logged.is_transfer is transfer
    assert logged.is_reversal is (kind.reversed_kind is not None)


def test_each_reversal_kind_names_the_kind_it_undoes():
    assert [k.reversed_kind for k in TransactionKind] == [
        None,
        None,
        None,
        TransactionKind.DEPOSIT,
        TransactionKind.WITHDRAWAL,
        TransactionKind.TRANSFER,
    ]


def test_an_entry_logged_by_version_1_is_upcast_reversing_nothing():
    transcoder = JSONTranscoder()
    for transcoding in (
        UUIDAsHex(),
        DecimalAsStr(),
        DatetimeAsISO(),
        TransactionKindAsName(),
    ):
        transcoder.register(transcoding)
    mapper = Mapper(transcoder=transcoder)
    today = mapper.to_stored_event(entry(TransactionKind.DEPOSIT))
    state = json.loads(today.state)
    assert (state.pop("class_version"), state.pop("reverses")) == (2, None)
    v1 = replace(today, state=json.dumps(state).encode())

    logged = mapper.to_domain_event(v1)

    assert isinstance(logged, TransactionLogged)
    assert logged.reverses is None
    assert (logged.kind, logged.amount) == (TransactionKind.DEPOSIT, Decimal("12.50"))
