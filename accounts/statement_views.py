"""The account page's statement filters, and its download as CSV.

The filters are a GET form (``from``, ``to``, ``kind``, ``q``) outside the
statement panel, so the panel refreshing itself every few seconds never
wipes what someone is typing. Without JavaScript it reloads the page; with
htmx it swaps the panel and puts the filters in the address bar. Refused
filters are answered 422 and change nothing: htmx swaps only the form,
with its messages, in place.

Every link the panel makes (Older, Newer, its own refresh, the download)
carries the same filters, so they compose with paging.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from itertools import chain, islice
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.timezone import get_current_timezone, localdate
from django_htmx.http import push_url, reswap, retarget

from accounts import services
from accounts.statement_export import Counterparties, csv_text
from accounts.statement_filters import EVERY_LINE, StatementFilter
from accounts.statement_forms import StatementFilterForm
from accounts.statement_queries import read_all
from accounts.templatetags.banking import short_id

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.http.response import HttpResponseBase

    from accounts.http import HtmxHttpRequest
    from accounts.summaries import AccountSummary

# The filter form's id, and its Clear link's: an htmx request from either
# also refreshes the form (out of band), clearing any earlier messages.
FILTERS_ID = "statement-filters"
CLEAR_FILTERS_ID = "statement-filters-clear"


@dataclass(frozen=True)
class StatementFilters:
    """The filters a request asks for: its form, the filter, its query string.

    Refused filters filter nothing and are carried by no link.
    """

    form: StatementFilterForm
    matching: StatementFilter
    params: dict[str, str]

    @classmethod
    def of(cls, request: HtmxHttpRequest) -> StatementFilters:
        form = StatementFilterForm(request.GET)
        if not form.is_valid():
            return cls(form, EVERY_LINE, {})
        return cls(form, form.statement_filter(get_current_timezone()), form.params())

    @property
    def refused(self) -> bool:
        return bool(self.form.errors)

    def url(self, path: str, before: int | None = None) -> str:
        """``path`` asking for these filters (and the page before ``before``)."""
        params = dict(self.params)
        if before is not None:
            params["before"] = str(before)
        return f"{path}?{urlencode(params)}" if params else path


def summary_fragment(request: HtmxHttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The statement panel for htmx; refused filters, only their form (422)."""
    filters: StatementFilters = context["filters"]
    if filters.refused:
        response = render(
            request,
            "accounts/_statement_filters.html",
            context,
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
        response = retarget(response, f"#{FILTERS_ID}")
        return push_url(reswap(response, "outerHTML"), False)
    if request.htmx.trigger in {FILTERS_ID, CLEAR_FILTERS_ID}:
        response = render(request, "accounts/_filtered_summary.html", context)
        # The address without empty fields, so it reads well and bookmarks.
        return push_url(response, filters.url(context["account_url"]))
    return render(request, "accounts/_summary.html", context)


def csv_download(request: HtmxHttpRequest, account: AccountSummary) -> HttpResponseBase:
    """The statement as CSV, streamed: the lines the filters keep, oldest first.

    Up to the account's version when asked, so the last balance is the one
    the account page showed. ``account`` is one the user may see.
    """
    filters = StatementFilters.of(request)
    if filters.refused:
        context = {"account": account, "form": filters.form}
        return render(
            request,
            "accounts/statement_csv_refused.html",
            context,
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    accounts = services.accounts()
    lines = read_all(
        accounts, account.id, upto_version=account.version, matching=filters.matching
    )
    # The first events are read now: trouble with the database then gets the
    # site's 503 page, rather than a file cut short.
    first = list(islice(lines, 1))
    text = csv_text(
        chain(first, lines),
        Counterparties(accounts.get_account),
        get_current_timezone(),
    )
    response = StreamingHttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(account)}"'
    return response


def csv_filename(account: AccountSummary) -> str:
    """``statement-<number or short id>-<today>.csv``."""
    name = account.number or short_id(account.id)
    return f"statement-{name}-{localdate().isoformat()}.csv"
