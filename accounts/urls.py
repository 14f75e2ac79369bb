"""Customer pages and commands; the staff's event timeline, operations and reversals."""

from __future__ import annotations

from django.urls import path

from accounts import reversal_views, staff_views, views

app_name = "accounts"

urlpatterns = [
    path("accounts/open/", views.open_account, name="open_account"),
    path("accounts/panel/", views.account_list_hx, name="account_list_hx"),
    path("accounts/payee/", views.payee, name="payee"),
    path("accounts/<uuid:account_id>/", views.account_detail, name="account_detail"),
    path(
        "accounts/<uuid:account_id>/summary/",
        views.account_summary_hx,
        name="account_summary_hx",
    ),
    path(
        "accounts/<uuid:account_id>/statement.csv",
        views.statement_csv,
        name="statement_csv",
    ),
    path("accounts/<uuid:account_id>/deposit/", views.deposit, name="deposit"),
    path("accounts/<uuid:account_id>/withdraw/", views.withdraw, name="withdraw"),
    path("accounts/<uuid:account_id>/transfer/", views.transfer, name="transfer"),
    path(
        "accounts/<uuid:account_id>/close/", views.close_account, name="close_account"
    ),
    path(
        "staff/accounts/<uuid:account_id>/events/",
        views.account_events,
        name="account_events",
    ),
    path(
        "staff/accounts/<uuid:account_id>/snapshot/",
        views.take_snapshot,
        name="take_snapshot",
    ),
    path(
        "staff/accounts/<uuid:account_id>/overdraft/",
        staff_views.set_overdraft_limit,
        name="set_overdraft_limit",
    ),
    path(
        "staff/accounts/<uuid:account_id>/freeze/",
        staff_views.freeze_account,
        name="freeze_account",
    ),
    path(
        "staff/accounts/<uuid:account_id>/unfreeze/",
        staff_views.unfreeze_account,
        name="unfreeze_account",
    ),
    path(
        "staff/transactions/<uuid:transaction_id>/reverse/",
        reversal_views.reverse_transaction,
        name="reverse_transaction",
    ),
    path("staff/reversals/", reversal_views.reversals, name="reversals"),
    path(
        "staff/reversals/<uuid:request_id>/approve/",
        reversal_views.approve_reversal,
        name="approve_reversal",
    ),
    path(
        "staff/reversals/<uuid:request_id>/reject/",
        reversal_views.reject_reversal,
        name="reject_reversal",
    ),
]
