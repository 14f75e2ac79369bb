"""What pages show of an account, as small frozen dataclasses.

Queries return these, never aggregates, so nothing outside the application
can change an account without going through a command. The accounts list
(``accounts/projections.py``) keeps its rows as ``AccountSummary`` too: a
page of many accounts and a page of one show the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from accounts.money import ZERO
from accounts.provenance import FIELDS as PROVENANCE_FIELDS
from accounts.provenance import UNKNOWN

if TYPE_CHECKING:
    from accounts.domain import Account


@dataclass(frozen=True)
class AccountSummary:
    """An account as pages show it: from its events, or from the accounts list."""

    id: UUID
    owner: str
    name: str
    currency: str
    balance: Decimal
    overdraft_limit: Decimal
    is_closed: bool
    version: int
    opened_at: datetime
    last_activity_at: datetime
    # Eight digits (accounts/account_numbers.py); "" until an account opened
    # before numbers existed is given one.
    number: str = ""
    # Frozen by staff: money may come in, none may leave.
    frozen: bool = False

    @property
    def available(self) -> Decimal:
        """What can still be withdrawn, overdraft included."""
        return self.balance + self.overdraft_limit


@dataclass(frozen=True)
class RecordedEvent:
    """A stored domain event, for the staff timeline."""

    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]
    # Its envelope, apart from its data (accounts/provenance.py).
    actor: str = UNKNOWN
    correlation_id: str = ""
    causation: str = ""

    @classmethod
    def of(cls, domain_event: Any) -> RecordedEvent:
        """A stored event: its own attributes as ``data``, its provenance apart."""
        return cls(
            version=domain_event.originator_version,
            type=type(domain_event).__name__,
            timestamp=domain_event.timestamp,
            data={
                key: value
                for key, value in domain_event.__dict__.items()
                if key not in _NOT_DATA
            },
            actor=getattr(domain_event, "actor", UNKNOWN),
            correlation_id=getattr(domain_event, "correlation_id", ""),
            causation=getattr(domain_event, "causation", ""),
        )


_NOT_DATA = frozenset(
    ("originator_id", "originator_version", "timestamp", *PROVENANCE_FIELDS)
)


def opened(domain_event: Any) -> AccountSummary:
    """A new account, as its ``Opened`` event left it: empty and open."""
    return AccountSummary(
        id=domain_event.originator_id,
        owner=domain_event.owner,
        name=domain_event.name,
        currency=domain_event.currency,
        balance=ZERO,
        overdraft_limit=ZERO,
        is_closed=False,
        version=domain_event.originator_version,
        opened_at=domain_event.timestamp,
        last_activity_at=domain_event.timestamp,
        number=domain_event.number,
    )


def summarise(account: Account) -> AccountSummary:
    """The summary of an account as loaded."""
    return AccountSummary(
        id=account.id,
        owner=account.owner,
        name=account.name,
        currency=account.currency,
        balance=account.balance,
        overdraft_limit=account.overdraft_limit,
        is_closed=account.is_closed,
        version=account.version,
        opened_at=account.created_on,
        last_activity_at=account.modified_on,
        number=account.number,
        frozen=account.frozen,
    )
