"""Customer pages and commands, and the staff's event timeline of an account.

Each view parses its input with a form, calls one method of the Accounts
application and renders. htmx requests get the fragment that changed and an
``HX-Trigger`` naming what changed, so every other panel showing the same
data refreshes itself; plain browsers get the whole page, or a redirect
after a POST.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import (
    push_url,
    reselect,
    reswap,
    retarget,
    trigger_client_event,
)

from accounts import services
from accounts.account_numbers import grouped
from accounts.errors import AccountNotFoundError
from accounts.forms import (
    NO_SUCH_ACCOUNT,
    AmountForm,
    BankForm,
    CloseAccountForm,
    DepositForm,
    OpenAccountForm,
    PayeeField,
    StatementPageForm,
    TransferForm,
    VersionForm,
)
from accounts.http import HTMX_EVENTS, staff_required
from accounts.polling import polled
from accounts.projections import (
    MAX_PER_PAGE,
    SORTS,
    AccountsPage,
    AccountsQuery,
)
from accounts.staff_forms import staff_panels
from accounts.statement_queries import read_page
from accounts.statement_views import StatementFilters, csv_download, summary_fragment
from accounts.templatetags.banking import format_money

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.http.response import HttpResponseBase

    from accounts.http import HtmxHttpRequest
    from accounts.identities import AccountIdentity
    from accounts.statements import StatementLine
    from accounts.summaries import AccountSummary, RecordedEvent

ACCOUNTS_PER_PAGE = 25
# The id of the side of an account page, with its forms (_account_actions.html).
ACCOUNT_ACTIONS_ID = "account-actions"
# The id of the staff dashboard's search box (staff_dashboard.html).
ACCOUNT_SEARCH_ID = "account-search"
# A customer's accounts on each page of their dashboard.
CUSTOMER_ACCOUNTS_PER_PAGE = MAX_PER_PAGE
# Lines on each page of an account's statement (and points on its chart).
STATEMENT_LINES = 20


@dataclass(frozen=True)
class Action:
    """One of the forms on an account page, and what success looks like."""

    name: str  # the URL name, the form's element id and its context key
    title: str
    button: str
    form_class: type[BankForm]
    template: str

    @property
    def auto_id(self) -> str:
        """Element ids of its fields, unique on a page with several forms."""
        return f"id_{self.name}_%s"

    def blank_form(self) -> BankForm:
        """A fresh form (with a fresh idempotency token, if it moves money)."""
        return self.form_class(auto_id=self.auto_id)


DEPOSIT = Action(
    "deposit", "Pay in", "Deposit", DepositForm, "accounts/_money_form.html"
)
WITHDRAW = Action(
    "withdraw", "Take out", "Withdraw", AmountForm, "accounts/_money_form.html"
)
TRANSFER = Action(
    "transfer", "Send money", "Transfer", TransferForm, "accounts/_money_form.html"
)
CLOSE_ACCOUNT = Action(
    "close_account",
    "Close account",
    "Close this account",
    CloseAccountForm,
    "accounts/_close_form.html",
)
ACTIONS = [DEPOSIT, WITHDRAW, TRANSFER, CLOSE_ACCOUNT]


@dataclass(frozen=True)
class StatementRow:
    """A statement line, with the other account of a transfer, if any."""

    line: StatementLine
    counterparty: AccountSummary | None


@dataclass(frozen=True)
class EventRow:
    """A stored event as the timeline lists it."""

    event: RecordedEvent
    fields: list[tuple[str, Any, bool]]  # key, value, is it money?
    has_snapshot: bool


@dataclass(frozen=True)
class SortColumn:
    """A sortable column's header: its link, and how the list is sorted by it.

    ``params`` is the query string a click asks for (the other direction,
    if the list is sorted by this column already); ``direction`` is its
    ``aria-sort``, ``ascending`` or ``descending``, or empty when the list
    is sorted by another column.
    """

    params: str
    direction: str


# Pages.


@require_GET
@vary_on_headers("HX-Request")
@polled
def account_detail(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """One account: balance, chart, a page of its statement, and its owner's forms."""
    account = _visible_account(request, account_id)
    if _wants_fragment(request):
        # A page of the statement asked for by htmx: only its panel changes.
        return summary_fragment(request, _summary(request, account))
    context = _account_page(request, account)
    # Refused statement filters: the page, with their messages beside them.
    refused = context["filters"].refused
    status = HTTPStatus.UNPROCESSABLE_ENTITY if refused else HTTPStatus.OK
    return render(request, "accounts/account.html", context, status=status)


