"""Staff panels: the bank-wide ledger and the transaction log.

Both follow the Accounts application through processors that may lag
behind it, so each panel says how far behind they are and refreshes itself,
by polling and whenever a command on the same page announces a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import staff_required
from accounts.polling import polled
from accounts.reversal import CARRIED_OUT
from accounts.services import accounts
from ledger import services

if TYPE_CHECKING:
    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest
    from accounts.reversal_desk import ReversalSummary
    from ledger.domain import TransactionLogged

TRANSACTIONS_PER_PAGE = 15


@require_GET
@staff_required
@polled
def panel_hx(request: HtmxHttpRequest) -> HttpResponse:
    """The ledger panel: the bank's balance, its transactions, processor lag."""
    return render(request, "ledger/_panel.html", ledger_context())


@require_GET
@vary_on_headers("HX-Request")
@staff_required
@polled
def transactions(request: HtmxHttpRequest) -> HttpResponse:
    """The bank-wide transaction log, newest first, a page at a time."""
    context = transactions_context(request)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "ledger/_transactions.html", context)
    return render(request, "ledger/transactions.html", context)


@dataclass(frozen=True)
class LogRow:
    """An entry of the log and, for an original, the reversal asked for of it.

    The log records what happened when it happened: whether an entry was
    reversed since is the reversal's to say, so each page asks it.
    """

    entry: TransactionLogged
    reversal: ReversalSummary | None = None

    @property
    def reversed(self) -> bool:
        return self.reversal is not None and self.reversal.status == CARRIED_OUT

    @property
    def reversal_pending(self) -> bool:
        return self.reversal is not None and self.reversal.is_pending


def log_rows(entries: list[TransactionLogged]) -> list[LogRow]:
    """Each entry with its reversal: one small read per original on the page."""
    reversals = accounts().reversals
    return [
        LogRow(entry)
        if entry.is_reversal  # a reversal cannot itself be reversed
        else LogRow(entry, reversals.of_transaction(entry.transaction_id))
        for entry in entries
    ]


def ledger_context() -> dict[str, Any]:
    """The ledger's figures and how far each processor is behind."""
    statuses = services.follower_status()
    return {
        "ledger": services.ledger().get_ledger(),
        "processors": statuses,
        "behind": max((s.lag for s in statuses), default=0),
        "failing": [s for s in statuses if s.failing],
    }


def transactions_context(request: HtmxHttpRequest) -> dict[str, Any]:
    """One page of the log, ending before entry ``?before=N`` (newest if none)."""
    limit = TRANSACTIONS_PER_PAGE
    log = services.transaction_log()
    count = log.count_transactions()
    try:
        before: int | None = int(request.GET["before"])
    except (KeyError, ValueError):
        before = None
    if before is not None and not 1 < before <= count + 1:
        before = None
    entries = log.get_transactions(before=before, limit=limit)
    newest = entries[0].number if entries else 0
    oldest = entries[-1].number if entries else 0
    return {
        "entries": entries,
        "rows": log_rows(entries),
        "transaction_count": count,
        "older": oldest if oldest > 1 else None,
        "has_newer": newest < count,
        "newer": newest + limit + 1 if newest + limit < count else None,
        "limit": limit,
    }
