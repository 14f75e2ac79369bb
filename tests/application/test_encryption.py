"""Encryption and compression at rest: names and amounts never hit the disk."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from eventsourcing.cipher import AESCipher

from esbank_site.bank import Bank
from esbank_site.persistence.environment import eventsourcing_env

SECRET_OWNER = "Zebediah Quincefield"
SECRET_AMOUNT = "4321.98"


def raw_database_bytes(database) -> bytes:
    """Everything the database holds, as the disk (or a dump) sees it."""
    if database["ENGINE"].endswith("sqlite3"):
        name = Path(database["NAME"])
        wal = Path(f"{name}-wal")
        return name.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--host",
            database["HOST"],
            "--port",
            database["PORT"],
            "--username",
            database["USER"],
            database["NAME"],
        ],
        check=True,
        capture_output=True,
    )
    # bytea columns are dumped as hex (\x7b22...): decode them, or the test
    # would pass just because the dump spells everything in hex.
    decoded = [
        bytes.fromhex(h.decode()) for h in re.findall(rb"\\x([0-9a-f]+)", dump.stdout)
    ]
    return dump.stdout + b"".join(decoded)


def record_secrets(env) -> None:
    bank = Bank(env)
    bank.start()
    try:
        account = bank.accounts.open_account(SECRET_OWNER, "Offshore")
        bank.accounts.deposit(account, SECRET_AMOUNT)
        for _ in range(60):  # enough to take snapshots of account and ledger
            bank.accounts.deposit(account, "1.00")
        assert bank.accounts.get_account(account).owner == SECRET_OWNER
        assert bank.ledger().get_ledger().balance == Decimal("4381.98")
    finally:
        bank.close()


@pytest.fixture
def empty(bank):
    """A database with the tables and no events (the bank fixture erases them)."""
    bank.close()


@pytest.mark.parametrize("compress", [False, True], ids=["aes", "aes+zlib"])
def test_encrypted_events_hide_names_and_amounts(empty, database, compress):
    key = AESCipher.create_key(32)
    env = eventsourcing_env(database, cipher_key=key, compress=compress)
    record_secrets(env)

    raw = raw_database_bytes(database)
    assert SECRET_OWNER.encode() not in raw
    assert SECRET_AMOUNT.encode() not in raw
    assert b"accounts.domain:Account.Opened" in raw  # topics stay readable

    reopened = Bank(env)
    reopened.start()
    try:
        [account] = reopened.accounts.list_owner_account_ids(SECRET_OWNER)
        assert reopened.accounts.get_account(account).balance == Decimal("4381.98")
    finally:
        reopened.close()


def test_without_a_key_the_same_data_is_readable_on_disk(empty, database):
    record_secrets(eventsourcing_env(database))
    raw = raw_database_bytes(database)
    assert SECRET_OWNER.encode() in raw
    assert SECRET_AMOUNT.encode() in raw


def test_the_wrong_key_is_one_clear_error_at_start(empty, database):
    record_secrets(eventsourcing_env(database, cipher_key=AESCipher.create_key(16)))
    for env in (
        eventsourcing_env(database, cipher_key=AESCipher.create_key(16)),
        eventsourcing_env(database),  # encrypted events, no key
    ):
        bank = Bank(env)
        try:
            with pytest.raises(ImproperlyConfigured, match="check CIPHER_KEY"):
                bank.start()
        finally:
            bank.close()


def test_a_malformed_key_is_refused_when_the_bank_is_built(database):
    with pytest.raises(ImproperlyConfigured, match="cannot start"):
        Bank(eventsourcing_env(database, cipher_key="dG9vIHNob3J0"))
