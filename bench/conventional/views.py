"""Deposits and transfers the conventional way, answered as the site answers them.

Same forms, same idempotency tokens, same fragments and ``HX-Trigger``
events as ``accounts.views``; only the storage differs: the account rows
are locked with ``select_for_update``, their balances updated in place and
one row per movement inserted, all in one transaction.
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING
from uuid import uuid4

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.forms import AmountForm, BankForm, TransferForm
from accounts.templatetags.banking import format_money
from accounts.views import DEPOSIT, TRANSFER, Action, money_moved_fragment
from bench.conventional.models import Account, Movement

if TYPE_CHECKING:
    from uuid import UUID

    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest

NOT_ENOUGH = "Not enough money in this account."


@require_POST
def deposit(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Pay money into one of the customer's accounts."""
    form = AmountForm(request.POST, auto_id=DEPOSIT.auto_id)
    if not form.is_valid():
        return _answer(request, _own(request, account_id), DEPOSIT, form, "")
    amount: Decimal = form.cleaned_data["amount"]
    key = form.idempotency_key(request.user)
    try:
        with transaction.atomic():
            [account] = _lock(request, [account_id])
            if not _done(key):
                _move(account, amount, "Deposit", uuid4(), key)
    except IntegrityError:
        # A concurrent duplicate lost on the unique key: its twin moved the money.
        account = _own(request, account_id)
    return _answer(request, account, DEPOSIT, form, "{} paid in.")


@require_POST
def transfer(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Send money from one of the customer's accounts to another account."""
    form = TransferForm(request.POST, auto_id=TRANSFER.auto_id)
    if not form.is_valid():
        return _answer(request, _own(request, account_id), TRANSFER, form, "")
    amount: Decimal = form.cleaned_data["amount"]
    to_id: UUID = form.cleaned_data["to_account"]
    key = form.idempotency_key(request.user)
    try:
        with transaction.atomic():
            source, target = _lock(request, [account_id, to_id])
            if _done(key):
                pass
            elif source.balance - amount < -source.overdraft_limit:
                form.add_error("amount", NOT_ENOUGH)
            else:
                transaction_id = uuid4()
                _move(source, -amount, "Transfer out", transaction_id, key, target)
                _move(target, amount, "Transfer in", transaction_id, None, source)
    except IntegrityError:
        # A concurrent duplicate lost on the unique key: its twin moved the money.
        source = _own(request, account_id)
    return _answer(request, source, TRANSFER, form, "{} sent.")


def _own(request: HtmxHttpRequest, account_id: UUID) -> Account:
    """The account, if this user owns it (read without a lock)."""
    try:
        account = Account.objects.get(pk=account_id)
    except Account.DoesNotExist:
        raise Http404 from None
    if account.owner != request.user.get_username():
        raise PermissionDenied
    return account


def _lock(request: HtmxHttpRequest, account_ids: list[UUID]) -> list[Account]:
    """Lock the rows (in id order, so transfers cannot deadlock); the first is ours."""
    rows = list(
        Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
    )
    if len(rows) != len(set(account_ids)):
        raise Http404
    by_id = {row.id: row for row in rows}
    if by_id[account_ids[0]].owner != request.user.get_username():
        raise PermissionDenied
    return [by_id[account_id] for account_id in account_ids]


def _done(key: str | None) -> bool:
    return key is not None and Movement.objects.filter(idempotency_key=key).exists()


def _move(  # noqa: PLR0917 (one leg's facts, in the order a ledger lists them)
    account: Account,
    amount: Decimal,
    kind: str,
    transaction_id: UUID,
    key: str | None,
    counterparty: Account | None = None,
) -> None:
    account.balance += amount
    account.save(update_fields=["balance", "last_activity_at"])
    Movement.objects.create(
        account=account,
        transaction_id=transaction_id,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        counterparty=counterparty,
        idempotency_key=key,
    )


def _answer(
    request: HtmxHttpRequest,
    account: Account,
    action: Action,
    form: BankForm,
    done: str,
) -> HttpResponse:
    """The answer ``accounts.views`` gives an htmx request: a fragment."""
    if form.errors:
        context = {"account": account, "action": action, "form": form}
        return render(
            request,
            action.template,
            context,
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    notice = done.format(format_money(form.cleaned_data["amount"], account.currency))
    return money_moved_fragment(request, account, action, notice)
