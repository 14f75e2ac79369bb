"""The sharding prototype of the scaling benchmark (``bench/sharding.py``).

Routing by account number must never change for a number (an account would
be looked for in the wrong shard), and a deposit must land in the shard the
number routes to, and in no other. On SQLite (a file per shard) and on
PostgreSQL (a schema per shard, as the benchmark runs it).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from accounts.account_numbers import is_well_formed
from accounts.errors import AccountNotFoundError
from bench.sharding import (
    ShardedAccounts,
    home_shard,
    number_drawer,
    shard_envs,
    shard_of,
    shard_schema,
)
from esbank_site.persistence.environment import eventsourcing_env
from tests.support.databases import throwaway_database

if TYPE_CHECKING:
    from collections.abc import Iterator

SHARDS = 3


def test_an_account_number_routes_to_the_same_shard_however_it_is_typed():
    # Fixed answers: a change to the routing would strand every account.
    assert [shard_of("12345674", n) for n in (1, 2, 3, 4)] == [0, 0, 2, 2]
    assert [shard_of("5000 0009", n) for n in (1, 2, 3, 4)] == [0, 1, 2, 1]
    assert shard_of(" 7654 3214 ", 3) == shard_of("76543214", 3) == 2
    # An owner's home shard: where all their accounts are opened.
    assert [home_shard(owner, 3) for owner in ("ada", "bob", "cy", "dee")] == [
        1,
        1,
        2,
        0,
    ]


def test_each_shard_draws_only_well_formed_numbers_that_route_to_it():
    for index in range(SHARDS):
        draw = number_drawer(index, SHARDS)
        numbers = {draw() for _ in range(50)}
        assert all(is_well_formed(n) for n in numbers)
        assert {shard_of(n, SHARDS) for n in numbers} == {index}
        assert len(numbers) > 1  # still drawn at random


@pytest.fixture(params=["sqlite", "postgres"])
def shards(request, tmp_path) -> Iterator[list[dict[str, str]]]:
    """Environments of ``SHARDS`` shards, their tables created."""
    if request.param == "sqlite":
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "bank.sqlite3"),
        }
        yield shard_envs(eventsourcing_env(database, create_tables=True), SHARDS)
        return
    with throwaway_database(f"esbank_test_shards_{os.getpid()}") as database:
        env = eventsourcing_env(database, create_tables=True)
        # The schemas the benchmark makes for its shards, in this database.
        with psycopg.connect(
            dbname=database["NAME"],
            host=database["HOST"],
            port=database["PORT"],
            user=database["USER"],
            password=database["PASSWORD"],
            autocommit=True,
        ) as conn:
            for index in range(SHARDS):
                conn.execute(
                    sql.SQL("CREATE SCHEMA {}").format(
                        sql.Identifier(shard_schema(index))
                    )
                )
        yield shard_envs(env, SHARDS)


def test_a_deposit_lands_in_the_shard_its_account_number_routes_to(shards):
    bank = ShardedAccounts(shards)
    owners = ("ada", "cy", "dee")  # one at home in each shard
    try:
        opened = [bank.open_account(owner, "Pot") for owner in owners for _ in "ab"]
        for n, account in enumerate(opened):
            bank.deposit(account, f"{n + 1}.00", idempotency_key=f"pay-in-{n}")
        for n, account in enumerate(opened):
            home = shard_of(account.number, SHARDS)
            assert home == home_shard(owners[n // 2], SHARDS)
            assert bank.shards[home].get_account(account.id).balance == Decimal(
                f"{n + 1}.00"
            )
            for other, shard in enumerate(bank.shards):
                if other != home:
                    with pytest.raises(AccountNotFoundError):
                        shard.get_account(account.id)
            spaced = f"{account.number[:4]} {account.number[4:]}"
            assert bank.find_account(spaced) == account
        # The same key again moves no money: its receipt is in the same shard.
        bank.deposit(opened[0], "1.00", idempotency_key="pay-in-0")
        assert bank.get_account(opened[0]).balance == Decimal("1.00")
        assert bank.list_owner_accounts("cy") == opened[2:4]
        assert bank.count_accounts() == 6
    finally:
        bank.close()
