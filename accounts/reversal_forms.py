"""The staff's forms for reversals: reverse, approve, reject, and the list's pages.

Reversing and approving move money, so each carries the money forms'
one-time idempotency token (``CommandForm``): the same form posted twice
reverses once. Reasons are parsed by the domain's ``clean_reason``
(``ReasonField``), as the other staff operations' are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms

from accounts.errors import InsufficientFundsError, InvalidReasonError
from accounts.forms import BankForm, CommandForm
from accounts.money import format_money
from accounts.reversal import FOUR_EYES_ABOVE
from accounts.staff_forms import ReasonField

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.errors import BankError

# A reversal's own words for "not enough money": what would allow it anyway.
BELOW_LIMIT = (
    "Not enough money in the account: reversing this would take it below its "
    "overdraft limit. Tick “freeze” to take it back anyway and freeze the account."
)
BELOW_LIMIT_NOW = (
    "Not enough money in the account now: carrying out this reversal would take "
    "it below its overdraft limit."
)
APPROVAL_NOTE = (
    f"Up to {format_money(FOUR_EYES_ABOVE)} it is carried out at once; more waits "
    "for a second member of staff to approve it."
)


class ReverseForm(CommandForm):
    """Reverse one transaction: why, whether to freeze, and where it is."""

    reason = ReasonField()
    freeze = forms.BooleanField(
        required=False,
        label="Also freeze the account the money is taken back from",
        help_text="This lets the reversal take it below its overdraft limit.",
        widget=forms.CheckboxInput(attrs={"value": "1"}),
    )
    # An account the transaction moved money in; without it, it is looked up.
    account = forms.UUIDField(required=False, widget=forms.HiddenInput)

    field_order = ["reason", "freeze", "account", "token"]
    approval_note = APPROVAL_NOTE
    refusal_fields: ClassVar = {
        InvalidReasonError: "reason",
        InsufficientFundsError: "freeze",
    }

    def refuse(self, error: BankError) -> None:
        if isinstance(error, InsufficientFundsError):
            self.add_error("freeze", BELOW_LIMIT)
        else:
            super().refuse(error)


class ApproveForm(CommandForm):
    """Approve a waiting reversal: it is carried out at once."""

    def refuse(self, error: BankError) -> None:
        message = (
            BELOW_LIMIT_NOW if isinstance(error, InsufficientFundsError) else str(error)
        )
        self.add_error(None, message)


class RejectForm(BankForm):
    """Reject a waiting reversal, and why: nothing is reversed."""

    reason = ReasonField()

    refusal_fields: ClassVar = {InvalidReasonError: "reason"}


class ReversalPageForm(forms.Form):
    """Which page of the reversals to show (the newest if none).

    ``before`` is a place in the log of reversals: the page lists those
    asked for before it. The first reversal is at place 1.
    """

    before = forms.IntegerField(
        min_value=2,
        required=False,
        error_messages={
            "invalid": "A page of reversals starts before a place, such as 51.",
            "min_value": "No reversal comes before the first.",
        },
    )


def auto_id(action: str, object_id: UUID) -> str:
    """Field ids unique on a page that shows one such form per transaction."""
    return f"id_{action}_{object_id.hex}_%s"


def reverse_form(transaction_id: UUID, *args: Any, **kwargs: Any) -> ReverseForm:
    return ReverseForm(*args, auto_id=auto_id("reverse", transaction_id), **kwargs)


def approve_form(reversal_id: UUID, data: Any = None) -> ApproveForm:
    return ApproveForm(data, auto_id=auto_id("approve", reversal_id))


def reject_form(reversal_id: UUID, data: Any = None) -> RejectForm:
    return RejectForm(data, auto_id=auto_id("reject", reversal_id))
