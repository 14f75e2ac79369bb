"""The bank's other ids are no accounts, on SQLite and PostgreSQL.

Receipts and the lists of account ids share the Accounts event store, and
their ids can be derived from the source; the ledger and the transaction
log have ids of the same kind. Asked for as accounts, every one is the
same ``AccountNotFoundError`` as an id never used, for every query and
command, and nothing is recorded or cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

import pytest

from accounts.domain import ALL_ACCOUNTS_LOG_ID, Receipt, owner_log_id
from accounts.errors import AccountNotFoundError
from ledger.domain import TRANSACTION_LOG_ID, Ledger

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from esbank_site.bank import Bank


def other_ids(bank: Bank) -> dict[str, UUID]:
    """Every id the bank gives something that is not an account, all in use."""
    account = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account, "10.00", idempotency_key="ada:token-1")
    bank.wait_until_processed()
    assert bank.ledger().get_ledger().transaction_count == 1
    return {
        "every account": ALL_ACCOUNTS_LOG_ID,
        "ada's accounts": owner_log_id("ada"),
        "a receipt": Receipt.create_id("ada:token-1"),
        "the ledger": Ledger.create_id(),
        "the transaction log": TRANSACTION_LOG_ID,
        "never used": uuid4(),
    }


def uses(bank: Bank, own: UUID) -> dict[str, Callable[[UUID], object]]:
    """Every query and command of Accounts that takes an account id."""
    accounts = bank.accounts
    return {
        "get_account": accounts.get_account,
        "get_account at version 1": lambda i: accounts.get_account(i, version=1),
        "get_history": accounts.get_history,
        "get_recent_statement": accounts.get_recent_statement,
        "take_snapshot_now": accounts.take_snapshot_now,
        "deposit": lambda i: accounts.deposit(i, "1.00"),
        "withdraw": lambda i: accounts.withdraw(i, "1.00"),
        "transfer from": lambda i: accounts.transfer(i, own, "1.00"),
        "transfer to": lambda i: accounts.transfer(own, i, "1.00"),
        "set_overdraft_limit": lambda i: accounts.staff.set_overdraft_limit(
            i, "5.00", "Agreed overdraft"
        ),
        "freeze": lambda i: accounts.staff.freeze(i, "Suspected fraud"),
        "unfreeze": lambda i: accounts.staff.unfreeze(i, "Cleared"),
        "close_account": accounts.close_account,
    }


def test_the_banks_other_ids_are_not_found_as_accounts(bank):
    ids = other_ids(bank)
    own = bank.accounts.open_account("bob", "Current")
    bank.accounts.deposit(own, "50.00")
    head = bank.accounts.recorder.max_notification_id()
    tried = 0
    for use, call in uses(bank, own).items():
        for what, other in ids.items():
            with pytest.raises(AccountNotFoundError) as refused:
                call(other)
            assert refused.value.account_id == other, (use, what)
            tried += 1
    assert bank.accounts.recorder.max_notification_id() == head
    assert bank.accounts.get_account(own).balance == 50
    assert bank.accounts.get_snapshot_versions(ALL_ACCOUNTS_LOG_ID) == []
    # Nothing but accounts went into the aggregate cache.
    cache = bank.accounts.repository.cache
    assert cache is not None
    assert not set(ids.values()) & set(cache.cache)
    # And the lists and receipts still read as they are.
    assert bank.accounts.count_accounts() == 2
    assert bank.accounts.list_owner_account_ids("ada") != []
    print(f"other ids: {len(ids)} ids x {len(uses(bank, own))} uses = {tried} refusals")
