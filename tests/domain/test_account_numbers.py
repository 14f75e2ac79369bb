"""Account numbers: eight digits, the last a Luhn check digit."""

from __future__ import annotations

import itertools
import json
import uuid
from decimal import Decimal

import pytest
from eventsourcing.application import Application

from accounts.account_numbers import (
    check_digit,
    grouped,
    is_well_formed,
    looks_like_account_number,
    new_account_number,
    number_search,
    parse_account_number,
)
from accounts.domain import Account, AccountNumber
from accounts.errors import InvalidAccountNumberError


def test_new_numbers_have_eight_digits_and_a_matching_check_digit():
    numbers = {new_account_number() for _ in range(2000)}
    assert len(numbers) > 1990  # random: a few repeats at most
    assert all(is_well_formed(n) and not n.startswith("0") for n in numbers)


def test_the_check_digit_is_luhns():
    # 7992739871 is the textbook Luhn example, its check digit 3.
    assert check_digit("7992739871") == "3"
    assert check_digit("1234567") == "4"


def test_every_single_mistyped_digit_is_caught():
    number = "12345674"
    for position, digit in itertools.product(range(8), "0123456789"):
        typo = number[:position] + digit + number[position + 1 :]
        assert is_well_formed(typo) == (typo == number)


def test_swapped_neighbours_are_caught_except_09_and_90():
    for number in ["12345674", "40981235", "55550008"]:
        for position in range(7):
            a, b = number[position], number[position + 1]
            swapped = number[:position] + b + a + number[position + 2 :]
            if a == b or {a, b} == {"0", "9"}:
                continue
            assert not is_well_formed(swapped), swapped


@pytest.mark.parametrize("typed", ["12345674", "1234 5674", " 1234 5674 ", "1 2345674"])
def test_a_number_may_be_typed_with_spaces(typed):
    assert looks_like_account_number(typed)
    assert parse_account_number(typed) == "12345674"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1234567", "An account number has 8 digits"),
        ("123456745", "An account number has 8 digits"),
        ("1234 5675", "1234 5675 is not a valid account number"),
        ("١٢٣٤٥٦٧٤", "An account number has 8 digits"),  # Arabic-Indic digits
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(typed, message):
    with pytest.raises(InvalidAccountNumberError, match=message):
        parse_account_number(typed)


def test_grouping_and_searching():
    assert grouped("12345674") == "1234 5674"
    assert number_search("1234 56") == "123456"
    assert number_search("Holiday") == "-"  # no number contains it


def test_an_account_is_opened_with_its_number_and_keeps_it():
    account = Account.open(owner="ada", name="Current", number="12345674")
    assert account.number == "12345674"
    with pytest.raises(InvalidAccountNumberError, match="already has the number"):
        account.assign_number("40981235")


def test_only_a_well_formed_number_opens_an_account():
    with pytest.raises(InvalidAccountNumberError):
        Account.open(owner="ada", name="Current", number="12345675")


def test_the_reservation_of_a_number_has_an_id_derived_from_it():
    account_id = uuid.uuid4()
    reserved = AccountNumber(number="12345674", account_id=account_id)
    assert reserved.id == AccountNumber.create_id("12345674")
    assert reserved.id != AccountNumber.create_id("40981235")
    assert reserved.account_id == account_id


# Upcasting: events and snapshots stored before numbers and references.


def stored_as_version_1(app, domain_event, *dropped):
    """``domain_event`` as version 1 of its class stored it: fields missing."""
    stored = app.mapper.to_stored_event(domain_event)
    state = json.loads(stored.state)
    for name in (*dropped, "class_version"):
        state.pop(name, None)
    return type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def test_old_opened_and_transfer_events_are_upcast():
    app = Application()
    ada = Account.open(owner="ada", name="Current", number="12345674")
    bob = Account.open(owner="bob", name="Savings", number="40981235")
    ada.deposit(Decimal("5.00"), uuid.uuid4())
    ada.send_transfer(Decimal("2.00"), bob, uuid.uuid4(), "Lunch")
    opened, _, sent = ada.collect_events()
    [_, received] = bob.collect_events()

    old_opened = app.mapper.to_domain_event(stored_as_version_1(app, opened, "number"))
    assert old_opened.number == ""
    old_sent = app.mapper.to_domain_event(stored_as_version_1(app, sent, "description"))
    old_received = app.mapper.to_domain_event(
        stored_as_version_1(app, received, "description")
    )
    assert (old_sent.description, old_received.description) == ("", "")
    assert old_sent.amount == Decimal("2.00")


def test_an_old_snapshot_is_upcast_with_no_number():
    app = Application(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    account = Account.open(owner="ada", name="Current", number="12345674")
    app.save(account)
    app.take_snapshot(account.id)
    [snapshot] = app.snapshots.get(account.id)
    stored = app.mapper.to_stored_event(snapshot)
    state = json.loads(stored.state)
    state["state"].pop("number")
    state["state"]["is_closed"] = state["state"].pop("status") == "closed"
    state["state"].pop("class_version", None)
    state.pop("class_version", None)
    old = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )
    restored = app.mapper.to_domain_event(old).mutate(None)
    assert (restored.number, restored.status) == ("", "open")
