"""How the ledger's views reach the running bank (see ``accounts/services.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from accounts.services import running_bank

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.application import LedgerProcess, TransactionLogProcess


class FollowerStatus(Protocol):
    """How far one follower of Accounts has got, as the ledger panel shows it."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> int: ...

    @property
    def leader_position(self) -> int: ...

    @property
    def lag(self) -> int: ...

    @property
    def failing(self) -> bool: ...

    @property
    def last_error(self) -> str | None: ...


class RunningLedger(Protocol):
    """What the ledger's pages need of the running bank."""

    def ledger(self) -> LedgerProcess: ...

    def transaction_log(self) -> TransactionLogProcess: ...

    def processor_status(self) -> Sequence[FollowerStatus]: ...


def _running() -> RunningLedger:
    return cast("RunningLedger", running_bank())


def ledger() -> LedgerProcess:
    """The ledger process: the bank's totals."""
    return _running().ledger()


def transaction_log() -> TransactionLogProcess:
    """The transaction log process: every movement, once, in order."""
    return _running().transaction_log()


def follower_status() -> Sequence[FollowerStatus]:
    """Each follower's and projection's position behind Accounts."""
    return _running().processor_status()
