"""Money moved straight through Accounts, and the exactly-once check after.

For the suites that run the followers elsewhere (in ``run_processors``
processes): the test process only records commands, and in the end the
ledger must have counted each movement the audit finds exactly once.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from accounts.errors import BankError
from esbank_site.operations.audit import audit
from ledger.domain import Ledger

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.application import Accounts
    from esbank_site.bank import Bank


def open_funded_accounts(accounts: Accounts, count: int) -> list[UUID]:
    """``count`` accounts of three owners, £500.00 paid into each."""
    account_ids = []
    for number in range(count):
        account_id = accounts.open_account(f"owner{number % 3}", f"Account {number}")
        accounts.deposit(account_id, "500.00")
        account_ids.append(account_id)
    return account_ids


class MoneyMover(threading.Thread):
    """Moves money at random between accounts until stopped (fixed seed)."""

    def __init__(
        self,
        accounts: Accounts,
        account_ids: list[UUID],
        *,
        seed: int,
        pause: float = 0.0,
    ) -> None:
        super().__init__(name=f"mover-{seed}", daemon=True)
        self.accounts = accounts
        self.account_ids = account_ids
        self.rng = random.Random(seed)
        self.pause = pause
        self.stopping = threading.Event()
        self.moved = 0
        self.refused = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.move_once()
                if self.pause:
                    self.stopping.wait(self.pause)
        except BaseException as error:  # noqa: BLE001 (reported by stop())
            self.error = error

    def move_once(self) -> None:
        rng = self.rng
        amount = Decimal(rng.randint(1, 20_000)) / 100
        source, target = rng.sample(self.account_ids, 2)
        kind = rng.choice(["deposit", "withdraw", "transfer", "transfer"])
        try:
            if kind == "deposit":
                self.accounts.deposit(source, amount)
            elif kind == "withdraw":
                self.accounts.withdraw(source, amount)
            else:
                self.accounts.transfer(source, target, amount)
        except BankError:
            self.refused += 1
        else:
            self.moved += 1

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error


def assert_exactly_once(bank: Bank) -> str:
    """Audit the bank, and check the ledger counted each transaction once."""
    report = audit(bank)
    assert report.problems == []
    ledger_events = bank.ledger().events.get(Ledger.create_id())
    counted = Counter(
        e.transaction_id for e in ledger_events if hasattr(e, "transaction_id")
    )
    assert [t for t, n in counted.items() if n > 1] == []
    assert len(counted) == report.movements
    return report.summary()
