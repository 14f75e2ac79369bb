"""Create the projections' tables (the accounts list), once.

Like 0001, through the library's own classes (the view creates its tables
when ``CREATE_TABLE`` says so), and never from a starting process. An
existing bank gets empty tables here; the first process to run the
projection then fills them from the Accounts log, from position 0.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def create_projection_tables(apps: Any, schema_editor: Any) -> None:
    from esbank_site.bank import create_projection_tables  # noqa: PLC0415

    create_projection_tables(schema_editor.connection.settings_dict)


class Migration(migrations.Migration):
    # Not atomic, as 0001: the view's own connection needs the write lock.
    atomic = False
    dependencies = [("esbank_site", "0001_event_store_tables")]
    operations = [
        migrations.RunPython(create_projection_tables, migrations.RunPython.noop),
    ]
