"""Account rows that hold no names or amounts in clear, for an encrypted bank.

With ``CIPHER_KEY`` set the bank promises that names and amounts never reach
the disk in clear, and a read model is on the disk too. So the accounts list
then stores each row as one ciphertext (made with the events' own cipher),
beside only its account id and version, which the events table shows in
clear anyway. The ciphertext names its account and version, and is refused
on any other row: a copied row is caught, as ``row_binding`` catches copied
events. The summary (how many accounts, holding how much) is a total of
amounts, so it is sealed too, marked as the summary so that no row's
ciphertext can stand in for it.

The database can then no longer search or sort: a page reads every row in
one query (still one position, still no aggregate loaded), and filters,
sorts and counts here, in the same order the SQL would give.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from accounts.account_numbers import number_search
from accounts.money import CENT
from accounts.projections import (
    AccountsPage,
    AccountsQuery,
    AccountsSummary,
    ReadModelError,
)
from accounts.summaries import AccountSummary

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from eventsourcing.cipher import Cipher


class RowSeal:
    """Turns an ``AccountSummary`` into a ciphertext bound to its row, and back."""

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = cipher

    def seal(self, row: AccountSummary) -> bytes:
        data = {
            "id": str(row.id),
            "owner": row.owner,
            "name": row.name,
            "currency": row.currency,
            "balance": str(row.balance),
            "overdraft_limit": str(row.overdraft_limit),
            "is_closed": row.is_closed,
            "opened_at": row.opened_at.isoformat(),
            "last_activity_at": row.last_activity_at.isoformat(),
            "version": row.version,
            "number": row.number,
            "frozen": row.frozen,
        }
        return self.cipher.encrypt(json.dumps(data).encode())

    def open(self, account_id: UUID, version: int, sealed: bytes) -> AccountSummary:
        """The row sealed in ``sealed``; refused unless it is this row's."""
        data: dict[str, Any] = json.loads(self.cipher.decrypt(bytes(sealed)))
        if (data["id"], data["version"]) != (str(account_id), version):
            msg = f"The accounts list row of {account_id} holds another row's data."
            raise ReadModelError(msg)
        return AccountSummary(
            id=account_id,
            owner=data["owner"],
            name=data["name"],
            currency=data["currency"],
            balance=Decimal(data["balance"]).quantize(CENT),
            overdraft_limit=Decimal(data["overdraft_limit"]).quantize(CENT),
            is_closed=data["is_closed"],
            opened_at=datetime.fromisoformat(data["opened_at"]),
            last_activity_at=datetime.fromisoformat(data["last_activity_at"]),
            version=version,
            number=data.get("number", ""),  # rows sealed before numbers had none
            frozen=data.get("frozen", False),  # nor before freezes, a flag
        )

    def seal_summary(self, summary: AccountsSummary) -> bytes:
        data = {
            "summary": True,
            "account_count": summary.account_count,
            "total_balance": str(summary.total_balance),
        }
        return self.cipher.encrypt(json.dumps(data).encode())

    def open_summary(self, sealed: bytes) -> AccountsSummary:
        """The summary sealed in ``sealed``; refused if it is not a summary."""
        data: dict[str, Any] = json.loads(self.cipher.decrypt(bytes(sealed)))
        if data.get("summary") is not True:
            msg = "The accounts list's summary holds a row's data."
            raise ReadModelError(msg)
        return AccountsSummary(
            account_count=data["account_count"],
            total_balance=Decimal(data["total_balance"]).quantize(CENT),
        )


# The same orders as the SQL views: case-folded names in code point order,
# ties broken by the account id's text.
SORT_KEYS: dict[str, Callable[[AccountSummary], tuple[Any, str]]] = {
    "owner": lambda row: (row.owner.casefold(), str(row.id)),
    "name": lambda row: (row.name.casefold(), str(row.id)),
    "balance": lambda row: (row.balance, str(row.id)),
    "last_activity": lambda row: (row.last_activity_at, str(row.id)),
    "opened": lambda row: (row.opened_at, str(row.id)),
}


def page_in_memory(
    rows: Iterable[AccountSummary], query: AccountsQuery, position: int
) -> AccountsPage:
    """A page of ``rows`` as the SQL views would have selected it."""
    every = list(rows)
    search = query.search.casefold()
    matched = [
        row
        for row in every
        if (
            search in row.owner.casefold()
            or search in row.name.casefold()
            or number_search(search) in row.number
        )
        and query.owner in (None, row.owner)
    ]
    matched.sort(key=SORT_KEYS[query.sort], reverse=query.descending)
    totals = AccountsSummary.of(matched)
    return AccountsPage(
        query=query,
        rows=matched[query.offset : query.offset + query.per_page],
        count=totals.account_count,
        total_balance=totals.total_balance,
        all_count=len(every),
        position=position,
    )
