"""The site's routes, and stand-ins for wrong feed URLs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.urls import path

from esbank_site.urls import urlpatterns as site_urlpatterns


@login_not_required
def not_a_feed(request: HttpRequest, section_id: str) -> JsonResponse:
    """JSON, but not a section of a notification log."""
    return JsonResponse({"status": "ok"})


@login_not_required
def members_only(request: HttpRequest, section_id: str) -> HttpResponseRedirect:
    """Sends visitors to the login page, as the site does with its pages."""
    return redirect_to_login(request.get_full_path(), "/accounts/login/")


urlpatterns = [
    *site_urlpatterns,
    path("not-a-feed/<str:section_id>/", not_a_feed),
    path("members-only/<str:section_id>/", members_only),
]
