"""Site-wide views: the health check."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from esbank_site.bank import get_bank


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Database reachable? Each processor's lag and last error. 503 if unhealthy."""
    bank = get_bank()
    statuses = bank.processor_status()
    healthy = not any(s.failing for s in statuses)
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": "ok",
        "processors": {
            s.name: {
                "leader": s.leader,
                "lag": s.lag,
                "position": s.position,
                "leader_position": s.leader_position,
                "failing": s.failing,
                "last_error": s.last_error,
            }
            for s in statuses
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)
