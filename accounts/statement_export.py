"""An account's statement as CSV, the file a customer downloads to keep.

One row per movement, oldest first: ``date`` (ISO 8601 with the time, in
the site's time zone), ``kind`` (the stable code the filter uses, such as
``transfer_out``; ``reversal`` for a reversal of any movement),
``reference`` (a reversal's reason), ``counterparty`` (the other account of
a transfer, or of a reversed one), ``amount`` (signed, two decimals, no
currency symbol or thousands separator) and ``balance`` (the account's
balance after it).

A reference or an account name is text someone typed: one that starts
like a spreadsheet formula gets a leading apostrophe (``neutralise``), so a
spreadsheet shows it instead of running it. Amounts are numbers written by
the bank and stay as they are.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from accounts.account_numbers import grouped
from accounts.errors import AccountNotFoundError
from accounts.statement_filters import kind_code

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import tzinfo
    from uuid import UUID

    from accounts.statements import StatementLine
    from accounts.summaries import AccountSummary

CSV_HEADER = ("date", "kind", "reference", "counterparty", "amount", "balance")
# What a spreadsheet may take for the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a cell no spreadsheet runs as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def counterparty_label(account: AccountSummary) -> str:
    """How the download names the other account of a transfer: name and number."""
    if not account.number:
        return account.name
    return f"{account.name} ({grouped(account.number)})"


class Counterparties:
    """The other accounts of a download's transfers, each looked up once.

    ``find`` reads an account (``Accounts.get_account``); a statement of a
    thousand transfers between two accounts reads the other one once.
    """

    def __init__(self, find: Callable[[UUID], AccountSummary]) -> None:
        self._find = find
        self._labels: dict[UUID, str] = {}

    def __call__(self, account_id: UUID | None) -> str:
        """The label of ``account_id``; empty for a movement with no other account."""
        if account_id is None:
            return ""
        if account_id not in self._labels:
            try:
                label = counterparty_label(self._find(account_id))
            except AccountNotFoundError:
                label = str(account_id)
            self._labels[account_id] = label
        return self._labels[account_id]


def csv_row(line: StatementLine, counterparty: str, zone: tzinfo) -> list[str]:
    """The cells of ``line``'s row, its moment given in ``zone``."""
    return [
        line.timestamp.astimezone(zone).isoformat(timespec="seconds"),
        kind_code(line),
        neutralise(line.description),
        neutralise(counterparty),
        f"{line.amount:.2f}",
        f"{line.balance:.2f}",
    ]


class _Echo:
    """A file that hands back what is written to it, for ``csv.writer``."""

    def write(self, text: str) -> str:
        return text


def csv_text(
    lines: Iterable[StatementLine],
    counterparties: Callable[[UUID | None], str],
    zone: tzinfo,
) -> Iterator[str]:
    """The CSV file a row at a time: the header, then one row per line.

    Nothing is kept between rows, so it can be streamed as ``lines`` are read.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for line in lines:
        yield writer.writerow(csv_row(line, counterparties(line.counterparty_id), zone))
