"""The statement's filters as people give them: a GET form, and its query string.

``from`` and ``to`` are days (YYYY-MM-DD), both included, in the site's
time zone; ``kind`` one of the codes in ``accounts.statement_filters.KINDS``
or empty for every kind; ``q`` text to look for in the references. The
same names are the download's query parameters, so a filtered page and
its CSV ask for the same lines.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms

from accounts.domain import MAX_DESCRIPTION_LENGTH
from accounts.statement_filters import StatementFilter

if TYPE_CHECKING:
    from datetime import tzinfo

# Field names, in the order the query string and the form give them.
FILTER_FIELDS = ("from", "to", "kind", "q")
DATE_FORMAT = "%Y-%m-%d"
BAD_DATE = "Enter a date as YYYY-MM-DD, such as 2026-03-01."
# The codes of accounts.statement_filters.KINDS, as the form lists them.
KIND_CHOICES = [
    ("", "All kinds"),
    ("deposit", "Deposits"),
    ("withdrawal", "Withdrawals"),
    ("transfer_in", "Transfers in"),
    ("transfer_out", "Transfers out"),
    ("reversal", "Reversals"),
]


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        label=label,
        input_formats=[DATE_FORMAT],
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
        error_messages={"invalid": BAD_DATE},
    )


class StatementFilterForm(forms.Form):
    """Which lines of the statement to show; every one if nothing is given."""

    # "from" is a keyword in Python: its field is added below the class.
    to = _day_field("To")
    kind = forms.ChoiceField(
        required=False,
        choices=KIND_CHOICES,
        error_messages={
            "invalid_choice": (
                "Choose a kind from the list: deposit, withdrawal, transfer_in, "
                "transfer_out or reversal."
            )
        },
    )
    q = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION_LENGTH,
        label="Reference contains",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        error_messages={
            "max_length": (
                f"A reference is at most {MAX_DESCRIPTION_LENGTH} characters: "
                "search for part of it."
            )
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_statement_%s")
        super().__init__(*args, **kwargs)
        self.order_fields(FILTER_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return cleaned

    def statement_filter(self, zone: tzinfo) -> StatementFilter:
        """The filter asked for, its days turned into moments in ``zone``."""
        start: date | None = self.cleaned_data["from"]
        end: date | None = self.cleaned_data["to"]
        return StatementFilter(
            start=_midnight(start, zone) if start else None,
            # Up to the end of that day: the next midnight, if there is one.
            end=_midnight(end + timedelta(days=1), zone)
            if end and end < date.max
            else None,
            kind=self.cleaned_data["kind"],
            text=self.cleaned_data["q"],
        )

    def params(self) -> dict[str, str]:
        """The query string's filters, as given and valid; empty ones left out."""
        given = {
            "from": self.cleaned_data["from"],
            "to": self.cleaned_data["to"],
            "kind": self.cleaned_data["kind"],
            "q": self.cleaned_data["q"],
        }
        return {
            name: value.isoformat() if isinstance(value, date) else value
            for name, value in given.items()
            if value
        }


StatementFilterForm.base_fields["from"] = _day_field("From")


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)
