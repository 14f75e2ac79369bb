"""Account numbers in the bank: unique by set validation, found, assigned late."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eventsourcing.cipher import AESCipher

from accounts.account_numbers import check_digit
from accounts.domain import Account, AccountNumber, NumberAssigned
from accounts.errors import AccountNotFoundError, InvalidAccountNumberError
from accounts.projections import AccountsQuery
from esbank_site.bank import Bank
from esbank_site.operations.audit import audit
from esbank_site.persistence.environment import eventsourcing_env


def numbered(body: str) -> str:
    return body + check_digit(body)


def draws(*numbers: str):
    """A number source that gives ``numbers`` in turn."""
    given = iter(numbers)
    return lambda: next(given)


def test_every_account_is_opened_with_its_own_number_and_found_by_it(bank):
    accounts = bank.accounts
    ids = [accounts.open_account("ada", f"Pot {n}") for n in range(5)]
    numbers = [accounts.get_account(i).number for i in ids]
    assert len(set(numbers)) == 5
    for account_id, number in zip(ids, numbers, strict=True):
        assert accounts.find_account(number).id == account_id
        assert accounts.find_account(f"{number[:4]} {number[4:]}").id == account_id


def test_a_number_nobody_has_or_mistyped_is_refused(bank):
    with pytest.raises(
        AccountNotFoundError, match="No account has the number 1234 5674"
    ):
        bank.accounts.find_account("12345674")
    with pytest.raises(InvalidAccountNumberError, match="check the digits"):
        bank.accounts.find_account("12345675")


def test_a_number_taken_is_drawn_again_even_by_another_process(bank, database):
    taken, free = numbered("1111111"), numbered("2222222")
    bank.accounts.numbers.draw = draws(taken)
    first = bank.accounts.open_account("ada", "First")
    # Another process knows nothing of the first: only the store refuses it.
    other = Bank(eventsourcing_env(database), process_inline=False)
    other.start()
    try:
        other.accounts.numbers.draw = draws(taken, free)
        second = other.accounts.open_account("bob", "Second")
    finally:
        other.close()
    assert bank.accounts.get_account(first).number == taken
    assert bank.accounts.get_account(second).number == free
    assert bank.accounts.find_account(taken).id == first
    # The refused attempt left nothing: one account, one list entry each.
    assert bank.accounts.count_accounts() == 2
    assert bank.accounts.list_owner_account_ids("bob") == [second]
    bank.wait_until_processed()  # the other process's events, followed here
    assert audit(bank).ok


def open_unnumbered(bank, owner: str, name: str):
    """An account as the bank opened them before numbers existed."""
    account = Account(owner=owner, name=name, currency="GBP", number="")
    accounts = bank.accounts
    owner_log = accounts._owner_index(owner)
    accounts.save(
        account,
        accounts.account_index.trigger_event(account_id=account.id),
        owner_log.trigger_event(
            accounts.open_accounts.next_entry_version(owner_log),
            account_id=account.id,
        ),
    )
    return account.id


def test_an_account_opened_before_numbers_is_numbered_once(bank):
    old = open_unnumbered(bank, "ada", "Legacy")
    bank.accounts.deposit(old, "7.00")
    assert bank.accounts.get_account(old).number == ""
    bank.accounts.numbers.draw = draws(numbered("3333333"))
    number = bank.accounts.number_account(old)
    assert number == numbered("3333333")
    assert bank.accounts.number_account(old) == number  # no second event
    events = list(bank.accounts.events.get(old))
    assert [type(e) for e in events].count(NumberAssigned) == 1
    assert bank.accounts.find_account(number).id == old
    assert bank.accounts.get_account(old).balance == Decimal("7.00")
    [row] = bank.accounts_list().get_accounts_page(AccountsQuery()).rows
    assert row.number == number
    assert audit(bank).ok


def test_staff_search_finds_accounts_by_number_with_or_without_the_space(bank):
    accounts = bank.accounts
    accounts.numbers.draw = draws(numbered("4444444"), numbered("5555555"))
    four = accounts.open_account("ada", "Current")
    accounts.open_account("bob", "Savings")
    listed = bank.accounts_list()
    for search in ["4444 44", "444444", numbered("4444444")]:
        page = listed.get_accounts_page(AccountsQuery(search=search))
        assert [row.id for row in page.rows] == [four], search
    # A name's search never matches a number, nor digits a name.
    assert listed.get_accounts_page(AccountsQuery(search="Savings")).count == 1


def test_numbers_are_searched_in_a_sealed_list_too(bank, database):
    bank.close()
    sealed = Bank(eventsourcing_env(database, cipher_key=AESCipher.create_key(16)))
    sealed.start()
    try:
        sealed.accounts.numbers.draw = draws(numbered("6666666"))
        six = sealed.accounts.open_account("ada", "Current")
        page = sealed.accounts_list().get_accounts_page(AccountsQuery(search="6666 66"))
        assert [(row.id, row.number) for row in page.rows] == [
            (six, numbered("6666666"))
        ]
    finally:
        sealed.close()


def test_a_reservation_names_its_account(bank):
    account_id = bank.accounts.open_account("ada", "Current")
    number = bank.accounts.get_account(account_id).number
    reserved = bank.accounts.repository.get(AccountNumber.create_id(number))
    assert (reserved.number, reserved.account_id) == (number, account_id)


def test_a_transfer_carries_its_reference_to_both_statements(bank):
    accounts = bank.accounts
    ada = accounts.open_account("ada", "Current")
    bob = accounts.open_account("bob", "Savings")
    accounts.deposit(ada, "50")
    accounts.transfer(ada, bob, "20", description="Rent for May")
    sent = accounts.get_recent_statement(ada).lines[-1]
    received = accounts.get_recent_statement(bob).lines[-1]
    assert (sent.description, sent.counterparty_id) == ("Rent for May", bob)
    assert (received.description, received.counterparty_id) == ("Rent for May", ada)
    assert bank.ledger().get_ledger().balance == Decimal("50.00")
