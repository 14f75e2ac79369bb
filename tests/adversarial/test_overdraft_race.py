"""Withdrawals that each fit alone but not together: exactly the ones that fit win.

200 trials, each with 2 to 16 concurrent withdrawals of the same amount from
one account holding enough for only k of them. Half the threads go through
a second bank on the same database, as a second web process would, so the
event store's version check (not just the in-process locks) is tested too.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from accounts.errors import InsufficientFundsError
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env

TRIALS = 200


@pytest.fixture
def second_process(bank, database):
    other = Bank(eventsourcing_env(database), process_inline=False)
    yield other
    other.close()


def test_exactly_the_withdrawals_that_fit_succeed(bank, second_process, database):
    rng = random.Random(6)
    outcomes = Counter()
    for trial in range(TRIALS):
        contenders = 2 + trial % 15  # 2..16
        amount = Decimal(rng.randint(100, 5000)) / 100
        fit = rng.randint(1, contenders - 1)
        balance = fit * amount + (amount / 2).quantize(Decimal("0.01"))
        account = bank.accounts.open_account(f"racer{trial}", "Current")
        bank.accounts.deposit(account, balance)
        start = threading.Barrier(contenders)

        def withdraw(n, account=account, amount=amount, start=start):
            app = (bank if n % 2 else second_process).accounts
            start.wait()
            try:
                app.withdraw(account, amount)
            except InsufficientFundsError:
                return "refused"
            return "accepted"

        with ThreadPoolExecutor(max_workers=contenders) as pool:
            results = Counter(pool.map(withdraw, range(contenders)))

        assert results == Counter(accepted=fit, refused=contenders - fit), trial
        assert bank.accounts.get_account(account).balance == balance - fit * amount
        outcomes.update(results)

    bank.wait_until_processed(timeout=60)
    report = audit(bank)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(f"\n{engine}: {TRIALS} trials, {dict(outcomes)}; audit: {report.summary()}")
    assert report.ok, report.problems
