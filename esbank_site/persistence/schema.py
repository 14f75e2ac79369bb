"""Whether ``manage.py migrate`` has made the bank's tables yet.

The event store's tables are created by migration ``0001``, the
projections' by ``0002``, never by a starting process: concurrent CREATE
TABLEs from starting processes crashed PostgreSQL sessions ("tuple
concurrently updated"). And a process must not start before them: the
PostgreSQL module looks up its composite types once, when an application is
built, so a process started before ``migrate`` would fail every insert until
it was restarted.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The last migration that creates tables every process uses.
TABLES_MIGRATION = ("esbank_site", "0002_projection_tables")


def check_tables_are_migrated(connection: Any) -> None:
    """Refuse to build the bank before ``manage.py migrate`` made its tables."""
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415

    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes("esbank_site")
    if executor.migration_plan(targets):
        msg = "The bank's tables are not there yet: run `manage.py migrate` first."
        raise ImproperlyConfigured(msg)
