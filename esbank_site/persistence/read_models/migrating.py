"""Changing the accounts list's tables from a migration.

A migration runs on Django's connection settings; the list's tables are
reached through the library's own factory and view, built here for the
database being migrated (with the bank's key, so sealed rows can be read).
Migrations 0003 to 0005 each hand in what to do with the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from esbank_site.persistence.environment import eventsourcing_env
from esbank_site.persistence.read_models import construct_accounts_list

if TYPE_CHECKING:
    from collections.abc import Callable

    from esbank_site.persistence.read_models.tables import AccountsListTables


def change_accounts_list(
    schema_editor: Any, change: Callable[[AccountsListTables], None]
) -> None:
    """Call ``change`` with the accounts list's view of the migrated database."""
    env = eventsourcing_env(
        schema_editor.connection.settings_dict,
        create_tables=True,
        cipher_key=settings.ESBANK_CIPHER_KEY,
    )
    factory, projection = construct_accounts_list(env)
    try:
        change(projection.view)  # type: ignore[arg-type]
    finally:
        factory.close()
