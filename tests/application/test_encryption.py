"""Encryption and compression at rest: names and amounts never hit the disk.

The bank encrypts with the library's cipher on the cryptography package; it
used the one on pycryptodome before. Both store nonce, tag and ciphertext in
the same order, so events written with either still read.
"""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from eventsourcing.cipher import AESCipher
from eventsourcing.cryptography import AESCipher as CryptographyCipher
from eventsourcing.utils import get_topic

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


# The bank's cipher, and the one it used before.
CIPHERS = {"cryptography": CryptographyCipher, "pycryptodome": AESCipher}


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("cryptography", "pycryptodome"), ("pycryptodome", "cryptography")],
)
def test_each_cipher_reads_what_the_other_wrote(writer, reader):
    env = {"CIPHER_KEY": AESCipher.create_key(32)}
    plaintext = b'{"owner": "Zebediah Quincefield", "amount": "4321.98"}'
    sealed = CIPHERS[writer](env).encrypt(plaintext)
    # A 12-byte nonce and a 16-byte tag, then the ciphertext, same length.
    assert len(sealed) == 12 + 16 + len(plaintext)
    assert CIPHERS[reader](env).decrypt(sealed) == plaintext
    damaged = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ValueError, match=r"[Cc]ipher"):
        CIPHERS[reader](env).decrypt(damaged)


def test_the_bank_encrypts_with_the_cryptography_cipher(database):
    env = eventsourcing_env(database, cipher_key=AESCipher.create_key(16))
    assert env["CIPHER_TOPIC"] == get_topic(CryptographyCipher)
    bank = Bank(env, process_inline=False)
    try:
        assert isinstance(bank.accounts.mapper.cipher, CryptographyCipher)
    finally:
        bank.close()


def test_events_written_with_the_previous_cipher_still_read(empty, database):
    key = AESCipher.create_key(32)
    current = eventsourcing_env(database, cipher_key=key)
    previous = current | {"CIPHER_TOPIC": get_topic(AESCipher)}
    record_secrets(previous)  # accounts, ledger, snapshots, the accounts list
    raw = raw_database_bytes(database)
    assert SECRET_OWNER.encode() not in raw

    # The bank as configured now starts (every application's latest event
    # decodes), reads the old history and snapshots, and adds to it.
    for env, balance in ((current, "4382.98"), (previous, "4383.98")):
        bank = Bank(env)
        bank.start()
        try:
            [account] = bank.accounts.list_owner_account_ids(SECRET_OWNER)
            bank.accounts.deposit(account, "1.00")
            assert bank.accounts.get_account(account).balance == Decimal(balance)
            assert bank.ledger().get_ledger().balance == Decimal(balance)
            [row] = bank.accounts_list().get_all_rows().rows
            assert (row.owner, row.balance) == (SECRET_OWNER, Decimal(balance))
        finally:
            bank.close()
