"""The conventional bank's commands, beside the site's."""

from __future__ import annotations

from django.urls import path

from bench.conventional import views

app_name = "conventional"

urlpatterns = [
    path("<uuid:account_id>/deposit/", views.deposit, name="deposit"),
    path("<uuid:account_id>/transfer/", views.transfer, name="transfer"),
]
