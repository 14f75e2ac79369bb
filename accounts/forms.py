"""Forms that parse what people type; the bank's own rules decide the rest.

Amounts are parsed by ``accounts.money.to_amount``, the same function every
command uses, so the rules for a valid sum of money live in one place. When
the bank refuses a command, ``refusals()`` puts its message next to the
field it is about.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID, uuid4

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.account_numbers import looks_like_account_number, parse_account_number
from accounts.domain import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from accounts.errors import (
    AccountClosedError,
    AccountNotFoundError,
    BankError,
    ConflictError,
    InsufficientFundsError,
    InvalidAccountNameError,
    InvalidAccountNumberError,
    InvalidAmountError,
    InvalidDescriptionError,
    SameAccountTransferError,
)
from accounts.money import to_amount

if TYPE_CHECKING:
    from collections.abc import Iterator
    from decimal import Decimal

    from django.contrib.auth.models import User

NO_SUCH_ACCOUNT = "There is no account with that number."
NOT_A_NUMBER = "Enter the 8-digit account number, like 1234 5678."


class PayeeField(forms.CharField):
    """An account typed as its 8-digit number (spaces allowed) or its full id.

    Cleans to the number (a str) or the id (a UUID); a number whose check
    digit does not match is refused here, before anything is looked up.
    """

    def to_python(self, value: Any) -> str | UUID | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        if looks_like_account_number(text):
            try:
                return parse_account_number(text)
            except InvalidAccountNumberError as error:
                raise ValidationError(str(error), code="invalid") from None
        try:
            return UUID(text)
        except ValueError:
            raise ValidationError(NOT_A_NUMBER, code="invalid") from None


def reference_field(placeholder: str) -> forms.CharField:
    """An optional reference shown on statements (deposits and transfers)."""
    return forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION_LENGTH,
        label="Reference (optional)",
        widget=forms.TextInput(
            attrs={"placeholder": placeholder, "autocomplete": "off"}
        ),
    )


class AmountField(forms.CharField):
    """A sum of money, parsed by the bank's own ``to_amount``."""

    widget = forms.TextInput(
        attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}
    )
    # The bank's rule for the sum: subclasses name another (an overdraft limit).
    parse = staticmethod(to_amount)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return self.parse(text)
        except InvalidAmountError as error:
            raise ValidationError(str(error), code="invalid") from None


class BankForm(forms.Form):
    """A form for one bank command, able to show the bank's refusals."""

    # Which field a refusal is shown next to; any other goes above the form.
    refusal_fields: ClassVar[dict[type[BankError], str]] = {}

    refused_by: BankError | None = None

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Turn a command the bank refuses into an error on this form."""
        try:
            yield
        except BankError as error:
            self.refused_by = error
            self.refuse(error)

    def refuse(self, error: BankError) -> None:
        """Show ``error`` next to the field it is about, or above the form."""
        field = next(
            (f for cls, f in self.refusal_fields.items() if isinstance(error, cls)),
            None,
        )
        self.add_error(field, str(error))

    @property
    def conflicted(self) -> bool:
        """Whether the command lost every retry to concurrent requests."""
        return isinstance(self.refused_by, ConflictError)


class OpenAccountForm(BankForm):
    """Open an account: it only needs a name."""

    name = forms.CharField(
        max_length=MAX_NAME_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Holiday savings"}),
    )

    refusal_fields: ClassVar = {InvalidAccountNameError: "name"}


class CommandForm(BankForm):
    """A form that moves money, carrying a one-time idempotency token.

    Each rendered form gets a fresh token; the same token submitted twice
    (a double click, a resubmitted page) moves the money once.
    """

    token = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", str(uuid4()))

    def idempotency_key(self, user: User) -> str | None:
        """The token, scoped to ``user`` so nobody can replay another's form."""
        token = self.cleaned_data.get("token")
        return f"{user.pk}:{token}" if token else None


class AmountForm(CommandForm):
    """Pay in or take out an amount."""

    amount = AmountField()

    refusal_fields: ClassVar = {
        InvalidAmountError: "amount",
        InsufficientFundsError: "amount",
    }


class DepositForm(AmountForm):
    """Pay in an amount, with an optional reference for the statement."""

    description = reference_field("e.g. Salary")

    refusal_fields: ClassVar = {
        InvalidAmountError: "amount",
        InsufficientFundsError: "amount",
        InvalidDescriptionError: "description",
    }


class TransferForm(AmountForm):
    """Send an amount to any account in the bank, by its account number."""

    to_account = PayeeField(
        label="To account number",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "e.g. 1234 5678",
            }
        ),
    )
    description = reference_field("e.g. Rent for May")

    field_order = ["to_account", "amount", "description", "token"]
    refusal_fields: ClassVar = {
        InvalidAmountError: "amount",
        InsufficientFundsError: "amount",
        SameAccountTransferError: "to_account",
        InvalidAccountNumberError: "to_account",
        InvalidDescriptionError: "description",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The datalist of the customer's own accounts that _field.html adds.
        widget = self.fields["to_account"].widget
        field_id = self["to_account"].auto_id
        widget.attrs["list"] = f"{field_id}_options"
        # Confirmation of payee: as a number is typed, say whose it is
        # (accounts.views.payee), in the live region under the field.
        widget.attrs.update(
            {
                "hx-get": reverse("accounts:payee"),
                "hx-trigger": "input changed delay:300ms, change",
                "hx-target": f"#{field_id}_payee",
                "hx-swap": "innerHTML",
                "aria-describedby": f"{field_id}_payee",
            }
        )

    def refuse(self, error: BankError) -> None:
        """Refusals about the recipient are shown next to its number."""
        about_recipient = getattr(error, "account_id", None) == (
            self.cleaned_data.get("to_account")
        )
        if isinstance(error, AccountNotFoundError) and about_recipient:
            by_number = isinstance(error.account_id, str)
            self.add_error("to_account", str(error) if by_number else NO_SUCH_ACCOUNT)
        elif isinstance(error, AccountClosedError) and about_recipient:
            self.add_error("to_account", "That account is closed.")
        else:
            super().refuse(error)


class CloseAccountForm(BankForm):
    """Close an account; it has no fields, only the bank's answer."""


class VersionForm(forms.Form):
    """Which version of an account the staff timeline shows (latest if none).

    Either a version number, or a moment (``at``): the account as it was
    then, i.e. at the last event recorded at or before it.
    """

    version = forms.IntegerField(
        min_value=1,
        required=False,
        error_messages={"invalid": "A version is a whole number, such as 3."},
    )
    at = forms.DateTimeField(
        required=False,
        label="As it was at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        error_messages={"invalid": "Enter a date and time, such as 2026-11-29 14:30."},
    )


class StatementPageForm(forms.Form):
    """Which page of an account's statement to show (the latest if none).

    ``before`` is a version: the page lists the movements recorded before
    it. Version 1 opens the account, so nothing lies before 2.
    """

    before = forms.IntegerField(
        min_value=2,
        required=False,
        error_messages={
            "invalid": "A statement page starts before a version, such as 42.",
            "min_value": "No movement comes before the account was opened.",
        },
    )
