"""The accounts list's read model, in SQL, for SQLite and for PostgreSQL.

Each view is a tracking recorder of the library (the pattern its
``ProjectionRunner`` expects) that also owns a table of rows and a one-row
summary of them. The tables are named after the tracking table the factory
gives it, so the projection ``AccountsList`` gets ``accountslist_tracking``,
``accountslist_rows`` and ``accountslist_summary``, and
``rebuild_projection`` can build a shadow set beside them
(``accountslist_rebuild_*``) and swap it in, in one transaction.

Money is exact in both: NUMERIC(14,2) on PostgreSQL, whole pence in an
INTEGER on SQLite. Searching and sorting by owner and name use case-folded
copies of them, in code point order on both databases, so both list
accounts in the same order. With a CIPHER_KEY the rows are sealed instead
(``sealed.py``). The SQL, the same on both, is in ``tables.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, resolve_topic

from accounts.projections import AccountsListProjection, AccountsListView
from esbank_site.persistence.environment import CIPHER_TOPIC
from esbank_site.persistence.postgres_recorders import uses_postgres
from esbank_site.persistence.read_models.postgres import PostgresAccountsListView
from esbank_site.persistence.read_models.sqlite import SQLiteAccountsListView
from esbank_site.persistence.read_models.tables import AccountsListTables

if TYPE_CHECKING:
    from collections.abc import Mapping

    from eventsourcing.cipher import Cipher

__all__ = [
    "AccountsListTables",
    "PostgresAccountsListView",
    "SQLiteAccountsListView",
    "accounts_list_view_class",
    "construct_accounts_list",
]


def construct_accounts_list(
    env: Mapping[str, str],
) -> tuple[InfrastructureFactory[AccountsListView], AccountsListProjection]:
    """The accounts list projection and its view's factory, as ``ProjectionRunner``
    builds them.

    The factory's environment is named after the projection, so its tables
    are too (``accountslist_tracking``, ``accountslist_rows``), and so are
    settings meant for it alone (``ACCOUNTSLIST_POSTGRES_POOL_SIZE``). It
    creates the tables only when ``CREATE_TABLE`` says so. Close the factory
    to close the view's connections.
    """
    # Its pool is sized like every application's (POSTGRES_POOL_SIZE and
    # POSTGRES_MAX_OVERFLOW, persistence/connection_budget.py): a page of a
    # web process, or its processor's thread, uses one connection at a time.
    name = AccountsListProjection.name
    factory = InfrastructureFactory[AccountsListView].construct(
        Environment(name, dict(env))
    )
    view = factory.tracking_recorder(accounts_list_view_class(env))
    return factory, AccountsListProjection(view=view)


def accounts_list_view_class(env: Mapping[str, str]) -> type[AccountsListView]:
    """The view class for the database and cipher ``env`` names.

    With a cipher, a subclass that seals its rows with it: the library's
    ``ProjectionRunner`` constructs views from a class alone, so the class
    is what carries the cipher.
    """
    view_class: type[AccountsListTables] = (
        PostgresAccountsListView if uses_postgres(env) else SQLiteAccountsListView
    )
    cipher = _cipher(env)
    if cipher is None:
        return view_class
    sealed = type(f"Sealed{view_class.__name__}", (view_class,), {"cipher": cipher})
    return cast("type[AccountsListView]", sealed)


def _cipher(env: Mapping[str, str]) -> Cipher | None:
    """The events' cipher, read from CIPHER_TOPIC and CIPHER_KEY."""
    environment = Environment(env=dict(env))
    topic = environment.get("CIPHER_TOPIC") or (
        CIPHER_TOPIC if environment.get("CIPHER_KEY") else ""
    )
    if not topic:
        return None
    cipher_class: type[Cipher] = resolve_topic(topic)
    return cipher_class(environment)
