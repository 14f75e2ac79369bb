"""The staff's forms on an account page: overdraft limit, freeze, unfreeze.

Each asks for a reason, which the event records. Limits are parsed by the
bank's own ``to_overdraft_limit`` and reasons by the domain's
``clean_reason``, so the form says what the command would: both fields'
problems at once, before anything is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from accounts.domain import MAX_REASON_LENGTH, clean_reason
from accounts.errors import (
    FreezeStateError,
    InvalidAmountError,
    InvalidReasonError,
    OverdraftLimitError,
)
from accounts.forms import AmountField, BankForm
from accounts.money import to_overdraft_limit

if TYPE_CHECKING:
    from accounts.summaries import AccountSummary


class ReasonField(forms.CharField):
    """Why staff made the change: 1 to 200 readable characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_REASON_LENGTH)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Why"}),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        try:
            return clean_reason(super().to_python(value) or "")
        except InvalidReasonError as error:
            raise ValidationError(str(error), code="invalid") from None


class LimitField(AmountField):
    """An overdraft limit, £0.00 to £10,000.00, parsed by the bank's own rules."""

    parse = staticmethod(to_overdraft_limit)


class OverdraftLimitForm(BankForm):
    """Set how far below zero the account may go, and why."""

    limit = LimitField(label="Overdraft limit (£)")
    reason = ReasonField()

    refusal_fields: ClassVar = {
        InvalidAmountError: "limit",
        OverdraftLimitError: "limit",
        InvalidReasonError: "reason",
    }


class ReasonForm(BankForm):
    """Freeze or unfreeze the account, and why."""

    reason = ReasonField()

    refusal_fields: ClassVar = {
        InvalidReasonError: "reason",
        FreezeStateError: "reason",
    }


@dataclass(frozen=True)
class StaffAction:
    """One of the staff's forms: its URL name (and element id), words and form."""

    name: str
    title: str
    button: str
    form_class: type[BankForm]

    @property
    def auto_id(self) -> str:
        return f"id_{self.name}_%s"

    def form(self, account: AccountSummary) -> BankForm:
        """A fresh form; the limit starts at the account's current one."""
        initial = {"limit": account.overdraft_limit}
        return self.form_class(initial=initial, auto_id=self.auto_id)


SET_OVERDRAFT_LIMIT = StaffAction(
    "set_overdraft_limit", "Overdraft limit", "Set limit", OverdraftLimitForm
)
FREEZE = StaffAction("freeze_account", "Freeze", "Freeze account", ReasonForm)
UNFREEZE = StaffAction("unfreeze_account", "Unfreeze", "Unfreeze account", ReasonForm)


def staff_panels(
    account: AccountSummary, bound_forms: dict[str, BankForm] | None = None
) -> list[dict[str, Any]]:
    """The staff's forms for ``account``, ``bound_forms`` in place of fresh ones.

    Freeze or unfreeze, whichever applies now; a form just refused is shown
    whichever it is, to say why. A closed account has none to offer.
    """
    bound_forms = bound_forms or {}
    toggle = UNFREEZE if account.frozen else FREEZE
    if UNFREEZE.name in bound_forms or FREEZE.name in bound_forms:
        toggle = UNFREEZE if UNFREEZE.name in bound_forms else FREEZE
    actions = [SET_OVERDRAFT_LIMIT, toggle]
    if account.is_closed:
        actions = [action for action in actions if action.name in bound_forms]
    return [
        {"action": action, "form": bound_forms.get(action.name) or action.form(account)}
        for action in actions
    ]