@require_GET
@polled
def account_summary_hx(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """The balance, chart and statement panel, refreshed in place (same page)."""
    account = _visible_account(request, account_id)
    return summary_fragment(request, _summary(request, account))


@require_GET
def statement_csv(request: HtmxHttpRequest, account_id: UUID) -> HttpResponseBase:
    """The account's statement as a CSV file, filtered as the page's."""
    return csv_download(request, _visible_account(request, account_id))


@require_GET
@polled
def account_list_hx(request: HtmxHttpRequest) -> HttpResponse:
    """The dashboard's accounts panel: one's own, or every account for staff."""
    if request.user.is_staff:
        context = all_accounts_context(request)
        response = render(request, "accounts/_all_accounts.html", context)
        if request.htmx.trigger == ACCOUNT_SEARCH_ID:
            # A search typed in the box: the address bar shows it on the
            # dashboard, so a reload or a shared link lists the same.
            dashboard = reverse("dashboard")
            push_url(response, f"{dashboard}?{context['panel_params']}")
        return response
    context = customer_accounts_context(request)
    return render(request, "accounts/_account_list.html", context)


@require_GET
@vary_on_headers("HX-Request")
@staff_required
@polled
def account_events(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Staff: every stored event of an account, and its state as of one of them."""
    try:
        history = services.accounts().get_history(account_id)
    except AccountNotFoundError:
        raise Http404(AccountNotFoundError(account_id)) from None
    form = VersionForm(request.GET)
    latest = history[-1].version
    status = HTTPStatus.OK
    version = latest
    if form.is_valid() and form.cleaned_data["at"] is not None:
        try:
            moment = form.cleaned_data["at"]
            version = services.accounts().get_account_at(account_id, moment).version
        except AccountNotFoundError as not_yet:
            form.add_error("at", str(not_yet))
    if not form.is_valid():
        status = HTTPStatus.UNPROCESSABLE_ENTITY
    elif form.cleaned_data["version"] is not None:
        version = form.cleaned_data["version"]
    if version > latest:
        return _version_past_end(request, account_id, version, latest)
    snapshots = set(services.accounts().get_snapshot_versions(account_id))
    context = {
        "account": services.accounts().get_account(account_id, version=version),
        "rows": [_event_row(event, snapshots) for event in reversed(history)],
        "version": version,
        "latest": latest,
        "chosen": version != latest
        or form.cleaned_data.get("version") is not None
        or form.cleaned_data.get("at") is not None,
        "form": form,
        "snapshot_count": len(snapshots),
    }
    template = (
        "accounts/_timeline.html"
        if _wants_fragment(request)
        else "accounts/events.html"
    )
    return render(request, template, context, status=status)


def _version_past_end(
    request: HtmxHttpRequest, account_id: UUID, version: int, latest: int
) -> HttpResponse:
    """404 for a version the account has not reached, saying how far it goes.

    A page in the site's frame with a link to the latest version; htmx gets
    the notice alone, as for other trouble (``templates/_trouble.html``).
    """
    events = f"{latest} event{'' if latest == 1 else 's'}"
    message = f"This account has only {events}; version {version} is past the latest."
    context = {"status": HTTPStatus.NOT_FOUND, "message": message}
    if _wants_fragment(request):
        template = "_trouble.html"
    else:
        template = "accounts/version_past_end.html"
        context["events_url"] = reverse("accounts:account_events", args=[account_id])
    return render(request, template, context, status=HTTPStatus.NOT_FOUND)


@require_POST
@staff_required
def take_snapshot(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Staff: store a snapshot of the account now, then show the timeline."""
    try:
        version = services.accounts().take_snapshot_now(account_id)
    except AccountNotFoundError:
        raise Http404(AccountNotFoundError(account_id)) from None
    messages.success(request, f"Snapshot stored at version {version}.")
    return redirect("accounts:account_events", account_id=account_id)


# Commands.


@require_POST
def open_account(request: HtmxHttpRequest) -> HttpResponse:
    """Open an account for the signed-in customer."""
    form = OpenAccountForm(request.POST)
    if form.is_valid():
        with form.refusals():
            account_id = services.accounts().open_account(
                request.user.get_username(), form.cleaned_data["name"]
            )
    if form.errors:
        status = _refused_status(form)
        if request.htmx:
            return render(
                request, "accounts/_open_form.html", {"open_form": form}, status=status
            )
        context = customer_accounts_context(request) | {"open_form": form}
        return render(request, "accounts/dashboard.html", context, status=status)
    notice = f"Your account “{form.cleaned_data['name']}” is open."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("accounts:account_detail", account_id=account_id)
    fresh = {"open_form": OpenAccountForm(), "notice": notice, "opened_id": account_id}
    response = render(request, "accounts/_open_form.html", fresh)
    return trigger_client_event(response, HTMX_EVENTS.accounts_changed)


@require_POST
def deposit(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Pay money into one of the customer's accounts."""
    account = _owned(request, account_id)
    form = DepositForm(request.POST, auto_id=DEPOSIT.auto_id)
    if form.is_valid():
        with form.refusals():
            services.accounts().deposit(
                account.id,
                form.cleaned_data["amount"],
                description=form.cleaned_data["description"],
                idempotency_key=form.idempotency_key(request.user),
            )
    return _answer(request, account, DEPOSIT, form, "{} paid in.")


@require_POST
def withdraw(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Take money out of one of the customer's accounts."""
    account = _owned(request, account_id)
    form = AmountForm(request.POST, auto_id=WITHDRAW.auto_id)
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        with form.refusals():
            services.accounts().withdraw(
                account.id, amount, idempotency_key=form.idempotency_key(request.user)
            )
    return _answer(request, account, WITHDRAW, form, "{} taken out.")


@require_POST
def transfer(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Send money from one of the customer's accounts to any account."""
    account = _owned(request, account_id)
    form = TransferForm(request.POST, auto_id=TRANSFER.auto_id)
    done = "{} sent."
    if form.is_valid():
        with form.refusals():
            payee = _payee(form.cleaned_data["to_account"])
            # Refusals about the payee are now about its id (see refuse()).
            form.cleaned_data["to_account"] = payee.id
            services.accounts().transfer(
                account.id,
                payee.id,
                form.cleaned_data["amount"],
                description=form.cleaned_data["description"],
                idempotency_key=form.idempotency_key(request.user),
            )
            done = f"{{}} sent to {payee.name} ({grouped(payee.number)})."
    return _answer(request, account, TRANSFER, form, done)


def _payee(typed: str | UUID) -> AccountSummary:
    """The account a transfer form names: by its number, or by its full id."""
    if isinstance(typed, UUID):
        return services.accounts().get_account(typed)
    return services.accounts().find_account(typed)


@require_GET
def payee(request: HtmxHttpRequest) -> HttpResponse:
    """Confirmation of payee: whose account a number is, as it is typed.

    Answers the transfer form's ``to_account`` with the account's name and
    its owner's, or says plainly that no open account has that number. A
    number with a wrong check digit is refused without a lookup.
    """
    field = PayeeField(required=False)
    context: dict[str, Any] = {}
    try:
        typed = field.clean(request.GET.get("to_account", ""))
        if typed:
            context["payee"] = _payee(typed)
    except ValidationError as error:
        context["problem"] = error.messages[0]
    except AccountNotFoundError as error:
        context["problem"] = (
            str(error) if isinstance(error.account_id, str) else NO_SUCH_ACCOUNT
        )
    return render(request, "accounts/_payee.html", context)


@require_POST
def close_account(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Close one of the customer's accounts (its balance must be zero)."""
    account = _own_account(request, account_id)
    form = CloseAccountForm(request.POST, auto_id=CLOSE_ACCOUNT.auto_id)
    with form.refusals():
        services.accounts().close_account(account.id)
    if form.errors:
        return _answer(request, account, CLOSE_ACCOUNT, form, "")
    notice = f"The account “{account.name}” is closed."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("accounts:account_detail", account_id=account.id)
    return account_closed_fragment(request, account.id, notice)


def account_closed_fragment(
    request: HtmxHttpRequest, account_id: UUID, notice: str
) -> HttpResponse:
    """Every form goes with the account: its page's side, swapped whole.

    In place rather than by reloading the page, so that the notice goes into
    the status region already on it, and is announced
    (``accounts/_account_closed.html``).
    """
    closed = services.accounts().get_account(account_id)
    context = {"account": closed, "panels": [], "notice": notice}
    response = render(request, "accounts/_account_closed.html", context)
    side = f"#{ACCOUNT_ACTIONS_ID}"
    retarget(response, side)
    reselect(response, side)
    reswap(response, "outerHTML")
    for event in (HTMX_EVENTS.balances_changed, HTMX_EVENTS.accounts_changed):
        trigger_client_event(response, event)
    return response


# Context shared with the site's dashboard.


def customer_accounts_context(request: HtmxHttpRequest) -> dict[str, Any]:
    """A page of the signed-in customer's accounts, oldest first, and their total.

    The page, its count and the total of all the customer's accounts come
    from one read; ``?page=`` is read and clamped as on the staff list.
    """
    query = AccountsQuery.from_params(
        sort="-opened",  # the first opened first
        page=request.GET.get("page"),
        per_page=CUSTOMER_ACCOUNTS_PER_PAGE,
        owner=request.user.get_username(),
    )
    page = _accounts_page(query)
    query = page.query
    return {
        "accounts_page": page,
        "accounts": page.rows,
        "total": page.total_balance,
        "list_position": page.position,
        "list_behind": _list_behind(page),
        "open_form": OpenAccountForm(),
        # The panel refreshes itself as the same page (the first: no query).
        "panel_params": urlencode({"page": query.page}) if query.page > 1 else "",
        "previous_params": urlencode({"page": query.page - 1}),
        "next_params": urlencode({"page": query.page + 1}),
        # The pager's links ask htmx for the panel alone.
        "pager_hx_url": reverse("accounts:account_list_hx"),
    }


def all_accounts_context(request: HtmxHttpRequest) -> dict[str, Any]:
    """A page of every account, searched and sorted as asked (for staff)."""
    query = AccountsQuery.from_params(
        request.GET.get("q"),
        request.GET.get("sort") or "-opened",
        request.GET.get("page"),
        ACCOUNTS_PER_PAGE,
    )
    page = _accounts_page(query)
    query = page.query
    return {
        "accounts_page": page,
        "all_accounts": page.rows,
        "list_behind": _list_behind(page),
        "search": query.search,
        "sorted_by": query.sort,
        "sort_columns": {
            key: SortColumn(
                params=_list_params(query, sort=sort, page=1),
                direction=(
                    ("descending" if query.descending else "ascending")
                    if key == query.sort
                    else ""
                ),
            )
            for key, sort in _next_sorts(query).items()
        },
        "panel_params": _list_params(query),
        "previous_params": _list_params(query, page=query.page - 1),
        "next_params": _list_params(query, page=query.page + 1),
        "first_number": query.offset + 1,
    }


# Helpers.


def _visible_account(request: HtmxHttpRequest, account_id: UUID) -> AccountSummary:
    """The account if this user may see it; one 404 for not theirs or not there."""
    try:
        account = services.accounts().get_account(account_id)
    except AccountNotFoundError:
        raise Http404(AccountNotFoundError(account_id)) from None
    if not (request.user.is_staff or _owns(request, account)):
        raise Http404(AccountNotFoundError(account_id))
    return account


def _own_account(request: HtmxHttpRequest, account_id: UUID) -> AccountSummary:
    """The account, if this user owns it: staff may look, but not move money."""
    account = _visible_account(request, account_id)
    if not _owns(request, account):
        raise PermissionDenied
    return account


def _owned(request: HtmxHttpRequest, account_id: UUID) -> AccountIdentity:
    """For a money form: the account, if this user owns it, without reading it.

    Whose it is never changes (``accounts/identities.py``); the command that
    follows loads the account and its guards check everything that can.
    As ``_own_account``: 404 unless it is theirs, 403 for staff.
    """
    try:
        identity = services.accounts().identities.of(account_id)
    except AccountNotFoundError:
        raise Http404(AccountNotFoundError(account_id)) from None
    if identity.owner != request.user.get_username():
        if request.user.is_staff:
            raise PermissionDenied
        raise Http404(AccountNotFoundError(account_id))
    return identity


def _accounts_page(query: AccountsQuery) -> AccountsPage:
    """The page ``query`` asks for, or the last page if it asks beyond it.

    A page beyond the last is a stale link (accounts closed, a search
    narrowed) or a hand-edited one: the last page answers it, as Django's
    Paginator.get_page does, since neither is worth an error. The page's
    ``query`` says which page it is.
    """
    page = services.accounts_list().get_accounts_page(query)
    if query.page > page.page_count:
        query = replace(query, page=page.page_count)
        page = services.accounts_list().get_accounts_page(query)
    return page


def _list_behind(page: AccountsPage) -> int:
    """How many Accounts events the list has yet to take in (0: up to date)."""
    return services.accounts_lag(page.position)


def _next_sorts(query: AccountsQuery) -> dict[str, str]:
    """For each sortable column, the ``sort`` that a click on it asks for."""
    sorts = {}
    for key in SORTS:
        # A second click on the current column turns its direction around.
        again = query.sort == key and query.descending == SORTS[key]
        sorts[key] = f"-{key}" if again else key
    return sorts


def _list_params(query: AccountsQuery, **changes: object) -> str:
    """The query string that asks for ``query`` again, with ``changes``."""
    params = {"q": query.search, "sort": query.sort_param, "page": query.page}
    params |= changes
    return urlencode({key: value for key, value in params.items() if value != ""})


def _wants_fragment(request: HtmxHttpRequest) -> bool:
    """Whether htmx asked for a panel; restoring history needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _owns(request: HtmxHttpRequest, account: AccountSummary) -> bool:
    return account.owner == request.user.get_username()


def _refused_status(form: BankForm) -> int:
    """409 when concurrent requests won every retry, 422 for a refusal."""
    if form.conflicted:
        return HTTPStatus.CONFLICT
    return HTTPStatus.UNPROCESSABLE_ENTITY


def _answer(
    request: HtmxHttpRequest,
    account: AccountIdentity | AccountSummary,
    action: Action,
    form: BankForm,
    done: str,
) -> HttpResponse:
    """The response to a command on an account page: refused, or done.

    Done needs only the account's id and currency; a refusal shows the
    account as it is now, read for it.
    """
    if form.errors:
        status = _refused_status(form)
        now = services.accounts().get_account(account.id)
        if request.htmx:
            context = {"account": now, "action": action, "form": form}
            return render(request, action.template, context, status=status)
        context = _account_page(request, now, {action.name: form})
        return render(request, "accounts/account.html", context, status=status)
    notice = done.format(format_money(form.cleaned_data["amount"], account.currency))
    if not request.htmx:
        messages.success(request, notice)
        return redirect("accounts:account_detail", account_id=account.id)
    return money_moved_fragment(request, account, action, notice)


def money_moved_fragment(
    request: HtmxHttpRequest, account: Any, action: Action, notice: str
) -> HttpResponse:
    """The form again, fresh, with ``notice``; every panel showing money refreshes."""
    context = {
        "account": account,
        "action": action,
        "form": action.form_class(),
        "notice": notice,
    }
    response = render(request, action.template, context)
    for event in HTMX_EVENTS.money_moved:
        trigger_client_event(response, event)
    return response


def _account_page(
    request: HtmxHttpRequest,
    account: AccountSummary,
    bound_forms: dict[str, BankForm] | None = None,
) -> dict[str, Any]:
    """Everything the account page shows; ``bound_forms`` replace fresh ones."""
    bound_forms = bound_forms or {}
    context = _summary(request, account)
    can_act = _owns(request, account) and not account.is_closed
    context["can_act"] = can_act
    context["panels"] = [
        {"action": action, "form": bound_forms.get(action.name) or action.blank_form()}
        for action in ACTIONS
        if can_act
    ]
    # Staff change no balance, but set limits and freeze (staff_views.py).
    is_staff = request.user.is_staff
    context["staff_panels"] = staff_panels(account, bound_forms) if is_staff else []
    return context


def account_page_refused(
    request: HtmxHttpRequest, account: AccountSummary, name: str, form: BankForm
) -> HttpResponse:
    """The whole account page, with the form ``name`` refused in its place."""
    context = _account_page(request, account, {name: form})
    return render(
        request, "accounts/account.html", context, status=_refused_status(form)
    )


def _statement_page(request: HtmxHttpRequest, account: AccountSummary) -> int | None:
    """The ``before`` of the statement page asked for; None for the latest page."""
    form = StatementPageForm(request.GET)
    if not form.is_valid():
        raise BadRequest(form.errors["before"][0])
    before: int | None = form.cleaned_data["before"]
    if before is not None and before > account.version:
        # Every movement so far is before it: that is the latest page.
        return None
    return before


def _summary(request: HtmxHttpRequest, account: AccountSummary) -> dict[str, Any]:
    """The account's figures, statement page and chart, and its owner's accounts."""
    before = _statement_page(request, account)
    filters = StatementFilters.of(request)
    # The statement as of the balance shown: the account was read first, and
    # a movement saved since then waits for the next refresh of the panel.
    # Only one page of lines is read, so the page does not grow with history.
    statement = read_page(
        services.accounts(),
        account.id,
        upto_version=account.version,
        before=before,
        limit=STATEMENT_LINES,
        matching=filters.matching,
    )
    lines = statement.lines
    bank = services.accounts()
    others: list[AccountSummary] = []
    if _owns(request, account):
        owner_ids = bank.list_owner_account_ids(account.owner)
        others = [bank.get_account(i) for i in owner_ids if i != account.id]
    # Transfers name the other account: read once each, from the cache.
    other_ids = {line.counterparty_id for line in lines if line.counterparty_id}
    counterparties: dict[UUID | None, AccountSummary] = {
        i: bank.get_account(i) for i in other_ids
    }
    rows = [
        StatementRow(line, counterparties.get(line.counterparty_id))
        for line in reversed(lines)
    ]
    account_url = reverse("accounts:account_detail", args=[account.id])
    summary_url = reverse("accounts:account_summary_hx", args=[account.id])
    return {
        "account": account,
        "lines": lines,
        "opening_balance": statement.opening_balance,
        "has_earlier": statement.has_earlier,
        "has_later": statement.has_later,
        "rows": rows,
        "other_accounts": [other for other in others if not other.is_closed],
        "account_url": account_url,
        "filters": filters,
        # The panel refreshes itself as the same page of the statement.
        "summary_url": filters.url(summary_url, before),
        "older_url": filters.url(account_url, lines[0].version) if lines else "",
        "newer_url": filters.url(account_url, statement.later_before),
        "csv_url": filters.url(reverse("accounts:statement_csv", args=[account.id])),
    }


def _event_row(event: RecordedEvent, snapshots: set[int]) -> EventRow:
    fields = [
        (key, value, isinstance(value, Decimal)) for key, value in event.data.items()
    ]
    return EventRow(event, fields, event.version in snapshots)
