"""Create the event store's tables in Django's database, once.

Every web or worker process then opens the bank with CREATE_TABLE=no:
concurrent CREATE TABLEs from starting processes have crashed PostgreSQL
sessions ("tuple concurrently updated").
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def create_event_store_tables(apps: Any, schema_editor: Any) -> None:
    from esbank_site.bank import create_tables  # noqa: PLC0415

    create_tables(schema_editor.connection.settings_dict)


class Migration(migrations.Migration):
    initial = True
    # Not atomic: on SQLite a migration transaction would hold the write
    # lock that the event store's own connection needs to create tables.
    atomic = False
    dependencies: list[tuple[str, str]] = []
    operations = [
        migrations.RunPython(create_event_store_tables, migrations.RunPython.noop),
    ]
