"""Which lines of an account's statement to show: dates, kind, reference text.

A ``StatementFilter`` only chooses lines; it never changes them. Each line
keeps the balance after its movement on the whole account, so a filtered
statement shows the account's true balance beside every line it keeps, not
a sum of the lines it shows.

Kinds have stable lower-case codes, used in URLs and in the CSV download:
a line's label as the statement shows it (``accounts/statements.py``),
in lower case with underscores; every reversal's line, whichever movement
it undoes, is of kind ``reversal``. ``KINDS`` lists those a filter may ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime

# What a reversal's line is called, before the leg it undoes: "Reversal of
# deposit", "Reversal of transfer out" and so on are all of kind ``reversal``.
REVERSAL_LABEL = "Reversal"

# Code: the label a statement line of that kind carries (StatementLine.kind).
KINDS = {
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "transfer_in": "Transfer in",
    "transfer_out": "Transfer out",
    "reversal": REVERSAL_LABEL,
}


class FilteredLine(Protocol):
    """What a filter reads of a statement line."""

    @property
    def timestamp(self) -> datetime: ...

    @property
    def kind(self) -> str: ...

    @property
    def description(self) -> str: ...


def kind_code(line: FilteredLine) -> str:
    """The line's kind as its stable code, such as ``transfer_out``.

    A reversal's, whichever leg it undoes, is ``reversal``.
    """
    if line.kind.startswith(REVERSAL_LABEL):
        return "reversal"
    return line.kind.lower().replace(" ", "_")


@dataclass(frozen=True)
class StatementFilter:
    """Lines from ``start`` (inclusive) to ``end`` (exclusive), of one kind, with text.

    Each part left empty (None, "") lets every line through. ``text`` is
    looked for in the line's reference, ignoring case.
    """

    start: datetime | None = None
    end: datetime | None = None
    kind: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind and self.kind not in KINDS:
            msg = f"Unknown kind of movement: {self.kind!r}."
            raise ValueError(msg)

    @property
    def is_everything(self) -> bool:
        """Whether every line passes."""
        return self == EVERY_LINE

    def matches(self, line: FilteredLine) -> bool:
        """Whether ``line`` is one of those asked for."""
        if self.is_before_start(line) or self.is_past_end(line):
            return False
        if self.kind and kind_code(line) != self.kind:
            return False
        return self.text.casefold() in line.description.casefold()

    def is_before_start(self, line: FilteredLine) -> bool:
        """Whether ``line`` was recorded before the first moment asked for."""
        return self.start is not None and line.timestamp < self.start

    def is_past_end(self, line: FilteredLine) -> bool:
        """Whether ``line`` was recorded at or after the end asked for."""
        return self.end is not None and line.timestamp >= self.end


EVERY_LINE = StatementFilter()
