"""Staff panels: the ledger and the bank-wide transaction log."""

from __future__ import annotations

from django.urls import path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("staff/ledger/", views.panel_hx, name="panel_hx"),
    path("staff/transactions/", views.transactions, name="transactions"),
]
