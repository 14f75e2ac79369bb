"""The account aggregate, its events, and the other things the bank records.

Nothing here imports Django: the domain can be built, read and tested alone.

Each public command method checks its guards first and only then calls a
private ``@event`` method. The guards therefore run once, when the command
is given, and never again when the account is rebuilt from its history:
a rule that changes later cannot make old, valid history fail to load.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event

from accounts.errors import (
    AccountClosedError,
    BalanceNotZeroError,
    CurrencyMismatchError,
    InsufficientFundsError,
    InvalidAccountNameError,
    OverdraftLimitError,
    SameAccountTransferError,
)
from accounts.money import CURRENCY, ZERO, to_amount, to_overdraft_limit

# Ids of things found by name (logs, receipts) are uuid5s in the bank's
# own namespace, so every process derives the same id without a lookup.
BANK_NAMESPACE = uuid5(NAMESPACE_URL, "https://esbank.example/")

MAX_NAME_LENGTH = 100


class Account(Aggregate):
    """A customer's current account: a balance in one currency."""

    @classmethod
    def open(cls, owner: str, name: str, currency: str = CURRENCY) -> Account:
        """Open a new, empty account for ``owner``."""
        return cls(
            owner=_clean_name(owner, "owner"),
            name=_clean_name(name, "account name"),
            currency=currency,
        )

    @event("Opened")
    def __init__(self, owner: str, name: str, currency: str) -> None:
        self.owner = owner
        self.name = name
        self.currency = currency
        self.balance = ZERO
        self.overdraft_limit = ZERO
        self.is_closed = False

    # Commands: guards first, then exactly one event.

    def deposit(self, amount: Decimal | int | str, transaction_id: UUID) -> None:
        """Pay money in."""
        self._check_is_open()
        self._deposited(amount=to_amount(amount), transaction_id=transaction_id)

    def withdraw(self, amount: Decimal | int | str, transaction_id: UUID) -> None:
        """Take money out, down to the overdraft limit and no further."""
        self._check_is_open()
        checked = to_amount(amount)
        self._check_can_debit(checked)
        self._withdrawn(amount=checked, transaction_id=transaction_id)

    def send_transfer(
        self, amount: Decimal | int | str, to: Account, transaction_id: UUID
    ) -> None:
        """Debit this account and credit ``to``: the two legs of one transfer.

        Both accounts get their event here, so saving both together records
        the transfer atomically or not at all.
        """
        if to.id == self.id:
            raise SameAccountTransferError
        self._check_is_open()
        to._check_is_open()
        if to.currency != self.currency:
            msg = f"Cannot transfer {self.currency} to a {to.currency} account."
            raise CurrencyMismatchError(msg)
        checked = to_amount(amount)
        self._check_can_debit(checked)
        self._transfer_sent(
            amount=checked, to_account_id=to.id, transaction_id=transaction_id
        )
        to._transfer_received(
            amount=checked, from_account_id=self.id, transaction_id=transaction_id
        )

    def set_overdraft_limit(self, limit: Decimal | int | str) -> None:
        """Allow the balance to go down to minus ``limit``."""
        self._check_is_open()
        checked = to_overdraft_limit(limit)
        if self.balance < -checked:
            msg = (
                f"The account already owes £{-self.balance}; the limit cannot be lower."
            )
            raise OverdraftLimitError(msg)
        self._overdraft_limit_set(limit=checked)

    def close(self) -> None:
        """Close the account for good; only an empty account can be closed."""
        self._check_is_open()
        if self.balance != ZERO:
            raise BalanceNotZeroError(self.id)
        self._closed()

    # Guards.

    def _check_is_open(self) -> None:
        if self.is_closed:
            raise AccountClosedError(self.id)

    def _check_can_debit(self, amount: Decimal) -> None:
        if self.balance - amount < -self.overdraft_limit:
            raise InsufficientFundsError(self.id)

    # Events: these only change state, and run again on every replay.

    @event("Deposited")
    def _deposited(self, amount: Decimal, transaction_id: UUID) -> None:
        self.balance += amount

    @event("Withdrawn")
    def _withdrawn(self, amount: Decimal, transaction_id: UUID) -> None:
        self.balance -= amount

    @event("TransferSent")
    def _transfer_sent(
        self, amount: Decimal, to_account_id: UUID, transaction_id: UUID
    ) -> None:
        self.balance -= amount

    @event("TransferReceived")
    def _transfer_received(
        self, amount: Decimal, from_account_id: UUID, transaction_id: UUID
    ) -> None:
        self.balance += amount

    @event("OverdraftLimitSet")
    def _overdraft_limit_set(self, limit: Decimal) -> None:
        self.overdraft_limit = limit

    @event("Closed")
    def _closed(self) -> None:
        self.is_closed = True


# The event classes, named once so policies and views can refer to them.
AccountOpened = Account.Opened  # type: ignore[attr-defined]
Deposited = Account.Deposited  # type: ignore[attr-defined]
Withdrawn = Account.Withdrawn  # type: ignore[attr-defined]
TransferSent = Account.TransferSent  # type: ignore[attr-defined]
TransferReceived = Account.TransferReceived  # type: ignore[attr-defined]
OverdraftLimitSet = Account.OverdraftLimitSet  # type: ignore[attr-defined]
AccountClosed = Account.Closed  # type: ignore[attr-defined]

MONEY_EVENTS = (Deposited, Withdrawn, TransferSent, TransferReceived)


class Receipt(Aggregate):
    """Proof that the command sent with one idempotency key was carried out.

    Saved in the same transaction as the money it moved, so a key is used
    up exactly when its money moves. Its id is derived from the key: a
    second save for the same key collides with the first and is refused
    by the event store itself, even across processes.
    """

    @staticmethod
    def create_id(idempotency_key: str) -> UUID:
        return uuid5(BANK_NAMESPACE, f"receipt:{idempotency_key}")

    @event("Issued")
    def __init__(
        self, idempotency_key: str, command: str, transaction_id: UUID
    ) -> None:
        self.idempotency_key = idempotency_key
        self.command = command
        self.transaction_id = transaction_id


class AccountIndexed(DomainEvent):
    """An entry in an event-sourced log of account ids (all, or one owner's)."""

    account_id: UUID


ALL_ACCOUNTS_LOG_ID = uuid5(BANK_NAMESPACE, "accounts")


def owner_log_id(owner: str) -> UUID:
    """The id of the event-sourced log that lists one owner's accounts."""
    return uuid5(BANK_NAMESPACE, f"accounts-of:{owner}")


def _clean_name(value: str, what: str) -> str:
    """Return ``value`` stripped, refusing empty or overlong names."""
    cleaned = value.strip() if isinstance(value, str) else ""
    if not cleaned:
        msg = f"The {what} cannot be empty."
        raise InvalidAccountNameError(msg)
    if len(cleaned) > MAX_NAME_LENGTH:
        msg = f"The {what} can be at most {MAX_NAME_LENGTH} characters."
        raise InvalidAccountNameError(msg)
    return cleaned


def signed_amount(domain_event: DomainEvent) -> Decimal:
    """How much a money event changed its account's balance (+ in, - out)."""
    amount: Decimal = domain_event.amount  # type: ignore[attr-defined]
    if isinstance(domain_event, Withdrawn | TransferSent):
        return -amount
    return amount
