"""Many threads moving money at once: no money made or lost, nothing twice.

8 threads x 200 random commands over 10 accounts, on each database: mostly
transfers, with deposits and withdrawals mixed in so the ledger's balance
moves too, and staff freezing and unfreezing accounts meanwhile. Every
command either succeeds or is refused with a BankError (insufficient
funds, a frozen account, a freeze of a frozen account, or a conflict that
outlived its retries); the audit's invariant holds at the end, including
that no money left an account while it was frozen.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from accounts.errors import (
    AccountFrozenError,
    ConflictError,
    FreezeStateError,
    InsufficientFundsError,
)
from esbank_site.operations.audit import audit

THREADS = 8
COMMANDS_PER_THREAD = 200
ACCOUNTS = 10


def test_random_concurrent_commands_keep_the_books_balanced(bank, database):
    account_ids = [
        bank.accounts.open_account(f"owner{i}", "Current") for i in range(ACCOUNTS)
    ]
    for account_id in account_ids:
        bank.accounts.deposit(account_id, "100.00")

    staff_operations = Counter()
    kinds = ["transfer", "deposit", "withdraw", "freeze", "unfreeze"]

    def run(seed: int) -> tuple[list, Counter]:
        rng = random.Random(seed)
        accepted, refused = [], Counter()
        for _ in range(COMMANDS_PER_THREAD):
            source, target = rng.sample(account_ids, 2)
            amount = Decimal(rng.randint(1, 4000)) / 100
            kind = rng.choices(kinds, [12, 4, 4, 1, 4])[0]
            try:
                if kind == "freeze":
                    bank.accounts.staff.freeze(source, "Random check")
                    staff_operations[kind] += 1
                    continue
                if kind == "unfreeze":
                    bank.accounts.staff.unfreeze(source, "Random check done")
                    staff_operations[kind] += 1
                    continue
                if kind == "transfer":
                    transaction_id = bank.accounts.transfer(source, target, amount)
                elif kind == "deposit":
                    transaction_id = bank.accounts.deposit(source, amount)
                else:
                    transaction_id = bank.accounts.withdraw(source, amount)
            except (
                InsufficientFundsError,
                AccountFrozenError,
                FreezeStateError,
                ConflictError,
            ) as refusal:
                refused[type(refusal).__name__] += 1
            else:
                accepted.append((kind, transaction_id, amount))
        return accepted, refused

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(run, range(THREADS)))
    bank.wait_until_processed(timeout=60)

    accepted = [a for thread_accepted, _ in results for a in thread_accepted]
    refused = sum((counts for _, counts in results), Counter())
    report = audit(bank)
    print(
        f"\n{database['ENGINE'].rsplit('.', 1)[-1]}: {len(accepted)} commands "
        f"accepted {dict(Counter(kind for kind, _, _ in accepted))}, "
        f"staff {dict(staff_operations)}, "
        f"refused {dict(refused)}; audit: {report.summary()}"
    )

    done = len(accepted) + sum(staff_operations.values())
    assert done + sum(refused.values()) == THREADS * COMMANDS_PER_THREAD
    assert staff_operations["freeze"] > 0
    assert refused["AccountFrozenError"] > 0
    assert len({t for _, t, _ in accepted}) == len(accepted)
    assert report.ok, report.problems
    deposited = 1000 + sum(a for kind, _, a in accepted if kind == "deposit")
    withdrawn = sum(a for kind, _, a in accepted if kind == "withdraw")
    balances = [bank.accounts.get_account(a).balance for a in account_ids]
    assert sum(balances) == bank.ledger().get_ledger().balance == deposited - withdrawn
    assert min(balances) >= 0
    assert bank.transaction_log().count_transactions() == ACCOUNTS + len(accepted)
