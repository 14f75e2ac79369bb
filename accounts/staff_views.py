"""Staff operations on an account: set its overdraft limit, freeze, unfreeze.

Each is a POST from the staff panel of the account page
(``templates/accounts/_staff_actions.html``), with a reason the event
records. Staff only (403 for customers); an unknown account is a 404; input
the bank refuses is a 422 with the message beside its field, and records
nothing. htmx swaps the panel and announces what was done in the page's
status region; a plain browser gets the page again, or a redirect.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from accounts import services
from accounts.errors import AccountNotFoundError
from accounts.http import HTMX_EVENTS, staff_required
from accounts.staff_forms import (
    FREEZE,
    SET_OVERDRAFT_LIMIT,
    UNFREEZE,
    StaffAction,
    staff_panels,
)
from accounts.templatetags.banking import format_money
from accounts.views import account_page_refused

if TYPE_CHECKING:
    from uuid import UUID

    from django.http import HttpResponse

    from accounts.forms import BankForm
    from accounts.http import HtmxHttpRequest
    from accounts.summaries import AccountSummary


@require_POST
@staff_required
def set_overdraft_limit(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Set how far below zero the account may go."""
    account = _account(account_id)
    form = SET_OVERDRAFT_LIMIT.form_class(
        request.POST, auto_id=SET_OVERDRAFT_LIMIT.auto_id
    )
    if form.is_valid():
        limit, reason = form.cleaned_data["limit"], form.cleaned_data["reason"]
        with form.refusals():
            services.accounts().staff.set_overdraft_limit(account.id, limit, reason)
    done = ""
    if not form.errors:
        limit = format_money(form.cleaned_data["limit"], account.currency)
        done = f"Overdraft limit set to {limit}."
    return _answer(request, account, SET_OVERDRAFT_LIMIT, form, done)


@require_POST
@staff_required
def freeze_account(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Freeze the account: money may come in, none may leave."""
    account = _account(account_id)
    form = FREEZE.form_class(request.POST, auto_id=FREEZE.auto_id)
    if form.is_valid():
        with form.refusals():
            services.accounts().staff.freeze(account.id, form.cleaned_data["reason"])
    done = "The account is frozen: money may come in, none may leave."
    return _answer(request, account, FREEZE, form, done)


@require_POST
@staff_required
def unfreeze_account(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Unfreeze the account: money may leave it again."""
    account = _account(account_id)
    form = UNFREEZE.form_class(request.POST, auto_id=UNFREEZE.auto_id)
    if form.is_valid():
        with form.refusals():
            services.accounts().staff.unfreeze(account.id, form.cleaned_data["reason"])
    return _answer(request, account, UNFREEZE, form, "The account is unfrozen.")


def _account(account_id: UUID) -> AccountSummary:
    try:
        return services.accounts().get_account(account_id)
    except AccountNotFoundError:
        raise Http404(AccountNotFoundError(account_id)) from None


def _answer(
    request: HtmxHttpRequest,
    account: AccountSummary,
    action: StaffAction,
    form: BankForm,
    done: str,
) -> HttpResponse:
    """Refused: the form again with why (422). Done: the panel and a notice."""
    if form.errors:
        if not request.htmx:
            return account_page_refused(request, account, action.name, form)
        status = (
            HTTPStatus.CONFLICT if form.conflicted else HTTPStatus.UNPROCESSABLE_ENTITY
        )
        context = {
            "account": account,
            "staff_panels": staff_panels(account, {action.name: form}),
        }
        return render(request, "accounts/_staff_actions.html", context, status=status)
    if not request.htmx:
        messages.success(request, done)
        return redirect("accounts:account_detail", account_id=account.id)
    # The panel swapped, the heading's badges and the notice out of band.
    changed = services.accounts().get_account(account.id)
    context = {"account": changed, "staff_panels": staff_panels(changed)}
    response = render(request, "accounts/_staff_done.html", context | {"notice": done})
    for event in (HTMX_EVENTS.balances_changed, HTMX_EVENTS.accounts_changed):
        trigger_client_event(response, event)
    return response
