"""Site-wide views: the dashboard, the health check and the 500 handler."""

from __future__ import annotations

import logging
import sqlite3
import sys
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_not_required
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from accounts.application import Accounts
from accounts.views import all_accounts_context, customer_accounts_context
from esbank_site import bank as site_bank
from esbank_site.persistence.environment import SQLITE_ENGINE
from esbank_site.runtime.advisory_locks import processor_holders
from esbank_site.web.event_pages import latest_events_context
from esbank_site.web.middleware import (
    DATABASE_TROUBLE,
    RETRY_AFTER_SECONDS,
    trouble_response,
)
from ledger.views import ledger_context, transactions_context

if TYPE_CHECKING:
    from django.http import HttpResponse

    from accounts.http import HtmxHttpRequest

logger = logging.getLogger(__name__)

# How long /health/ waits for a lock on the events table before it reports
# the table locked (commands then wait for ESBANK_DB_LOCK_TIMEOUT and fail).
LOCK_PROBE_SECONDS = 0.5


@require_GET
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """A customer's accounts; for staff, every account, ledger, log and event."""
    if request.user.is_staff:
        context = (
            all_accounts_context(request)
            | ledger_context()
            | transactions_context(request)
            | latest_events_context()
        )
        return render(request, "staff_dashboard.html", context)
    return render(
        request, "accounts/dashboard.html", customer_accounts_context(request)
    )


@login_not_required
@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Can this web process serve the bank? ``ok``, ``degraded`` or ``down``.

    - ``down`` (503, with ``Retry-After``): the database cannot be reached,
      or the events table is locked, so no command can be recorded.
    - ``degraded`` (200): commands are recorded and pages read, but a
      follower or projection (ledger, transaction log, accounts list) is
      failing, or nothing processes it: this process does not, and no
      ``run_processors`` worker holds it. Those figures fall behind until
      it is fixed; a load balancer should keep sending traffic, since
      another web process would do no better. A lag alone is not degraded:
      under load a follower is always a few events behind.
    - ``ok`` (200).

    Anyone (a load balancer, a monitor) gets ``{"status": ...}`` only.
    Signed-in staff get the details too: the database's state and error,
    and for each processor its positions, lag, holder and last error.
    ``held_by`` names the ``run_processors`` worker holding a follower
    (PostgreSQL only); ``processed_here`` says whether this web process runs
    the followers itself, in which case ``failing`` and ``last_error`` are
    its own (a worker's errors are in that worker's log). ``HEAD`` answers
    with the same status and headers, and no body.
    """
    report = health_report()
    healthy = report["status"] != "down"
    body = report if shows_details(request) else {"status": report["status"]}
    status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
    response = JsonResponse(body, status=status)
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if request.method == "HEAD":
        response.content = b""
    return response


def health_report() -> dict[str, Any]:
    """The status, the database's state, and each processor's figures."""
    body: dict[str, Any] = {"status": "ok", "database": "ok", "processors": {}}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        lock = events_table_lock()
        if lock is not None:
            # Reading the processors' positions could wait on the same lock.
            logger.warning("Health check: the events table is locked: %s", lock)
            return body | {"status": "down", "database": "locked", "error": lock}
        bank = site_bank.get_bank()
        statuses = bank.processor_status()
        holders = processor_holders(bank)
    except DATABASE_TROUBLE as error:
        logger.warning("Health check: database unreachable: %r", error)
        return body | {
            "status": "down",
            "database": "unreachable",
            "error": str(error),
        }
    processed_here = bank.process_inline or bool(bank.poll_interval)
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
            "processed_here": processed_here,
        }
        for s in statuses
    }
    unattended = not processed_here and any(
        holders.get(s.name) is None for s in statuses
    )
    if unattended or any(s.failing for s in statuses):
        body["status"] = "degraded"
    return body


def shows_details(request: HttpRequest) -> bool:
    """Whether the caller is signed-in staff; no if that cannot be told.

    A caller without a session (a load balancer) costs no database read;
    with one, the user is read, and a database that cannot answer means no.
    """
    if request.session.session_key is None:
        return False
    try:
        return bool(request.user.is_active and request.user.is_staff)
    except DATABASE_TROUBLE:
        return False


def events_table_lock() -> str | None:
    """Why a command could not write to the events table now, or None.

    Another session holding a lock that keeps writers out (a SQLite write
    transaction; a PostgreSQL EXCLUSIVE or ACCESS EXCLUSIVE table lock)
    leaves the database reachable but the bank unable to record anything.
    The probe takes, for a moment, the lock a writer needs, and gives up
    after LOCK_PROBE_SECONDS.
    """
    table = f"{Accounts.name.lower()}_events"
    settings = connection.settings_dict
    try:
        if settings["ENGINE"] == SQLITE_ENGINE:
            # Django's own connection would wait its full busy timeout.
            probe = sqlite3.connect(
                settings["NAME"], timeout=LOCK_PROBE_SECONDS, isolation_level=None
            )
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            finally:
                probe.close()
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                timeout = int(LOCK_PROBE_SECONDS * 1000)
                cursor.execute(f"SET LOCAL lock_timeout = {timeout}")
                cursor.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
    except (sqlite3.OperationalError, OperationalError) as error:
        if "lock" not in str(error):
            raise
        return f"{table}: {error}"
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    """500 handler: database trouble raised anywhere still becomes a 503."""
    return trouble_response(request, sys.exception()) or defaults.server_error(request)
