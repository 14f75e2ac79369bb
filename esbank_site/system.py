"""The bank as an eventsourcing System: who follows whom, and nothing else.

Accounts leads; the ledger and the transaction log each follow its
notification log independently, with their own tracking position.
"""

from __future__ import annotations

from eventsourcing.system import System

from accounts.application import Accounts
from ledger.application import LedgerProcess, TransactionLogProcess


class BankSystem(System):
    """Accounts, followed by the ledger and by the transaction log."""

    def __init__(self) -> None:
        super().__init__(
            pipes=[
                [Accounts, LedgerProcess],
                [Accounts, TransactionLogProcess],
            ]
        )
