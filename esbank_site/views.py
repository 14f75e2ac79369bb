"""Site-wide views: the dashboard, the health check and the 500 handler."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.views import all_accounts_context, customer_accounts_context
from esbank_site.bank import get_bank
from esbank_site.middleware import DATABASE_TROUBLE, trouble_response
from esbank_site.workers import processor_holders
from ledger.views import ledger_context, transactions_context

if TYPE_CHECKING:
    from django.http import HttpResponse

    from esbank_site.http import HtmxHttpRequest

logger = logging.getLogger(__name__)


@require_GET
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """A customer's accounts; for staff, every account, the ledger and the log."""
    if request.user.is_staff:
        context = (
            all_accounts_context(request)
            | ledger_context()
            | transactions_context(request)
        )
        return render(request, "staff_dashboard.html", context)
    return render(
        request, "accounts/dashboard.html", customer_accounts_context(request)
    )


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Database reachable? Each processor's lag, holder and last error; 503 if not.

    ``held_by`` names the ``run_processors`` worker holding a follower
    (PostgreSQL only); ``processed_here`` says whether this web process runs
    the followers itself, in which case ``failing`` and ``last_error`` are
    its own (a worker's errors are in that worker's log).
    """
    body: dict[str, Any] = {"status": "ok", "database": "ok", "processors": {}}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        bank = get_bank()
        statuses = bank.processor_status()
        holders = processor_holders(bank)
    except DATABASE_TROUBLE as error:
        logger.warning("Health check: database unreachable: %r", error)
        body |= {"status": "unhealthy", "database": "unreachable", "error": str(error)}
        response = JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
        response["Retry-After"] = "5"
        return response
    body["processors"] = {
        s.name: {
            "leader": s.leader,
            "lag": s.lag,
            "position": s.position,
            "leader_position": s.leader_position,
            "failing": s.failing,
            "failures": s.failures,
            "last_error": s.last_error,
            "last_error_at": s.last_error_at,
            "held_by": holders.get(s.name),
            "processed_here": bank.process_inline or bool(bank.poll_interval),
        }
        for s in statuses
    }
    if any(s.failing for s in statuses):
        body["status"] = "unhealthy"
        return JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
    return JsonResponse(body)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 handler: database trouble raised anywhere still becomes a 503."""
    return trouble_response(request, sys.exception()) or defaults.server_error(request)
