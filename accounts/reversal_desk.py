"""Reversals: putting a transaction right with compensating events.

Beside the application (``Accounts`` builds one as ``accounts.reversals``).
Every command reads as the others do: load, call, save. A reversal is a
``Reversal`` aggregate (``accounts/reversal.py``) and, when it is carried
out, one ``Reversed`` event on each account the transaction moved money
in, all saved in one database transaction: both legs of a transfer are put
right together or not at all. A large one waits for a second member of
staff (``approve``), so its request is saved alone first.

Commands go through ``CommandRunner.move_money`` like every money command:
retried on a conflict, and at most once per idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.application import AggregateNotFoundError, EventSourcedLog

from accounts.domain import (
    REVERSIBLE,
    Reversed,
    TransferReceived,
    clean_reason,
    signed_amount,
)
from accounts.errors import (
    ReversalError,
    ReversalNotFoundError,
    TransactionNotFoundError,
)
from accounts.only_accounts import project_reversal
from accounts.reversal import REVERSALS_LOG_ID, Reversal, ReversalIndexed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from decimal import Decimal
    from uuid import UUID

    from eventsourcing.domain import DomainEvent

    from accounts.commands import CommandRunner, Movement
    from accounts.domain import Account

# What ``Reversal.kind`` says, from the leg of the original found first.
KIND_OF_LEG = {
    "deposit": "deposit",
    "withdrawal": "withdrawal",
    "transfer sent": "transfer",
    "transfer received": "transfer",
}


@dataclass(frozen=True)
class ReversalSummary:
    """A reversal as pages show it."""

    id: UUID
    reverses: UUID
    transaction_id: UUID
    kind: str
    amount: Decimal
    account_ids: tuple[UUID, ...]
    requested_by: str
    requested_at: datetime
    reason: str
    freeze: bool
    status: str
    decided_by: str
    decision_reason: str
    needs_approval: bool
    version: int

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    @classmethod
    def of(cls, reversal: Reversal) -> ReversalSummary:
        return cls(
            id=reversal.id,
            reverses=reversal.reverses,
            transaction_id=reversal.transaction_id,
            kind=reversal.kind,
            amount=reversal.amount,
            account_ids=tuple(reversal.account_ids),
            requested_by=reversal.requested_by,
            requested_at=reversal.requested_at,
            reason=reversal.reason,
            freeze=reversal.freeze,
            status=reversal.status,
            decided_by=reversal.decided_by,
            decision_reason=reversal.decision_reason,
            needs_approval=reversal.needs_approval,
            version=reversal.version,
        )


class AccountsApplication(Protocol):
    """What the desk needs of ``Accounts``."""

    commands: CommandRunner

    @property
    def events(self) -> Any:
        """The application's event store."""

    @property
    def repository(self) -> Any:
        """The application's repository."""

    def _get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or AccountNotFoundError."""

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Record the aggregates' new events in one transaction."""


Leg = tuple["Account", "DomainEvent"]


