"""Running the Accounts commands safely when requests race each other.

Skip on a first read. ``Accounts`` reads as the library's examples do: load
an aggregate, call one method, save. This module is what makes that safe in
a web application, where many requests act on the same accounts at once and
a browser may send the same form twice:

- **Retries.** Two requests that load the same account and both save
  collide on the event's ``(originator_id, version)``; the store refuses the
  second with ``IntegrityError``. ``retrying`` reloads and tries again, a
  few times, with jittered backoff, then gives up with ``ConflictError``.
- **Lock stripes.** Within one process, commands on the same account take
  turns on striped locks (always taken in the same order, so two transfers
  in opposite directions cannot deadlock): threads never collide, and
  retries are left for races with other processes.
- **Idempotent receipts.** A money command may carry an idempotency key. A
  ``Receipt`` whose id is derived from the key is saved in the same
  transaction as the money, without looking for it first: if the key was
  used before, the store refuses the whole save, and only then is the
  receipt read, to answer with the first outcome.
- **Lost replies.** Every attempt of a command uses the same transaction
  id. If a save committed but its reply was lost (the library retries an
  insert after a dropped connection, and the retry then collides with what
  committed), the next attempt finds that id among what was recorded and
  returns it, instead of moving the money a second time.

See docs/ARCHITECTURE.md, "Commands under concurrency" and "Idempotency".
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from accounts.domain import Receipt
from accounts.errors import BankError, ConflictError, IdempotencyKeyReusedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, DomainEvent

    from accounts.domain import Account

T = TypeVar("T")

# In-process locks that commands on the same account share.
LOCK_STRIPES = 64


class Movement:
    """One attempt at moving money: its transaction id, and how to save it.

    Every attempt of a command gets the same transaction id, so a commit
    whose reply was lost is recognised by the next attempt.
    """

    def __init__(
        self,
        app: Application[UUID],
        command: str,
        idempotency_key: str | None,
        transaction_id: UUID | None = None,
    ) -> None:
        self.app = app
        self.command = command
        self.idempotency_key = idempotency_key
        self.transaction_id = transaction_id or uuid4()
        # The first account saved, and its version before this attempt.
        self.first_account: tuple[UUID, int] | None = None

    def save(
        self, first: Aggregate | Account, *others: Aggregate | DomainEvent
    ) -> None:
        """Save the aggregates and the command's receipt in one transaction.

        ``first`` must record an event with the transaction id.
        """
        self.first_account = (first.id, first.version - len(first.pending_events))
        receipt = None
        if self.idempotency_key is not None:
            # A new one each attempt: a refused save has used up its events.
            receipt = Receipt(
                idempotency_key=self.idempotency_key,
                command=self.command,
                transaction_id=self.transaction_id,
            )
        # @aggregate made Receipt an Aggregate, which mypy cannot see.
        self.app.save(first, *others, cast("Aggregate | None", receipt))


class CommandRunner:
    """Runs one application's commands: retried, in turn, at most once per key."""

    max_attempts = 8
    retry_base_delay = 0.005

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        # Reentrant: a command holds its accounts' stripes while it reads them.
        self._stripes = [threading.RLock() for _ in range(LOCK_STRIPES)]

    def holding(self, aggregate_id: UUID) -> threading.RLock:
        """The lock commands on ``aggregate_id`` hold in this process.

        Reads of the latest account hold it too. Departs from the library
        (9.5.6): the standard way is a plain ``repository.get(id)`` with the
        aggregate cache on. But the library brings the cached aggregate up
        to date under a lock of its own and deep-copies it after releasing
        that lock: a copy taken while another thread updated it could pair a
        new version with an old balance, pass a guard against money that is
        gone, and save without a conflict. What would remove the need: the
        repository copying the cached aggregate under the same lock.
        """
        return self._stripes[self._stripe_number(aggregate_id)]

    def retrying(self, attempt: Callable[[], T], *aggregate_ids: UUID) -> T:
        """Call ``attempt`` until it saves without a version conflict.

        Holds the stripes of ``aggregate_ids`` throughout, taken in one
        order, so threads of this process never collide on them.
        """
        stripes = sorted({self._stripe_number(i) for i in aggregate_ids})
        with contextlib.ExitStack() as held:
            for stripe in stripes:
                held.enter_context(self._stripes[stripe])
            for attempt_number in range(self.max_attempts):
                try:
                    return attempt()
                except IntegrityError:
                    # Another process saved one of these aggregates first:
                    # back off a little (with jitter), reload and try again.
                    delay = self.retry_base_delay * 2**attempt_number
                    time.sleep(random.uniform(0, delay))  # noqa: S311
        raise ConflictError

    def move_money(
        self,
        command: str,
        move: Callable[[Movement], None],
        idempotency_key: str | None,
        *account_ids: UUID,
        transaction_id: UUID | None = None,
    ) -> UUID:
        """Run a money command once, and at most once per idempotency key.

        ``command`` describes it exactly (kind, accounts, amount), so a key
        that comes back with a different command is refused. ``move`` loads
        the accounts, calls them and saves them with ``Movement.save``.
        Returns the transaction id (``transaction_id`` if given, else a new
        one), the first one for a repeated key.
        """
        movement = Movement(self.app, command, idempotency_key, transaction_id)

        def attempt() -> UUID:
            if movement.first_account and self._has_recorded(movement):
                return movement.transaction_id
            try:
                move(movement)
            except (BankError, IntegrityError):
                # Refused by an account (not enough money now, say) or by the
                # store (this key's receipt exists, or another process saved
                # one of these accounts first). A key used before answers as
                # it did then; otherwise the refusal stands, and a conflict
                # is tried again.
                first = self._first_outcome(idempotency_key, command)
                if first is None:
                    raise
                return first
            return movement.transaction_id

        return self.retrying(attempt, *account_ids)

    def _stripe_number(self, aggregate_id: UUID) -> int:
        return hash(aggregate_id) % len(self._stripes)

    def _has_recorded(self, movement: Movement) -> bool:
        """Whether the last attempt's save in fact committed (its reply lost)."""
        account_id, version_before = cast("tuple[UUID, int]", movement.first_account)
        movement.first_account = None
        return any(
            getattr(e, "transaction_id", None) == movement.transaction_id
            for e in self.app.events.get(account_id, gt=version_before)
        )

    def _first_outcome(self, idempotency_key: str | None, command: str) -> UUID | None:
        """The transaction id of the key's first use, or None if it is unused.

        Raises IdempotencyKeyReusedError if the key was first used for a
        different command.
        """
        if idempotency_key is None:
            return None
        try:
            receipt: Any = self.app.repository.get(Receipt.create_id(idempotency_key))
        except AggregateNotFoundError:
            return None
        if receipt.command != command:
            raise IdempotencyKeyReusedError
        return cast("UUID", receipt.transaction_id)
