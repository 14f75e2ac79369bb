"""The reversal of one transaction: a long-running process as an aggregate.

A small reversal is asked for and carried out in one go. A large one needs
four eyes: it waits, as a request, until a second member of staff approves
or rejects it, which may be minutes or days later and in another process.
What happened so far, and what may happen next, is this aggregate's state,
rebuilt from its events like any other:

    Requested, up to FOUR_EYES_ABOVE ──▶ CarriedOut
    Requested, more ──▶ (pending) ──▶ Approved ──▶ CarriedOut
                           └───────▶ Rejected ──▶ RequestedAgain ──▶ (pending)

It is a transaction of its own (``transaction_id``, the id its accounts'
``Reversed`` events carry) that ``reverses`` another. Its id is derived
from the transaction it reverses, so "a transaction is
reversed at most once" is kept by the event store itself: two requests for
the same transaction, from any processes, are two ``Requested`` events at
version 1 of the same aggregate, and the second is refused. ``CarriedOut``
is saved in the same transaction as the accounts' ``Reversed`` events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, DomainEvent, event

from accounts.domain import BANK_NAMESPACE, clean_reason
from accounts.errors import ReversalError, SameStaffApprovalError

if TYPE_CHECKING:
    from datetime import datetime

# Reversals of more than this need a second member of staff to approve them.
FOUR_EYES_ABOVE = Decimal("1000.00")

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
CARRIED_OUT = "carried out"


class Reversal(Aggregate):
    """Putting one transaction right, from the request to the money moving back."""

    @staticmethod
    def create_id(reverses: UUID) -> UUID:
        return uuid5(BANK_NAMESPACE, f"reversal:{reverses}")

    @classmethod
    def request(  # noqa: PLR0917 (what a request says)
        cls,
        reverses: UUID,
        transaction_id: UUID,
        kind: str,
        amount: Decimal,
        account_ids: tuple[UUID, ...],
        requested_by: str,
        reason: str,
        *,
        freeze: bool,
    ) -> Reversal:
        """Ask for ``reverses`` to be reversed, as ``transaction_id``.

        The reversal's own transaction id is chosen now, so a request sent
        twice, or carried out after a lost reply, is recognised by it.
        """
        return cls(
            reverses=reverses,
            transaction_id=transaction_id,
            kind=kind,
            amount=amount,
            account_ids=list(account_ids),
            requested_by=requested_by,
            reason=clean_reason(reason),
            freeze=freeze,
        )

    @event("Requested")
    def __init__(  # noqa: PLR0917 (an event's fields)
        self,
        reverses: UUID,
        transaction_id: UUID,
        kind: str,
        amount: Decimal,
        account_ids: list[UUID],
        requested_by: str,
        reason: str,
        freeze: bool,
    ) -> None:
        self.reverses = reverses
        self.kind = kind
        self.amount = amount
        self.account_ids = account_ids
        self._asked(transaction_id, requested_by, reason, freeze=freeze)

    @property
    def needs_approval(self) -> bool:
        """Whether a second member of staff must approve it first."""
        return self.amount > FOUR_EYES_ABOVE

    @property
    def is_pending(self) -> bool:
        return self.status == PENDING

    @property
    def requested_at(self) -> datetime:
        return self.created_on

    # Commands: guards first, then one event.

    def request_again(
        self, transaction_id: UUID, requested_by: str, reason: str, *, freeze: bool
    ) -> None:
        """Ask again for a reversal that was rejected, as ``transaction_id``."""
        if self.status != REJECTED:
            raise ReversalError(self._already())
        self._requested_again(
            transaction_id=transaction_id,
            requested_by=requested_by,
            reason=clean_reason(reason),
            freeze=freeze,
        )

    def approve(self, approved_by: str) -> None:
        """A second member of staff agrees: it may now be carried out."""
        if self.status != PENDING or not self.needs_approval:
            raise ReversalError(self._already())
        if approved_by == self.requested_by:
            raise SameStaffApprovalError
        self._approved(approved_by=approved_by)

    def reject(self, rejected_by: str, reason: str) -> None:
        """A member of staff refuses it; nothing is reversed."""
        if self.status != PENDING:
            raise ReversalError(self._already())
        self._rejected(rejected_by=rejected_by, reason=clean_reason(reason))

    def carry_out(self) -> None:
        """Record that the accounts' compensating events are saved with this."""
        ready = self.status == APPROVED or (
            self.status == PENDING and not self.needs_approval
        )
        if not ready:
            raise ReversalError(self._already())
        self._carried_out()

    def _already(self) -> str:
        if self.status == PENDING:
            return (
                "This reversal is waiting for a second member of staff to approve it."
            )
        if self.status == APPROVED:
            return "This reversal was approved and is being carried out."
        if self.status == CARRIED_OUT:
            return "This transaction has been reversed already."
        return f"This reversal was rejected by {self.decided_by}."

    # Events.

    @event("RequestedAgain")
    def _requested_again(
        self,
        transaction_id: UUID,
        requested_by: str,
        reason: str,
        freeze: bool,
    ) -> None:
        self._asked(transaction_id, requested_by, reason, freeze=freeze)

    def _asked(
        self, transaction_id: UUID, requested_by: str, reason: str, *, freeze: bool
    ) -> None:
        """State of a request just made, first or again: no event of its own."""
        self.transaction_id = transaction_id
        self.requested_by = requested_by
        self.reason = reason
        self.freeze = freeze
        self.status = PENDING
        self.decided_by = ""
        self.decision_reason = ""

    @event("Approved")
    def _approved(self, approved_by: str) -> None:
        self.status = APPROVED
        self.decided_by = approved_by

    @event("Rejected")
    def _rejected(self, rejected_by: str, reason: str) -> None:
        self.status = REJECTED
        self.decided_by = rejected_by
        self.decision_reason = reason

    @event("CarriedOut")
    def _carried_out(self) -> None:
        self.status = CARRIED_OUT


class ReversalIndexed(DomainEvent):
    """An entry in the event-sourced log of every reversal asked for."""

    reversal_id: UUID


REVERSALS_LOG_ID = uuid5(BANK_NAMESPACE, "reversals")


ReversalRequested = Reversal.Requested  # type: ignore[attr-defined]
ReversalRequestedAgain = Reversal.RequestedAgain  # type: ignore[attr-defined]
ReversalApproved = Reversal.Approved  # type: ignore[attr-defined]
ReversalRejected = Reversal.Rejected  # type: ignore[attr-defined]
ReversalCarriedOut = Reversal.CarriedOut  # type: ignore[attr-defined]

# A reversal's own progress and the list of reversals: none of these moves
# money (its accounts' ``Reversed`` events do), so every follower of
# Accounts registers them together, as events it leaves alone.
REVERSAL_PROGRESS = (
    ReversalRequested
    | ReversalRequestedAgain
    | ReversalApproved
    | ReversalRejected
    | ReversalCarriedOut
    | ReversalIndexed
)