class ReversalDesk:
    """Reverses transactions: at once when small, after approval when large."""

    def __init__(self, app: AccountsApplication) -> None:
        self.app = app
        self.log = EventSourcedLog(app.events, REVERSALS_LOG_ID, ReversalIndexed)

    # Commands.

    def reverse(
        self,
        transaction_id: UUID,
        account_id: UUID,
        requested_by: str,
        reason: str,
        *,
        freeze: bool = False,
        idempotency_key: str | None = None,
    ) -> ReversalSummary:
        """Reverse the transaction recorded on ``account_id``, or ask to.

        Carried out at once up to ``FOUR_EYES_ABOVE``; above it, recorded
        as a request for another member of staff to approve. ``freeze``:
        also freeze each account the money is taken back from, which lets
        the reversal take it below its overdraft limit.
        """
        reason = clean_reason(reason)

        def reverse(movement: Movement) -> None:
            legs = self._legs(transaction_id, account_id, original)
            reversal = self._find(transaction_id)
            index_entry = []
            if reversal is None:
                reversal = Reversal.request(
                    reverses=transaction_id,
                    transaction_id=movement.transaction_id,
                    kind=KIND_OF_LEG[REVERSIBLE[type(legs[0][1])]],
                    amount=legs[0][1].amount,  # type: ignore[attr-defined]
                    account_ids=tuple(account.id for account, _ in legs),
                    requested_by=requested_by,
                    reason=reason,
                    freeze=freeze,
                )
                index_entry.append(self.log.trigger_event(reversal_id=reversal.id))
            else:
                reversal.request_again(
                    movement.transaction_id, requested_by, reason, freeze=freeze
                )
            # Checked now, even when it waits: refused at once, not at approval.
            accounts = self._compensate(reversal, legs)
            if reversal.needs_approval:
                movement.save(reversal, *index_entry)  # the accounts wait
            else:
                reversal.carry_out()
                movement.save(*accounts, reversal, *index_entry)

        freezing = "freeze" if freeze else "keep"
        command = f"reverse {transaction_id} {account_id} {freezing} {reason}"
        # Every account it touches is locked before any is read, in one
        # order, or two commands on the same two accounts could each hold
        # one and wait for the other: the original says which they are.
        original = self._original(transaction_id, account_id)
        other_id = _other_account(original)
        locked = [account_id] if other_id is None else [account_id, other_id]
        self.app.commands.move_money(
            command,
            reverse,
            idempotency_key,
            *locked,
            Reversal.create_id(transaction_id),
            REVERSALS_LOG_ID,
        )
        return self.of_transaction(transaction_id)  # type: ignore[return-value]

    def approve(
        self,
        reversal_id: UUID,
        approved_by: str,
        *,
        idempotency_key: str | None = None,
    ) -> ReversalSummary:
        """A second member of staff approves: the reversal is carried out."""
        first = self._get(reversal_id)

        def approve(movement: Movement) -> None:
            # The accounts first, then the request: a reversal carried out
            # meanwhile (with its accounts, in one save) is then seen as
            # carried out, not as money already gone.
            legs = self._legs(first.reverses, first.account_ids[0])
            reversal = self._get(reversal_id)
            reversal.approve(approved_by)
            accounts = self._compensate(reversal, legs)
            reversal.carry_out()
            movement.save(*accounts, reversal)

        self.app.commands.move_money(
            f"approve reversal {reversal_id}",
            approve,
            idempotency_key,
            *first.account_ids,
            reversal_id,
            transaction_id=first.transaction_id,
        )
        approved = self.get(reversal_id)
        # Another approval carrying it out first records the same transaction
        # id, which a retry takes for its own lost reply: it is not.
        if approved.decided_by != approved_by:
            msg = f"This reversal was approved by {approved.decided_by} meanwhile."
            raise ReversalError(msg)
        return approved

    def reject(self, reversal_id: UUID, rejected_by: str, reason: str) -> None:
        """A member of staff refuses the reversal: nothing moves."""
        reason = clean_reason(reason)

        def reject() -> None:
            reversal = self._get(reversal_id)
            reversal.reject(rejected_by, reason)
            self.app.save(reversal)

        self.app.commands.retrying(reject, reversal_id)

    # Queries.

    def get(self, reversal_id: UUID) -> ReversalSummary:
        """The reversal with this id, or ReversalNotFoundError."""
        return ReversalSummary.of(self._get(reversal_id))

    def of_transaction(self, transaction_id: UUID) -> ReversalSummary | None:
        """The reversal of ``transaction_id``, if one was asked for."""
        reversal = self._find(transaction_id)
        return None if reversal is None else ReversalSummary.of(reversal)

    def list_reversals(
        self, *, before: int | None = None, limit: int = 50
    ) -> list[tuple[int, ReversalSummary]]:
        """Newest first, each with its place in the log (page back with it)."""
        lte = None if before is None else before - 1
        return [
            (entry.originator_version, self.get(entry.reversal_id))
            for entry in self.log.get(desc=True, lte=lte, limit=limit)
        ]

    def all_reversals(self) -> Iterator[ReversalSummary]:
        """Every reversal ever asked for, oldest first (for the audit)."""
        for entry in self.log.get():
            yield self.get(entry.reversal_id)

    # Helpers.

    def _original(self, transaction_id: UUID, account_id: UUID) -> DomainEvent | None:
        """The account's movement for the transaction, read without a lock.

        Events never change, so what is read here holds under the lock too.
        None when there is none: ``_legs`` then refuses, under the lock.
        """
        try:
            return self._movement(account_id, transaction_id)
        except ReversalError:
            return None

    def _legs(
        self,
        transaction_id: UUID,
        account_id: UUID,
        original: DomainEvent | None = None,
    ) -> list[Leg]:
        """Each account the transaction moved money in, with its event there.

        The account named first; for a transfer, the other side second.
        """
        account = self.app._get_account(account_id)
        if original is None:
            original = self._movement(account.id, transaction_id)
        legs: list[Leg] = [(account, original)]
        other_id = _other_account(original)
        if other_id is not None:
            other = self.app._get_account(other_id)
            legs.append((other, self._movement(other.id, transaction_id)))
        if isinstance(original, TransferReceived):
            legs.reverse()  # the sending leg first, as the transaction log has it
        return legs

    def _movement(self, account_id: UUID, transaction_id: UUID) -> DomainEvent:
        """The account's event that moved money for ``transaction_id``."""
        for recorded in self.app.events.get(account_id, desc=True):
            if getattr(recorded, "transaction_id", None) != transaction_id:
                continue
            if isinstance(recorded, Reversed):
                msg = "This is a reversal: a reversal cannot itself be reversed."
                raise ReversalError(msg)
            if type(recorded) in REVERSIBLE:
                return recorded
        raise TransactionNotFoundError(transaction_id)

    @staticmethod
    def _compensate(reversal: Reversal, legs: list[Leg]) -> list[Account]:
        """Record each leg's ``Reversed`` (and the freeze asked for) on its account."""
        accounts = []
        for account, original in legs:
            account.reverse(
                original,
                reversal.transaction_id,
                reversal.reason,
                may_overdraw=reversal.freeze,
            )
            taken_back = signed_amount(original) > 0
            if reversal.freeze and taken_back and not account.frozen:
                account.freeze(reversal.reason)
            accounts.append(account)
        return accounts

    def _find(self, transaction_id: UUID) -> Reversal | None:
        try:
            return self._get(Reversal.create_id(transaction_id))
        except ReversalNotFoundError:
            return None

    def _get(self, reversal_id: UUID) -> Reversal:
        try:
            reversal = self.app.repository.get(
                reversal_id, projector_func=project_reversal
            )
        except AggregateNotFoundError:
            raise ReversalNotFoundError(reversal_id) from None
        if not isinstance(reversal, Reversal):
            raise ReversalNotFoundError(reversal_id)
        return reversal


def _other_account(original: DomainEvent | None) -> UUID | None:
    """The other account of a transfer's leg; None for a deposit or withdrawal."""
    return getattr(original, "to_account_id", None) or getattr(
        original, "from_account_id", None
    )
