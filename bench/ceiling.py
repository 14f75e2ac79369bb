"""The fragment ceiling: a deposit's whole HTTP path with no bank behind it.

Served beside the site by ``bench.settings`` (``bench/urls.py``), so a
request passes through the site's middleware, as a deposit does: session,
CSRF, sign-in, provenance, throttles. The view parses the deposit form as
``accounts.views.deposit`` does (amount, reference, idempotency token, its
key scoped to the user) and answers htmx with the same fragment, rendered
from an account summary made in memory: it reads and writes nothing of
either bank. What the event-sourced deposit reaches of this rate is what
its reads and commit leave of the web path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST

from accounts.forms import DepositForm
from accounts.money import CURRENCY
from accounts.summaries import AccountSummary
from accounts.templatetags.banking import format_money
from accounts.views import DEPOSIT, money_moved_fragment

if TYPE_CHECKING:
    from uuid import UUID

    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest

# An account as the fragment shows it: the balance is never read.
BALANCE = Decimal("100000.00")
OPENED = datetime(2026, 1, 1, tzinfo=UTC)


@require_POST
def deposit(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """A deposit's form and answer, and nothing recorded."""
    account = AccountSummary(
        id=account_id,
        owner=request.user.get_username(),
        name="Ceiling",
        currency=CURRENCY,
        balance=BALANCE,
        overdraft_limit=Decimal("0.00"),
        is_closed=False,
        version=1,
        opened_at=OPENED,
        last_activity_at=OPENED,
        number="00000000",
    )
    form = DepositForm(request.POST, auto_id=DEPOSIT.auto_id)
    if form.is_valid():
        # Made as the event-sourced view makes it, and then not stored.
        form.idempotency_key(request.user)
    if form.errors:
        context = {"account": account, "action": DEPOSIT, "form": form}
        return render(
            request,
            DEPOSIT.template,
            context,
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    notice = f"{format_money(form.cleaned_data['amount'], account.currency)} paid in."
    return money_moved_fragment(request, account, DEPOSIT, notice)


urlpatterns = [
    path("ceiling/<uuid:account_id>/deposit/", deposit, name="ceiling_deposit"),
]
