"""Staff: reverse a transaction, and the four-eyes approval of large reversals.

``/staff/transactions/<id>/reverse/`` takes the form (``GET``: the form on
a page of its own, or the form alone for htmx, as the staff timeline loads
it when its "Reverse…" is opened; ``POST``: the reversal). Up to
``FOUR_EYES_ABOVE`` it is carried out at once; more is recorded as waiting
and listed at ``/staff/reversals/``, where another member of staff
approves or rejects it. Views parse, call the desk
(``accounts/reversal_desk.py``) and render: input the bank refuses is a
422 with the message beside its field, and records nothing; htmx swaps the
form or the row and announces what was done in the page's status region
(``#reversal-status``); a plain browser is redirected with a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts import services
from accounts.domain import REVERSIBLE
from accounts.errors import ReversalNotFoundError, SameStaffApprovalError
from accounts.http import HTMX_EVENTS, staff_required
from accounts.money import format_money
from accounts.reversal_forms import (
    ApproveForm,
    RejectForm,
    ReversalPageForm,
    ReverseForm,
    approve_form,
    reject_form,
    reverse_form,
)
from accounts.transaction_lookup import account_of_transaction

if TYPE_CHECKING:
    from collections.abc import Iterable
    from uuid import UUID

    from django.http import HttpResponse

    from accounts.forms import BankForm
    from accounts.http import HtmxHttpRequest
    from accounts.reversal_desk import ReversalSummary

# Reversals on each page of the list.
REVERSALS_PER_PAGE = 50
# The names of the events a reversal undoes, as the trace lists them.
REVERSIBLE_TYPES = frozenset(cls.__name__ for cls in REVERSIBLE)


@dataclass(frozen=True)
class ReversePanel:
    """What ``_reverse_form.html`` shows for one transaction.

    The form while it may be reversed (never asked, or rejected), else what
    became of the reversal.
    """

    transaction_id: UUID
    account_id: UUID | None
    reversal: ReversalSummary | None
    form: ReverseForm | None

    @classmethod
    def of(
        cls,
        transaction_id: UUID,
        account_id: UUID | None,
        form: ReverseForm | None = None,
    ) -> ReversePanel:
        reversal = services.accounts().reversals.of_transaction(transaction_id)
        may_reverse = reversal is None or reversal.status == "rejected"
        if form is None and may_reverse:
            initial = {"account": account_id} if account_id else {}
            form = reverse_form(transaction_id, initial=initial)
        return cls(transaction_id, account_id, reversal, form)


def reverse_panel(
    transaction_id: UUID, movements: Iterable[tuple[str, UUID | None]]
) -> ReversePanel | None:
    """The panel for a trace: ``movements`` are its Accounts events' (type, account).

    None unless one of them is a movement a reversal can undo.
    """
    account_id = next(
        (
            account
            for kind, account in movements
            if kind in REVERSIBLE_TYPES and account
        ),
        None,
    )
    return None if account_id is None else ReversePanel.of(transaction_id, account_id)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@staff_required
def reverse_transaction(request: HtmxHttpRequest, transaction_id: UUID) -> HttpResponse:
    """The form to reverse a transaction (GET), or the reversal (POST)."""
    if request.method == "GET":
        return _reverse_page(request, transaction_id)
    form = reverse_form(transaction_id, request.POST)
    reversal = None
    if form.is_valid():
        account_id = form.cleaned_data["account"] or account_of_transaction(
            services.accounts(), transaction_id
        )
        if account_id is None:
            form.add_error(None, _not_found(transaction_id))
        else:
            with form.refusals():
                reversal = services.accounts().reversals.reverse(
                    transaction_id,
                    account_id,
                    request.user.get_username(),
                    form.cleaned_data["reason"],
                    freeze=form.cleaned_data["freeze"],
                    idempotency_key=form.idempotency_key(request.user),
                )
    if reversal is None:
        panel = ReversePanel(
            transaction_id, form.cleaned_data.get("account"), None, form
        )
        template = (
            "accounts/_reverse_form.html" if request.htmx else "accounts/reverse.html"
        )
        return _refused(request, form, template, panel)
    waiting = reversal.is_pending
    notice = _reversal_notice(reversal)
    if not request.htmx:
        messages.success(request, notice)
        if waiting:
            return redirect("accounts:reversals")
        return redirect("trace", transaction_id=transaction_id)
    panel = ReversePanel.of(transaction_id, reversal.account_ids[0])
    context = {"reverse": panel, "notice": notice, "waiting": waiting}
    response = render(request, "accounts/_reverse_done.html", context)
    if not waiting:
        _money_moved(response)
    return response


@require_GET
@staff_required
def reversals(request: HtmxHttpRequest) -> HttpResponse:
    """Every reversal, newest first, a page at a time; waiting ones to decide."""
    page = ReversalPageForm(request.GET)
    if not page.is_valid():
        context = {"rows": [], "page_form": page}
        status = HTTPStatus.UNPROCESSABLE_ENTITY
        return render(request, "accounts/reversals.html", context, status=status)
    before = page.cleaned_data["before"]
    found = services.accounts().reversals.list_reversals(
        before=before, limit=REVERSALS_PER_PAGE + 1
    )
    shown = found[:REVERSALS_PER_PAGE]
    context = {
        "rows": [_row(request, reversal) for _, reversal in shown],
        "page_form": page,
        "before": before,
        "next_before": shown[-1][0] if len(found) > REVERSALS_PER_PAGE else None,
    }
    return render(request, "accounts/reversals.html", context)


@require_POST
@staff_required
def approve_reversal(request: HtmxHttpRequest, request_id: UUID) -> HttpResponse:
    """A second member of staff approves: the reversal is carried out."""
    reversal = _reversal(request_id)
    form = approve_form(request_id, request.POST)
    own = None
    if form.is_valid():
        with form.refusals():
            try:
                reversal = services.accounts().reversals.approve(
                    request_id,
                    request.user.get_username(),
                    idempotency_key=form.idempotency_key(request.user),
                )
            except SameStaffApprovalError as error:
                own = error
    if own is not None:
        return _not_yours(request, str(own))
    notice = f"Approved and carried out: {_what(reversal)}."
    return _decided(request, request_id, form, notice, moved=True)


@require_POST
@staff_required
def reject_reversal(request: HtmxHttpRequest, request_id: UUID) -> HttpResponse:
    """A member of staff rejects a waiting reversal: nothing is reversed."""
    reversal = _reversal(request_id)
    form = reject_form(request_id, request.POST)
    if form.is_valid():
        with form.refusals():
            services.accounts().reversals.reject(
                request_id, request.user.get_username(), form.cleaned_data["reason"]
            )
    notice = f"Rejected: {_what(reversal)}. Nothing was reversed."
    return _decided(request, request_id, form, notice, moved=False)


# Helpers.


def _reverse_page(request: HtmxHttpRequest, transaction_id: UUID) -> HttpResponse:
    """The form, for the account given (``?account=``) or looked up."""
    try:
        account_id = ReverseForm.base_fields["account"].clean(
            request.GET.get("account")
        )
    except ValidationError:
        account_id = None  # a tampered link: looked up as if not given
    if account_id is None:
        account_id = account_of_transaction(services.accounts(), transaction_id)
    if account_id is None:
        raise Http404(_not_found(transaction_id))
    context = {"reverse": ReversePanel.of(transaction_id, account_id)}
    if request.htmx:
        return render(request, "accounts/_reverse_form.html", context)
    return render(request, "accounts/reverse.html", context)


def _not_found(transaction_id: UUID) -> str:
    return f"No transaction {transaction_id} in the bank's recent records."


def _refused(
    request: HtmxHttpRequest, form: BankForm, template: str, panel: ReversePanel
) -> HttpResponse:
    status = HTTPStatus.CONFLICT if form.conflicted else HTTPStatus.UNPROCESSABLE_ENTITY
    return render(request, template, {"reverse": panel}, status=status)


def _reversal(request_id: UUID) -> ReversalSummary:
    try:
        return services.accounts().reversals.get(request_id)
    except ReversalNotFoundError as error:
        raise Http404(str(error)) from None


def _what(reversal: ReversalSummary) -> str:
    """The reversal in words: "the reversal of the deposit of £40.00"."""
    return f"the reversal of the {reversal.kind} of {format_money(reversal.amount)}"


def _reversal_notice(reversal: ReversalSummary) -> str:
    """What a reversal asked for came to: done, or waiting for approval."""
    if reversal.is_pending:
        return f"Waiting for a second member of staff to approve {_what(reversal)}."
    # A withdrawal reversed pays money back: no account had money taken back.
    taken_back = reversal.freeze and reversal.kind != "withdrawal"
    frozen = " The account it was taken back from is frozen." if taken_back else ""
    return f"Reversed: the {reversal.kind} of {format_money(reversal.amount)}.{frozen}"


@dataclass(frozen=True)
class ReversalRow:
    """One reversal in the list, with the forms to decide it if it waits."""

    reversal: ReversalSummary
    approve: ApproveForm | None
    reject: RejectForm | None
    own: bool
    errors: tuple[str, ...] = ()


def _row(
    request: HtmxHttpRequest,
    reversal: ReversalSummary,
    refused: BankForm | None = None,
) -> ReversalRow:
    """The row; ``refused``, a form just refused, in place of a fresh one."""
    own = reversal.requested_by == request.user.get_username()
    errors: tuple[str, ...] = ()
    if not reversal.is_pending:
        # No forms to show their errors beside: they go above the row.
        if refused is not None:
            errors = tuple(str(e) for field in refused.errors.values() for e in field)
        return ReversalRow(reversal, None, None, own, errors)
    approve = refused if isinstance(refused, ApproveForm) else approve_form(reversal.id)
    reject = refused if isinstance(refused, RejectForm) else reject_form(reversal.id)
    return ReversalRow(reversal, approve, reject, own)


def _decided(
    request: HtmxHttpRequest,
    request_id: UUID,
    form: BankForm,
    notice: str,
    *,
    moved: bool,
) -> HttpResponse:
    """Refused: the row again with why (422). Done: the row and a notice."""
    reversal = services.accounts().reversals.get(request_id)
    if form.errors:
        status = (
            HTTPStatus.CONFLICT if form.conflicted else HTTPStatus.UNPROCESSABLE_ENTITY
        )
        row = _row(request, reversal, form)
        if request.htmx:
            return render(
                request, "accounts/_reversal_row.html", {"row": row}, status=status
            )
        context: dict[str, Any] = {"rows": [row], "one": True}
        return render(request, "accounts/reversals.html", context, status=status)
    if not request.htmx:
        messages.success(request, notice)
        return redirect("accounts:reversals")
    context = {"row": _row(request, reversal), "notice": notice}
    response = render(request, "accounts/_reversal_done.html", context)
    if moved:
        _money_moved(response)
    return response


def _not_yours(request: HtmxHttpRequest, message: str) -> HttpResponse:
    """403: the requester may not approve their own reversal; nothing recorded."""
    context = {"status": HTTPStatus.FORBIDDEN, "message": message}
    template = "_trouble.html" if request.htmx else "accounts/reversal_not_yours.html"
    response = render(request, template, context, status=HTTPStatus.FORBIDDEN)
    # htmx swaps no 403: bank.js shows this instead of its generic message.
    response["X-Refusal"] = message
    return response


def _money_moved(response: HttpResponse) -> None:
    for event in (*HTMX_EVENTS.money_moved, HTMX_EVENTS.accounts_changed):
        trigger_client_event(response, event)
