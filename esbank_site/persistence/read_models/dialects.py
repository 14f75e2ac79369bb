"""What differs between SQLite and PostgreSQL for the accounts list: little.

The accounts list's SQL is written once (``tables.py``), in SQLite's style
(``:name`` parameters), with its tables named through the dialect. A
``Dialect`` says how each database spells a parameter, quotes a table, types
a column and stores a value:

- money is exact in both: NUMERIC on PostgreSQL, whole pence in an INTEGER
  on SQLite (which has no decimal type, and would sort amounts stored as
  text wrongly: "999.99" before "70.00");
- times are ``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite,
  which sorts as time does;
- names sort case-folded in code point order on both (``COLLATE "C"`` on
  PostgreSQL; SQLite's default), so both list accounts in the same order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from accounts.money import CENT

if TYPE_CHECKING:
    from collections.abc import Iterable

_NAMED_PARAMETER = re.compile(r":([a-z_]+)")


@dataclass(frozen=True)
class ColumnTypes:
    """The SQL type of each kind of column the list's tables have."""

    id: str
    text: str
    sort_key: str
    money: str
    total: str
    flag: str
    time: str
    count: str
    small: str
    sealed: str
    rows_table_options: str = ""


class Dialect:
    """One database's spelling of the list's SQL and values (SQLite's here)."""

    name = "sqlite"
    types = ColumnTypes(
        id="TEXT",
        text="TEXT",
        sort_key="TEXT",
        money="INTEGER",  # pence
        total="INTEGER",  # pence
        flag="INTEGER",
        time="TEXT",  # UTC, fixed width: sorts as text
        count="INTEGER",
        small="INTEGER",
        sealed="BLOB",
        rows_table_options=" WITHOUT ROWID",
    )

    def statement(self, text: str) -> str:
        """``text``, written with ``:name`` parameters, as this database takes it."""
        return text

    def table(self, name: str, schema: str = "") -> str:
        """A table's name, as statements refer to it."""
        return name

    def index(self, name: str) -> str:
        """An index's name, in CREATE INDEX and ALTER INDEX."""
        return name

    def encode_id(self, account_id: UUID) -> Any:
        return str(account_id)

    def decode_id(self, value: Any) -> UUID:
        return UUID(value)

    def one_of(self, column: str, parameter: str) -> str:
        """``column`` is one of the ids in ``parameter`` (``encode_ids``)."""
        return f"{column} IN (SELECT value FROM json_each(:{parameter}))"

    def encode_ids(self, account_ids: Iterable[UUID]) -> Any:
        return json.dumps([self.encode_id(i) for i in account_ids])

    def encode_money(self, amount: Decimal) -> Any:
        return int(amount.quantize(CENT) * 100)

    def decode_money(self, value: Any) -> Decimal:
        return (Decimal(value) / 100).quantize(CENT)

    def encode_flag(self, value: bool) -> Any:
        return int(value)

    def encode_time(self, moment: datetime) -> Any:
        """UTC, always with microseconds: equal widths sort as text does."""
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    def decode_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)


class PostgresDialect(Dialect):
    """PostgreSQL: ``%(name)s`` parameters, quoted names, native types."""

    name = "postgres"
    types = ColumnTypes(
        id="uuid",
        text="text",
        sort_key='text COLLATE "C"',
        money="numeric(14, 2)",
        # Unbounded: the total may outgrow any one balance.
        total="numeric",
        flag="boolean",
        time="timestamptz",
        count="bigint",
        small="smallint",
        sealed="bytea",
    )

    def statement(self, text: str) -> str:
        return _NAMED_PARAMETER.sub(r"%(\1)s", text)

    def table(self, name: str, schema: str = "") -> str:
        quoted = _quote(name)
        return f"{_quote(schema)}.{quoted}" if schema else quoted

    def index(self, name: str) -> str:
        return _quote(name)

    def encode_id(self, account_id: UUID) -> Any:
        return account_id

    def decode_id(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(value)

    def one_of(self, column: str, parameter: str) -> str:
        return f"{column} = ANY(:{parameter})"

    def encode_ids(self, account_ids: Iterable[UUID]) -> Any:
        return list(account_ids)

    def encode_money(self, amount: Decimal) -> Any:
        return amount

    def decode_money(self, value: Any) -> Decimal:
        return Decimal(value).quantize(CENT)

    def encode_flag(self, value: bool) -> Any:
        return value

    def encode_time(self, moment: datetime) -> Any:
        return moment

    def decode_time(self, value: Any) -> datetime:
        moment: datetime = value
        return moment.astimezone(UTC)


def _quote(identifier: str) -> str:
    """A PostgreSQL identifier, quoted (the list's names are ours, never input)."""
    return '"' + identifier.replace('"', '""') + '"'


SQLITE = Dialect()
POSTGRES = PostgresDialect()
