"""An account with a balance column, and one row per movement of money."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models

from accounts.money import CURRENCY


class Account(models.Model):
    """A customer's account: the balance is the truth, updated in place."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    owner = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default=CURRENCY)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    overdraft_limit = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(0)
    )
    is_closed = models.BooleanField(default=False)
    opened_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now=True)

    # Declared, since the type checker reads the site's settings, which do
    # not install this app.
    objects: models.Manager[Account] = models.Manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"


class Movement(models.Model):
    """One leg of a deposit, withdrawal or transfer."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT)
    transaction_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=14, decimal_places=2)  # signed
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    counterparty = models.ForeignKey(
        Account, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # The form's token, scoped to its user: a second submit moves no money.
    # NULL, not "", when there is none: unique among the keys given only.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=150, null=True, unique=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects: models.Manager[Movement] = models.Manager()

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
