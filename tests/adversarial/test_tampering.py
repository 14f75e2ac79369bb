"""Tampering with the stored events is detected, never passed over.

With encryption on, three kinds of damage to the accounts_events table: a
ciphertext copied from one account's row onto another's, a deleted row, and
a flipped bit. Each is caught: reading the account fails loudly, and the
audit fails naming the account.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import psycopg
import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import MapperDeserialisationError

from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.persistence.row_binding import TamperedEventError


class Table:
    """Raw access to accounts_events, as an attacker with the database has."""

    def __init__(self, database):
        self.database = database
        self.sqlite = database["ENGINE"].endswith("sqlite3")

    def _run(self, sql, params):
        if self.sqlite:
            with sqlite3.connect(self.database["NAME"]) as connection:
                return connection.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(
            dbname=self.database["NAME"],
            host=self.database["HOST"],
            port=self.database["PORT"],
            user=self.database["USER"],
            autocommit=True,
        ) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _id(self, account_id):
        return account_id.hex if self.sqlite else account_id

    def state(self, account_id, version):
        [(state,)] = self._run(
            "SELECT state FROM accounts_events "
            "WHERE originator_id = %s AND originator_version = %s",
            (self._id(account_id), version),
        )
        return bytes(state)

    def set_state(self, account_id, version, state):
        self._run(
            "UPDATE accounts_events SET state = %s "
            "WHERE originator_id = %s AND originator_version = %s",
            (state, self._id(account_id), version),
        )

    def delete(self, account_id, version):
        self._run(
            "DELETE FROM accounts_events "
            "WHERE originator_id = %s AND originator_version = %s",
            (self._id(account_id), version),
        )


@pytest.fixture
def encrypted_bank(bank, database):
    """Ada and Bob, each with three deposits, in an encrypted event store."""
    bank.close()
    encrypted = Bank(eventsourcing_env(database, cipher_key=AESCipher.create_key(32)))
    encrypted.start()
    ada = encrypted.accounts.open_account("ada", "Current")
    bob = encrypted.accounts.open_account("bob", "Current")
    for amount in ("100.00", "200.00", "300.00"):
        encrypted.accounts.deposit(ada, amount)
        encrypted.accounts.deposit(bob, "1.00")
    assert audit(encrypted).ok
    yield encrypted, ada, bob, Table(database)
    encrypted.close()


@pytest.fixture
def afresh(encrypted_bank):
    """The bank as another process sees it after the tampering.

    A running process keeps the accounts it has read in its aggregate cache
    and reads only newer events; a process started afterwards, such as
    ``manage.py bank_audit``, reads every stored event.
    """
    banks = []

    def bank_now():
        bank = Bank(encrypted_bank[0].env, process_inline=False)
        banks.append(bank)
        return bank

    yield bank_now
    for bank in banks:
        bank.close()


def test_ciphertext_copied_onto_another_row_is_detected(encrypted_bank, afresh):
    _, ada, bob, table = encrypted_bank
    # Ada's 300.00 deposit, replayed as Bob's third deposit.
    table.set_state(bob, 4, table.state(ada, 4))
    bank = afresh()

    with pytest.raises(TamperedEventError, match=str(bob)):
        bank.accounts.get_account(bob)
    report = audit(bank)
    assert not report.ok
    assert any(str(bob) in problem for problem in report.problems), report.problems
    assert bank.accounts.get_account(ada).balance == Decimal("600.00")


def test_a_deleted_row_in_the_middle_is_detected(encrypted_bank, afresh):
    _, ada, _, table = encrypted_bank
    table.delete(ada, 3)
    bank = afresh()

    with pytest.raises(OriginatorVersionError):
        bank.accounts.get_account(ada)
    report = audit(bank)
    assert any(str(ada) in problem for problem in report.problems), report.problems


def test_a_deleted_last_row_is_detected_by_the_audit(encrypted_bank, afresh):
    _, ada, _, table = encrypted_bank
    table.delete(ada, 4)
    bank = afresh()

    assert bank.accounts.get_account(ada).balance == Decimal("300.00")
    report = audit(bank)
    assert not report.ok
    assert any(str(ada) in problem for problem in report.problems), report.problems


def test_a_flipped_bit_is_detected(encrypted_bank, afresh):
    _, ada, _, table = encrypted_bank
    state = bytearray(table.state(ada, 2))
    state[-1] ^= 0x01
    table.set_state(ada, 2, bytes(state))
    bank = afresh()

    with pytest.raises(MapperDeserialisationError):
        bank.accounts.get_account(ada)
    report = audit(bank)
    assert any(str(ada) in problem for problem in report.problems), report.problems
