"""A prototype of the bank's accounts split over several ``Accounts`` applications.

One ``Accounts`` application serializes its inserts with a table lock (the
library's PostgreSQL recorder locks its events table in each insert, so
commit order is notification order), so its writes have a ceiling however
many processes make them. Splitting the accounts over several applications,
each with its own tables, gives each its own lock: a shard. This module is
the least the benchmark (``bench/scaling.py``) needs to measure that, and
is not used by the site.

- An account's shard follows from its number: ``int(number) % shards``.
  Each shard draws only numbers that route to it, so a number is reserved
  in the one shard that can hold it, and unique across the bank as it is
  unique within a shard.
- Callers name an account by ``AccountRef`` (number and id): the number
  routes, the id is the shard's own. (The site's URLs carry ids; a sharded
  site would carry the number as well, or route ids through a directory.)
- Each owner has a home shard (``home_shard``, from the owner's name), where
  all their accounts are opened: the list of an owner's accounts and the
  limit on how many they may open then stay in one shard, each opening one
  transaction as it is now.
- Only what the benchmark and its test use: opening, deposits, reads by
  id and by number, an owner's accounts, counting. A transfer between
  shards is not one transaction any more; docs/SCALING.md says how the bank
  would make it one debit and one credit, exactly once.

Each shard's environment differs from the bank's only in where its tables
live (``shard_envs``): a PostgreSQL schema of its own, or a SQLite file of
its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from accounts.account_numbers import new_account_number, parse_account_number
from accounts.application import Accounts
from accounts.domain import owner_log_id
from esbank_site.persistence.postgres_recorders import uses_postgres

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from decimal import Decimal
    from uuid import UUID

    from accounts.summaries import AccountSummary


def shard_of(number: str, shards: int) -> int:
    """The shard that holds the account numbered ``number`` (spaces allowed)."""
    return int(parse_account_number(number)) % shards


def home_shard(owner: str, shards: int) -> int:
    """The shard that holds every account of ``owner``.

    From the id of the owner's list of accounts (a uuid5 of the name), so
    the same in every process and every run.
    """
    return owner_log_id(owner).int % shards


def number_drawer(index: int, shards: int) -> Callable[[], str]:
    """Draws random account numbers that route to shard ``index`` only.

    Drawn as the bank draws them and the others thrown away: the numbers of
    each shard are as random as the bank's, and as hard to guess.
    """

    def draw() -> str:
        while True:
            number = new_account_number()
            if int(number) % shards == index:
                return number

    return draw


def shard_schema(index: int) -> str:
    """The PostgreSQL schema that holds shard ``index``'s tables."""
    return f"shard_{index}"


def shard_envs(env: Mapping[str, str], shards: int) -> list[dict[str, str]]:
    """One environment per shard: the bank's, with tables of the shard's own.

    On PostgreSQL a schema per shard (``shard_0``, ...), which must exist;
    on SQLite a file per shard beside the bank's.
    """
    if uses_postgres(env):
        return [
            dict(env) | {"POSTGRES_SCHEMA": shard_schema(index)}
            for index in range(shards)
        ]
    path = Path(env["SQLITE_DBNAME"])
    return [
        dict(env)
        | {"SQLITE_DBNAME": str(path.with_name(f"{path.stem}-shard{index}.sqlite3"))}
        for index in range(shards)
    ]


@dataclass(frozen=True)
class AccountRef:
    """An account of a sharded bank: its number (which routes) and its id."""

    number: str
    id: UUID


class ShardedAccounts:
    """The bank's ``Accounts``, once per shard, accounts routed by number."""

    def __init__(self, envs: Sequence[Mapping[str, str]]) -> None:
        if not envs:
            msg = "A sharded bank needs at least one shard."
            raise ValueError(msg)
        self.shards: list[Accounts] = []
        try:
            for index, env in enumerate(envs):
                shard = Accounts(dict(env))
                shard.numbers.draw = number_drawer(index, len(envs))
                self.shards.append(shard)
        except Exception:
            self.close()
            raise

    def shard_for(self, number: str) -> Accounts:
        """The application that holds the account numbered ``number``."""
        return self.shards[shard_of(number, len(self.shards))]

    # Commands.

    def open_account(self, owner: str, name: str) -> AccountRef:
        """Open an account in the owner's home shard, numbered for it."""
        shard = self.shards[home_shard(owner, len(self.shards))]
        account_id = shard.open_account(owner, name)
        return AccountRef(shard.get_account(account_id).number, account_id)

    def deposit(
        self,
        account: AccountRef,
        amount: Decimal | int | str,
        *,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> UUID:
        """``Accounts.deposit`` in the account's shard: one transaction there."""
        return self.shard_for(account.number).deposit(
            account.id,
            amount,
            description=description,
            idempotency_key=idempotency_key,
        )

    # Queries.

    def get_account(self, account: AccountRef) -> AccountSummary:
        return self.shard_for(account.number).get_account(account.id)

    def find_account(self, number: str) -> AccountRef:
        """The account numbered ``number``: looked up in its shard only."""
        summary = self.shard_for(number).find_account(number)
        return AccountRef(summary.number, summary.id)

    def list_owner_accounts(self, owner: str) -> list[AccountRef]:
        """An owner's accounts, oldest first: all in their home shard."""
        shard = self.shards[home_shard(owner, len(self.shards))]
        return [
            AccountRef(shard.get_account(account_id).number, account_id)
            for account_id in shard.list_owner_account_ids(owner)
        ]

    def count_accounts(self) -> int:
        return sum(shard.count_accounts() for shard in self.shards)

    def close(self) -> None:
        for shard in self.shards:
            shard.close()
