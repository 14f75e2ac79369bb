"""The account aggregate, its events, and the other things the bank records.

Nothing here imports Django: the domain can be built, read and tested alone.

Each public command method checks its guards first and only then records
its event. The guards therefore run once, when the command is given, and
never again when the account is rebuilt from its history: a rule that
changes later cannot make old, valid history fail to load.

The library offers three ways to write an aggregate, and this module uses
each where it reads best:

- ``@event``-decorated methods (most of ``Account``): the method's
  parameters become the event's fields and its body is how the event
  changes state. Least code, for events that just set or add values.
- An explicit event class with ``trigger_event`` and ``apply``
  (``Account.Closed``): the event's effect sits on the event itself, for
  events that carry no arguments or whose effect deserves a name.
- The ``@aggregate`` class decorator (``Receipt``): a plain class made into
  an aggregate, for small records created once and never changed.

Staff put things right with new events too (a new overdraft limit, a
freeze, an unfreeze, a reversal, each with its reason): nothing recorded
is ever changed or removed. A reversal is a compensating event: it undoes
a movement's effect and leaves the movement where it was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, aggregate, event

from accounts.account_numbers import is_well_formed
from accounts.errors import (
    AccountClosedError,
    AccountFrozenError,
    BalanceNotZeroError,
    BankError,
    CurrencyMismatchError,
    FreezeStateError,
    InsufficientFundsError,
    InvalidAccountNameError,
    InvalidAccountNumberError,
    InvalidDescriptionError,
    InvalidReasonError,
    OverdraftLimitError,
    ReversalError,
    SameAccountTransferError,
)
from accounts.money import CURRENCY, ZERO, to_amount, to_overdraft_limit
from accounts.visible_text import unreadable

# Ids of things found by name (logs, receipts) are uuid5s in the bank's
# own namespace, so every process derives the same id without a lookup.
BANK_NAMESPACE = uuid5(NAMESPACE_URL, "https://esbank.example/")

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 140
MAX_REASON_LENGTH = 200

OPEN = "open"
CLOSED = "closed"


class Account(Aggregate):
    """A customer's current account: a balance in one currency.

    Version 2 of its state replaced the flag ``is_closed`` with ``status``
    (``"open"`` or ``"closed"``), version 3 added ``number`` and version 4
    ``frozen``; snapshots taken by older versions are upcast, one step at a
    time, when read.
    """

    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["status"] = CLOSED if state.pop("is_closed") else OPEN

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["number"] = ""  # numbered later, by NumberAssigned

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        state["frozen"] = False  # no account was frozen before freezing existed

    class Opened(Aggregate.Created):
        """The account was opened.

        Version 2 added ``number``; accounts opened by version 1 are upcast
        with none, and get one later (``NumberAssigned``).
        """

        owner: str
        name: str
        currency: str
        number: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["number"] = ""

    class Deposited(Aggregate.Event):
        """Money paid in.

        Version 2 added ``description`` (a reference shown on statements).
        Deposits recorded by version 1 are upcast with an empty one.
        """

        amount: Decimal
        transaction_id: UUID
        description: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["description"] = ""

    class TransferSent(Aggregate.Event):
        """Money sent to another account: this account's leg of a transfer.

        Version 2 added ``description`` (the payer's reference); older
        transfers are upcast with an empty one. So is ``TransferReceived``.
        """

        amount: Decimal
        to_account_id: UUID
        transaction_id: UUID
        description: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["description"] = ""

    class TransferReceived(Aggregate.Event):
        """Money received from another account: the other leg of a transfer."""

        amount: Decimal
        from_account_id: UUID
        transaction_id: UUID
        description: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["description"] = ""

    class OverdraftLimitSet(Aggregate.Event):
        """Staff set how far the balance may go below zero, and said why.

        Version 2 added ``reason``; limits set by version 1 (by the demo,
        before staff could set them) are upcast with an empty one.
        """

        limit: Decimal
        reason: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = ""

    class Frozen(Aggregate.Event):
        """Staff froze the account: money may come in, none may leave."""

        reason: str

    class Unfrozen(Aggregate.Event):
        """Staff unfroze the account: it works as before the freeze."""

        reason: str

    class Reversed(Aggregate.Event):
        """Staff put a transaction of this account right: a compensating event.

        The original is never changed or removed; this event undoes its
        effect on the balance. ``amount`` is that change, signed: negative
        takes back money a deposit or a received transfer brought in,
        positive returns money a withdrawal or a sent transfer took out.
        ``original`` names the leg it undoes (``REVERSIBLE``'s values) and
        ``transaction_id`` is the reversal's own: it is a transaction too,
        and one a reversal cannot undo. ``counterparty_id`` is the other
        account of a transfer (None for a deposit or withdrawal).
        """

        amount: Decimal
        transaction_id: UUID
        reverses: UUID
        original: str
        counterparty_id: UUID | None
        reason: str

    class Closed(Aggregate.Event):
        """The account was closed for good."""

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Account):
                raise TypeError(aggregate)
            aggregate.status = CLOSED

    @classmethod
    def open(
        cls, owner: str, name: str, number: str, currency: str = CURRENCY
    ) -> Account:
        """Open a new, empty account for ``owner``, numbered ``number``."""
        if not is_well_formed(number):
            msg = f"{number!r} is not an account number."
            raise InvalidAccountNumberError(msg)
        return cls(
            owner=clean_name(owner, "owner"),
            name=clean_name(name, "account name"),
            currency=currency,
            number=number,
        )

    @event(Opened)
    def __init__(self, owner: str, name: str, currency: str, number: str) -> None:
        self.owner = owner
        self.name = name
        self.currency = currency
        self.number = number
        self.balance = ZERO
        self.overdraft_limit = ZERO
        self.status = OPEN
        self.frozen = False

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    # Commands: guards first, then exactly one event.

    def deposit(
        self, amount: Decimal | int | str, transaction_id: UUID, description: str = ""
    ) -> None:
        """Pay money in, with an optional reference for the statement."""
        self._check_is_open()
        self._deposited(
            amount=to_amount(amount),
            transaction_id=transaction_id,
            description=clean_description(description),
        )

    def withdraw(self, amount: Decimal | int | str, transaction_id: UUID) -> None:
        """Take money out, down to the overdraft limit and no further."""
        self._check_is_open()
        self._check_not_frozen()
        checked = to_amount(amount)
        self._check_can_debit(checked)
        self._withdrawn(amount=checked, transaction_id=transaction_id)

    def send_transfer(
        self,
        amount: Decimal | int | str,
        to: Account,
        transaction_id: UUID,
        description: str = "",
    ) -> None:
        """Debit this account and credit ``to``: the two legs of one transfer.

        Both accounts get their event here, so saving both together records
        the transfer atomically or not at all.
        """
        if to.id == self.id:
            raise SameAccountTransferError
        self._check_is_open()
        to._check_is_open()
        self._check_not_frozen()  # a frozen account may still be paid into
        if to.currency != self.currency:
            msg = f"Cannot transfer {self.currency} to a {to.currency} account."
            raise CurrencyMismatchError(msg)
        checked = to_amount(amount)
        self._check_can_debit(checked)
        reference = clean_description(description)
        self._transfer_sent(
            amount=checked,
            to_account_id=to.id,
            transaction_id=transaction_id,
            description=reference,
        )
        to._transfer_received(
            amount=checked,
            from_account_id=self.id,
            transaction_id=transaction_id,
            description=reference,
        )

    def set_overdraft_limit(self, limit: Decimal | int | str, reason: str) -> None:
        """Allow the balance to go down to minus ``limit``, for ``reason``."""
        self._check_is_open()
        checked = to_overdraft_limit(limit)
        why = clean_reason(reason)
        if self.balance < -checked:
            msg = (
                f"The account already owes £{-self.balance}; the limit cannot be lower."
            )
            raise OverdraftLimitError(msg)
        self._overdraft_limit_set(limit=checked, reason=why)

    def freeze(self, reason: str) -> None:
        """Let money in but none out, for ``reason``, until unfrozen."""
        self._check_is_open()
        why = clean_reason(reason)
        if self.frozen:
            msg = "This account is frozen already."
            raise FreezeStateError(msg)
        self._frozen(reason=why)

    def unfreeze(self, reason: str) -> None:
        """Let money out again, for ``reason``."""
        self._check_is_open()
        why = clean_reason(reason)
        if not self.frozen:
            msg = "This account is not frozen."
            raise FreezeStateError(msg)
        self._unfrozen(reason=why)

    def reverse(
        self,
        original: DomainEvent,
        transaction_id: UUID,
        reason: str,
        *,
        may_overdraw: bool = False,
    ) -> None:
        """Undo ``original``, one of this account's movements, for ``reason``.

        A frozen account may be debited by a reversal: that is the bank
        taking back what it should not have paid, not the customer moving
        money. Below the overdraft limit only if ``may_overdraw`` (the
        caller then freezes the account in the same save).
        """
        self._check_is_open()
        leg = REVERSIBLE.get(type(original))
        if leg is None or original.originator_id != self.id:
            msg = "Only this account's deposits, withdrawals and transfers reverse."
            raise ReversalError(msg)
        why = clean_reason(reason)
        change = -signed_amount(original)
        if change < ZERO and not may_overdraw:
            self._check_can_debit(-change)
        other = getattr(original, "to_account_id", None)
        self._reversed(
            amount=change,
            transaction_id=transaction_id,
            reverses=original.transaction_id,  # type: ignore[attr-defined]
            original=leg,
            counterparty_id=other or getattr(original, "from_account_id", None),
            reason=why,
        )

    def assign_number(self, number: str) -> None:
        """Number an account opened before accounts had numbers."""
        if self.number:
            msg = f"The account already has the number {self.number}."
            raise InvalidAccountNumberError(msg)
        if not is_well_formed(number):
            msg = f"{number!r} is not an account number."
            raise InvalidAccountNumberError(msg)
        self._number_assigned(number=number)

    def close(self) -> None:
        """Close the account for good; only an empty account can be closed."""
        self._check_is_open()
        if self.frozen:
            raise AccountFrozenError(self.id, "it cannot be closed")
        if self.balance != ZERO:
            raise BalanceNotZeroError(self.id)
        self.trigger_event(self.Closed)

    # Guards.

    def _check_is_open(self) -> None:
        if self.is_closed:
            raise AccountClosedError(self.id)

    def _check_not_frozen(self) -> None:
        if self.frozen:
            raise AccountFrozenError(self.id)

    def _check_can_debit(self, amount: Decimal) -> None:
        if self.balance - amount < -self.overdraft_limit:
            raise InsufficientFundsError(self.id)

    # Events: these only change state, and run again on every replay.

    @event(Deposited)
    def _deposited(
        self, amount: Decimal, transaction_id: UUID, description: str
    ) -> None:
        self.balance += amount

    @event("Withdrawn")
    def _withdrawn(self, amount: Decimal, transaction_id: UUID) -> None:
        self.balance -= amount

    @event(TransferSent)
    def _transfer_sent(
        self,
        amount: Decimal,
        to_account_id: UUID,
        transaction_id: UUID,
        description: str,
    ) -> None:
        self.balance -= amount

    @event(TransferReceived)
    def _transfer_received(
        self,
        amount: Decimal,
        from_account_id: UUID,
        transaction_id: UUID,
        description: str,
    ) -> None:
        self.balance += amount

    @event("NumberAssigned")
    def _number_assigned(self, number: str) -> None:
        self.number = number

    @event(OverdraftLimitSet)
    def _overdraft_limit_set(self, limit: Decimal, reason: str) -> None:
        self.overdraft_limit = limit

    @event(Reversed)
    def _reversed(  # noqa: PLR0917 (an event's fields)
        self,
        amount: Decimal,
        transaction_id: UUID,
        reverses: UUID,
        original: str,
        counterparty_id: UUID | None,
        reason: str,
    ) -> None:
        self.balance += amount

    @event(Frozen)
    def _frozen(self, reason: str) -> None:
        self.frozen = True

    @event(Unfrozen)
    def _unfrozen(self, reason: str) -> None:
        self.frozen = False


# The event classes, named once so policies and views can refer to them.
AccountOpened = Account.Opened
Deposited = Account.Deposited
Withdrawn = Account.Withdrawn  # type: ignore[attr-defined]
TransferSent = Account.TransferSent
TransferReceived = Account.TransferReceived
OverdraftLimitSet = Account.OverdraftLimitSet
AccountFrozen = Account.Frozen
AccountUnfrozen = Account.Unfrozen
NumberAssigned = Account.NumberAssigned  # type: ignore[attr-defined]
Reversed = Account.Reversed
AccountClosed = Account.Closed

# The movements a reversal can undo, and the name its event gives each leg.
REVERSIBLE: dict[type[DomainEvent], str] = {
    Deposited: "deposit",
    Withdrawn: "withdrawal",
    TransferSent: "transfer sent",
    TransferReceived: "transfer received",
}


class AccountNumber(Aggregate):
    """One account number, taken by one account: set validation.

    "No two accounts share a number" is a rule about the set of all
    accounts, which no single Account can check. Its id is derived from the
    number and it is saved in the same transaction as the account it
    numbers, so the event store's uniqueness of (id, version) refuses a
    second account with the same number, whichever process opens it: the
    command then tries again with another number. Reading it back by id
    finds the account a number belongs to, with no index to keep.
    """

    @staticmethod
    def create_id(number: str) -> UUID:
        return uuid5(BANK_NAMESPACE, f"account-number:{number}")

    @event("Reserved")
    def __init__(self, number: str, account_id: UUID) -> None:
        self.number = number
        self.account_id = account_id


AccountNumberReserved = AccountNumber.Reserved  # type: ignore[attr-defined]


@aggregate(created_event_name="Issued")
class Receipt:
    """Proof that the command sent with one idempotency key was carried out.

    Saved in the same transaction as the money it moved, so a key is used
    up exactly when its money moves. Its id is derived from the key: a
    second save for the same key collides with the first and is refused
    by the event store itself, even across processes.
    """

    # Departs from the library (9.5.6): the standard way is ``@aggregate`` on
    # a plain class, nothing more. But the decorator builds a new Aggregate
    # subclass from this class's namespace, and a plain class's namespace
    # holds its own ``__dict__`` descriptor, which does not apply to the new
    # class's instances: ``copy.deepcopy`` (how the aggregate cache hands out
    # aggregates), ``==``, ``repr`` and snapshots of a Receipt then raise
    # TypeError. Empty slots leave no such descriptor, and instances get
    # their ``__dict__`` from Aggregate. What would remove the need: the
    # decorator leaving ``__dict__`` and ``__weakref__`` out of the namespace
    # it copies. Hidden from mypy, which does not see that base and would
    # refuse the attributes set below.
    if not TYPE_CHECKING:
        __slots__ = ()

    @staticmethod
    def create_id(idempotency_key: str) -> UUID:
        return uuid5(BANK_NAMESPACE, f"receipt:{idempotency_key}")

    def __init__(
        self, idempotency_key: str, command: str, transaction_id: UUID
    ) -> None:
        self.idempotency_key = idempotency_key
        self.command = command
        self.transaction_id = transaction_id


ReceiptIssued = Receipt.Issued  # type: ignore[attr-defined]


class AccountIndexed(DomainEvent):
    """An entry in an event-sourced log of account ids (all, or one owner's)."""

    account_id: UUID


ALL_ACCOUNTS_LOG_ID = uuid5(BANK_NAMESPACE, "accounts")


def owner_log_id(owner: str) -> UUID:
    """The id of the event-sourced log that lists one owner's accounts."""
    return uuid5(BANK_NAMESPACE, f"accounts-of:{owner}")


def clean_description(value: str) -> str:
    """Return a deposit's description stripped; empty is allowed."""
    return _readable(
        value, "The description", MAX_DESCRIPTION_LENGTH, InvalidDescriptionError
    )


def clean_reason(value: str) -> str:
    """Return a staff operation's reason stripped; it must say something."""
    if not (value.strip() if isinstance(value, str) else ""):
        msg = "Give a reason: it is recorded with the change."
        raise InvalidReasonError(msg)
    return _readable(value, "The reason", MAX_REASON_LENGTH, InvalidReasonError)


def clean_name(value: str, what: str) -> str:
    """Return ``value`` stripped, refusing empty, unreadable or overlong names."""
    if not (value.strip() if isinstance(value, str) else ""):
        msg = f"The {what} cannot be empty."
        raise InvalidAccountNameError(msg)
    return _readable(value, f"The {what}", MAX_NAME_LENGTH, InvalidAccountNameError)


def _readable(value: str, what: str, most: int, error: type[BankError]) -> str:
    """``value`` stripped, or ``error`` if it is longer than ``most`` or unreadable.

    Unreadable: blank-looking or direction-reversing (``accounts/visible_text.py``).
    """
    cleaned = value.strip() if isinstance(value, str) else ""
    problem = unreadable(cleaned, what)
    if problem:
        raise error(problem)
    if len(cleaned) > most:
        msg = f"{what} can be at most {most} characters."
        raise error(msg)
    return cleaned


def signed_amount(domain_event: DomainEvent) -> Decimal:
    """How much a money event changed its account's balance (+ in, - out)."""
    amount: Decimal = domain_event.amount  # type: ignore[attr-defined]
    if isinstance(domain_event, Withdrawn | TransferSent):  # a Reversed is signed
        return -amount
    return amount
